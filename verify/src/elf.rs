//! An ELF file as the loader would map it: its sections (or segments), the values its
//! dynamic relocations give to the rseq pointers, its symbols, and its rseq tables.

use crate::check::{Image, Tables};
use crate::model::{Arch, Finding, Region, Rule};
use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader, ProgramHeader, Rel, Rela, SectionHeader, Sym};
use object::{Endian, Endianness};
use std::collections::HashMap;
use std::fmt;

/// Why a file cannot be checked at all.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A loadable piece of the file: `[start, start + mem_size)` in memory, of which the first
/// `file_size` bytes come from the file at `offset` and the rest are zero (`.bss`).
#[derive(Debug, Clone, Copy)]
struct Chunk {
    start: u64,
    mem_size: u64,
    offset: u64,
    file_size: u64,
}

/// What the loader writes into a pointer-sized field.
#[derive(Debug, Clone)]
enum Fixup {
    /// A value known from the file (a RELA relocation, relative to load address 0).
    Value(u64),
    /// The field's own contents plus this value plus the load address (REL and RELR
    /// relocations, whose addend is the field).
    InPlacePlus(u64),
    /// A relocation against a symbol this file does not define.
    Unresolved,
}

/// A function symbol: where it starts, how long it is, its demangled name.
#[derive(Debug, Clone)]
struct Symbol {
    address: u64,
    size: u64,
    name: String,
}

/// An x86_64 or aarch64 ELF file (executable, PIE or shared object), read whole.
#[derive(Debug)]
pub struct ElfImage {
    data: Vec<u8>,
    arch: Arch,
    big_endian: bool,
    kind: &'static str,
    chunks: Vec<Chunk>,
    regions: Vec<Region>,
    fixups: HashMap<u64, Fixup>,
    symbols: Vec<Symbol>,
    /// Address and size of each named allocated section, for the rseq tables.
    sections: HashMap<String, (u64, u64)>,
}

impl ElfImage {
    /// Reads and parses the file at `path`.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let data = std::fs::read(path)
            .map_err(|e| Error(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(data)
    }

    /// Parses an ELF file held in memory.
    pub fn parse(data: Vec<u8>) -> Result<Self, Error> {
        if data.get(..4) != Some(b"\x7fELF") {
            return Err(Error("not an ELF file".into()));
        }
        if data.get(4) == Some(&elf::ELFCLASS32) {
            return Err(Error(
                "32-bit ELF file: only x86_64, aarch64, riscv64, s390x and powerpc64 (64-bit) files are supported"
                    .into(),
            ));
        }
        let file = ElfFile64::<Endianness>::parse(&data[..])
            .map_err(|e| Error(format!("malformed ELF file: {e}")))?;
        let endian = file.endian();
        let header = file.elf_header();
        let arch = match header.e_machine(endian) {
            elf::EM_X86_64 => Arch::X86_64,
            elf::EM_AARCH64 => Arch::Aarch64,
            elf::EM_RISCV => Arch::Riscv64,
            elf::EM_S390 => Arch::S390x,
            elf::EM_PPC64 if endian.is_little_endian() => Arch::Powerpc64,
            other => {
                return Err(Error(format!(
                "ELF machine {other} has no rseq signature here: supported are x86_64, aarch64, riscv64, s390x and powerpc64 (little-endian)"
            )))
            }
        };
        let kind = match header.e_type(endian) {
            elf::ET_EXEC => "executable",
            elf::ET_DYN if is_pie(&file) => "PIE executable",
            elf::ET_DYN => "shared object",
            elf::ET_REL => {
                return Err(Error(
                    "relocatable object (.o): link it first, its addresses are not final".into(),
                ))
            }
            other => return Err(Error(format!("ELF file type {other} is not loadable"))),
        };
        let (chunks, regions, sections) = layout(&file);
        let fixups = fixups(&file, arch);
        let symbols = symbols(&file);
        Ok(ElfImage {
            arch,
            big_endian: endian == Endianness::Big,
            kind,
            chunks,
            regions,
            fixups,
            symbols,
            sections,
            data,
        })
    }

    /// "executable", "PIE executable" or "shared object".
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The descriptors of `__rseq_cs_ptr_array`, then those found in `__rseq_cs` that it
    /// does not list (all of them, with a warning, in a file without the array), and the
    /// pairs of `__rseq_exit_point_array`, relocated.
    pub fn tables(&self) -> Tables {
        let mut tables = Tables::default();
        let array = self.sections.get("__rseq_cs_ptr_array").copied();
        if let Some((address, size)) = array {
            if !size.is_multiple_of(8) {
                tables.findings.push(Finding::violation(
                    Rule::Table,
                    format!("__rseq_cs_ptr_array is {size} bytes, not a whole number of pointers"),
                ));
            }
            for entry in (address..address + size / 8 * 8).step_by(8) {
                match self.pointer(entry) {
                    Some(descriptor) => tables.descriptors.push(descriptor),
                    None => tables.findings.push(Finding::violation(
                        Rule::Table,
                        format!("__rseq_cs_ptr_array entry at {entry:#x} has no value in the file"),
                    )),
                }
            }
        }
        if let Some(&(address, size)) = self.sections.get("__rseq_cs") {
            // Hand-written asm linked beside code that fills the array may put a descriptor
            // in __rseq_cs without listing it: the kernel runs it all the same.
            let scanned = self.scan_rseq_cs(address, size, &tables.descriptors);
            if array.is_some() {
                tables.unlisted = scanned.clone();
            } else {
                tables.findings.push(Finding::warning(
                    Rule::Table,
                    "no __rseq_cs_ptr_array: descriptors were found by scanning __rseq_cs, and debuggers that read the pointer array will not see them",
                ));
            }
            tables.descriptors.extend(scanned);
        }
        if let Some(&(address, size)) = self.sections.get("__rseq_exit_point_array") {
            if !size.is_multiple_of(16) {
                tables.findings.push(Finding::violation(
                    Rule::Table,
                    format!("__rseq_exit_point_array is {size} bytes, not (start, exit) pairs of 8-byte pointers"),
                ));
            }
            for entry in (address..address + size / 16 * 16).step_by(16) {
                match (self.pointer(entry), self.pointer(entry + 8)) {
                    (Some(start), Some(exit)) => tables.exit_points.push((start, exit)),
                    _ => tables.findings.push(Finding::violation(
                        Rule::Table,
                        format!(
                            "__rseq_exit_point_array entry at {entry:#x} has no value in the file"
                        ),
                    )),
                }
            }
        }
        tables
    }

    /// The descriptors of `__rseq_cs` (`[address, address + size)`) other than `listed`:
    /// `__rseq_cs` is an array of 32-byte descriptors (each `.balign 32`), with all-zero
    /// padding where an object's part ends early. A slot is skipped where it is empty (zero,
    /// and no relocation fills its pointers), overlaps a listed descriptor (a misaligned one
    /// straddles two slots, neither of which is a descriptor of its own), or runs past the
    /// section's end.
    fn scan_rseq_cs(&self, address: u64, size: u64, listed: &[u64]) -> Vec<u64> {
        let end = address.saturating_add(size);
        let mut found = Vec::new();
        let mut slot = address.next_multiple_of(32);
        while slot.checked_add(32).is_some_and(|slot_end| slot_end <= end) {
            let overlaps = listed.iter().any(|&d| d.abs_diff(slot) < 32);
            let mut bytes = [0u8; 32];
            let filled = self.read(slot, &mut bytes)
                && (bytes != [0; 32]
                    || self.fixups.contains_key(&(slot + 8))
                    || self.fixups.contains_key(&(slot + 24)));
            if filled && !overlaps {
                found.push(slot);
            }
            slot += 32;
        }
        found
    }
}

impl Image for ElfImage {
    fn arch(&self) -> Arch {
        self.arch
    }

    fn big_endian(&self) -> bool {
        self.big_endian
    }

    fn regions(&self) -> &[Region] {
        &self.regions
    }

    fn read(&self, address: u64, buf: &mut [u8]) -> bool {
        let len = buf.len() as u64;
        let Some(chunk) = self
            .chunks
            .iter()
            .find(|c| address >= c.start && address - c.start + len <= c.mem_size)
        else {
            return false;
        };
        let at = address - chunk.start;
        for (i, byte) in buf.iter_mut().enumerate() {
            let at = at + i as u64;
            *byte = if at < chunk.file_size {
                match self.data.get((chunk.offset + at) as usize) {
                    Some(&b) => b,
                    None => return false,
                }
            } else {
                0
            };
        }
        true
    }

    fn pointer(&self, address: u64) -> Option<u64> {
        match self.fixups.get(&address) {
            Some(Fixup::Value(value)) => Some(*value),
            Some(Fixup::Unresolved) => None,
            Some(Fixup::InPlacePlus(value)) => Some(self.u64_at(address)?.wrapping_add(*value)),
            None => self.u64_at(address),
        }
    }

    fn symbol(&self, address: u64) -> Option<String> {
        let index = self.symbols.partition_point(|s| s.address <= address);
        let symbol = self.symbols[..index]
            .iter()
            .rev()
            .find(|s| address < s.address + s.size.max(1) || s.size == 0)?;
        let offset = address - symbol.address;
        Some(if offset == 0 {
            symbol.name.clone()
        } else {
            format!("{}+{offset:#x}", symbol.name)
        })
    }
}

type File<'a> = ElfFile64<'a, Endianness>;

/// A position-independent executable is an `ET_DYN` with an interpreter, or one whose
/// dynamic section says `DF_1_PIE` (static PIEs have no interpreter).
fn is_pie(file: &File) -> bool {
    let endian = file.endian();
    if file
        .elf_program_headers()
        .iter()
        .any(|p| p.p_type(endian) == elf::PT_INTERP)
    {
        return true;
    }
    file.elf_section_table().iter().any(|section| {
        matches!(section.dynamic(endian, file.data()), Ok(Some((entries, _)))
            if entries.iter().any(|d| d.d_tag(endian) == elf::DT_FLAGS_1.into()
                && d.d_val(endian) & u64::from(elf::DF_1_PIE) != 0))
    })
}

type Layout = (Vec<Chunk>, Vec<Region>, HashMap<String, (u64, u64)>);

/// Where the file's bytes land in memory (PT_LOAD segments, or allocated sections in a
/// file without program headers), and the regions the rules speak of (allocated sections,
/// or segments in a file without section headers).
fn layout(file: &File) -> Layout {
    let endian = file.endian();
    let mut chunks = Vec::new();
    let mut segments = Vec::new();
    for (i, p) in file.elf_program_headers().iter().enumerate() {
        if p.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        let (offset, file_size) = p.file_range(endian);
        let (start, mem_size) = (p.p_vaddr(endian), p.p_memsz(endian));
        chunks.push(Chunk {
            start,
            mem_size,
            offset,
            file_size: file_size.min(mem_size),
        });
        segments.push(Region {
            name: format!("LOAD segment {i}"),
            start,
            end: start + mem_size,
            executable: p.p_flags(endian) & elf::PF_X != 0,
        });
    }
    let mut regions = Vec::new();
    let mut named = HashMap::new();
    let table = file.elf_section_table();
    for section in table.iter() {
        let flags = section.sh_flags(endian);
        if flags & u64::from(elf::SHF_ALLOC) == 0 || section.sh_size(endian) == 0 {
            continue;
        }
        let name = table.section_name(endian, section).unwrap_or(b"?");
        let name = String::from_utf8_lossy(name).into_owned();
        let (start, size) = (section.sh_addr(endian), section.sh_size(endian));
        named.insert(name.clone(), (start, size));
        regions.push(Region {
            name,
            start,
            end: start + size,
            executable: flags & u64::from(elf::SHF_EXECINSTR) != 0,
        });
        if segments.is_empty() {
            let nobits = section.sh_type(endian) == elf::SHT_NOBITS;
            chunks.push(Chunk {
                start,
                mem_size: size,
                offset: section.sh_offset(endian),
                file_size: if nobits { 0 } else { size },
            });
        }
    }
    if regions.is_empty() {
        regions = segments;
    }
    (chunks, regions, named)
}

/// The relocation types that fill a 64-bit pointer: (relative, absolute, GOT entry).
fn pointer_relocations(arch: Arch) -> [u32; 3] {
    match arch {
        Arch::X86_64 => [
            elf::R_X86_64_RELATIVE,
            elf::R_X86_64_64,
            elf::R_X86_64_GLOB_DAT,
        ],
        Arch::Aarch64 => [
            elf::R_AARCH64_RELATIVE,
            elf::R_AARCH64_ABS64,
            elf::R_AARCH64_GLOB_DAT,
        ],
        // RISC-V fills GOT entries with the plain absolute relocation.
        Arch::Riscv64 => [elf::R_RISCV_RELATIVE, elf::R_RISCV_64, elf::R_RISCV_64],
        Arch::S390x => [elf::R_390_RELATIVE, elf::R_390_64, elf::R_390_GLOB_DAT],
        Arch::Powerpc64 => [
            elf::R_PPC64_RELATIVE,
            elf::R_PPC64_ADDR64,
            elf::R_PPC64_GLOB_DAT,
        ],
    }
}

/// What the loader writes at each relocated address, from the allocated (dynamic)
/// relocation sections: RELA, REL and packed RELR.
fn fixups(file: &File, arch: Arch) -> HashMap<u64, Fixup> {
    let endian = file.endian();
    let data = file.data();
    let table = file.elf_section_table();
    let [relative, absolute, got] = pointer_relocations(arch);
    let mut fixups = HashMap::new();
    // The value of a relocation against symbol `index` of the table `link`: its address, or
    // unresolved when the symbol is undefined here (another object provides it).
    let symbol_value = |link, index: u32| -> Option<u64> {
        let symbols = table.symbol_table_by_index(endian, data, link).ok()?;
        let symbol = symbols.symbol(object::SymbolIndex(index as usize)).ok()?;
        (!symbol.is_undefined(endian)).then(|| symbol.st_value(endian))
    };
    let fixup = |r_type: u32, sym: u32, link, addend: Option<u64>| {
        Some(if r_type == relative {
            addend.map_or(Fixup::InPlacePlus(0), Fixup::Value)
        } else if r_type == absolute || r_type == got {
            match (symbol_value(link, sym), addend) {
                (Some(value), Some(addend)) => Fixup::Value(value.wrapping_add(addend)),
                // REL: the addend is the field's contents; rare on these architectures.
                (Some(value), None) => Fixup::InPlacePlus(value),
                (None, _) => Fixup::Unresolved,
            }
        } else {
            return None;
        })
    };
    for section in table.iter() {
        if section.sh_flags(endian) & u64::from(elf::SHF_ALLOC) == 0 {
            // Non-allocated relocation sections (`--emit-relocs`) are not applied at load.
            continue;
        }
        if let Ok(Some((relas, link))) = section.rela(endian, data) {
            for r in relas {
                let (offset, r_type, sym) = (
                    r.r_offset(endian),
                    r.r_type(endian, false),
                    r.r_sym(endian, false),
                );
                if let Some(f) = fixup(r_type, sym, link, Some(r.r_addend(endian) as u64)) {
                    fixups.insert(offset, f);
                }
            }
        } else if let Ok(Some((rels, link))) = section.rel(endian, data) {
            for r in rels {
                if let Some(f) = fixup(r.r_type(endian), r.r_sym(endian), link, None) {
                    fixups.insert(r.r_offset(endian), f);
                }
            }
        } else if let Ok(Some(relrs)) = section.relr(endian, data) {
            for offset in relrs {
                fixups.insert(offset, Fixup::InPlacePlus(0));
            }
        }
    }
    fixups
}

/// The file's function symbols, demangled, sorted by address: the full symbol table, or
/// the dynamic one in a stripped file.
fn symbols(file: &File) -> Vec<Symbol> {
    let endian = file.endian();
    let table = if file.elf_symbol_table().is_empty() {
        file.elf_dynamic_symbol_table()
    } else {
        file.elf_symbol_table()
    };
    let mut symbols: Vec<Symbol> = table
        .iter()
        .filter(|s| s.st_type() == elf::STT_FUNC && !s.is_undefined(endian))
        .filter_map(|s| {
            let name = table.symbol_name(endian, s).ok()?;
            let name = String::from_utf8_lossy(name);
            Some(Symbol {
                address: s.st_value(endian),
                size: s.st_size(endian),
                // `{:#}` leaves out the hash suffix of Rust's legacy mangling; names that
                // are not Rust's (C, C++) come back unchanged.
                name: format!("{:#}", rustc_demangle::demangle(&name)),
            })
        })
        .collect();
    symbols.sort_by_key(|s| s.address);
    symbols
}
