//! The rules, applied to descriptors and exit points read through an [`Image`]: the same
//! code checks an ELF file ([`crate::ElfImage`]) and the running process
//! ([`crate::ProcessImage`]).

use crate::model::{Arch, Finding, Region, Rule, Severity};
use serde::Serialize;

/// `RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT | _SIGNAL | _MIGRATE`: honoured by kernels 4.18 to
/// 5.19, deprecated in 6.0 (which, like every kernel up to 6.18, kills a process whose
/// descriptor has them), checked again only under `rseq_debug=1` from 6.19 on.
pub const LEGACY_FLAGS: u32 = 0b111;

/// What the caller relaxes; the default checks every rule at its full severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// The deprecated `NO_RESTART_*` flags are a warning instead of a violation: for code
    /// that only ever runs on kernels that honour them (4.18 to 5.19) or ignore them (6.19
    /// and later without `rseq_debug=1`). The tool's `--allow-legacy-flags`.
    pub allow_legacy_flags: bool,
}

/// Where the checker reads descriptors, code and symbols.
pub trait Image {
    /// The architecture, which selects the signature.
    fn arch(&self) -> Arch;

    /// Whether data words are big-endian.
    fn big_endian(&self) -> bool {
        false
    }

    /// The address ranges the image occupies once loaded.
    fn regions(&self) -> &[Region];

    /// Copies the bytes at `address` into `buf`; false where any of them is not in the image.
    fn read(&self, address: u64, buf: &mut [u8]) -> bool;

    /// The value the pointer stored at `address` has once the loader applied its relocations
    /// (relative to a load address of 0 for a position-independent file); `None` where it
    /// cannot be known (unreadable, or a relocation against an undefined symbol).
    fn pointer(&self, address: u64) -> Option<u64> {
        self.u64_at(address)
    }

    /// The demangled name of the symbol enclosing `address`, with the offset into it.
    fn symbol(&self, _address: u64) -> Option<String> {
        None
    }

    /// The word at `address`, in the image's byte order.
    fn u64_at(&self, address: u64) -> Option<u64> {
        let mut bytes = [0; 8];
        self.read(address, &mut bytes).then(|| {
            if self.big_endian() {
                u64::from_be_bytes(bytes)
            } else {
                u64::from_le_bytes(bytes)
            }
        })
    }

    /// The 32-bit word at `address`, in the image's byte order.
    fn u32_at(&self, address: u64) -> Option<u32> {
        let mut bytes = [0; 4];
        self.read(address, &mut bytes).then(|| {
            if self.big_endian() {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        })
    }

    /// The region holding `address`, if any.
    fn region_of(&self, address: u64) -> Option<&Region> {
        self.regions()
            .iter()
            .find(|region| region.contains(address))
    }
}

/// What the rseq tables of an image list: descriptor addresses and `(start, exit)` pairs,
/// plus what went wrong while reading them.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// One address per descriptor: those of `__rseq_cs_ptr_array` in table order, then
    /// those found only in `__rseq_cs`.
    pub descriptors: Vec<u64>,
    /// The descriptors found in `__rseq_cs` that `__rseq_cs_ptr_array` does not list (also
    /// in `descriptors`); empty when the file has no pointer array.
    pub unlisted: Vec<u64>,
    /// `(start_ip, exit_ip)` pairs of `__rseq_exit_point_array`.
    pub exit_points: Vec<(u64, u64)>,
    /// Problems with the tables themselves (an unresolved entry, an odd-sized array).
    pub findings: Vec<Finding>,
}

impl Tables {
    /// Tables from the words of `__rseq_cs_ptr_array` and `__rseq_exit_point_array`, as a
    /// running program sees them (already relocated).
    pub fn from_words(pointers: &[u64], exits: &[u64]) -> Self {
        let mut tables = Tables {
            descriptors: pointers.to_vec(),
            ..Tables::default()
        };
        if !exits.len().is_multiple_of(2) {
            tables.findings.push(Finding::violation(
                Rule::Table,
                format!(
                    "__rseq_exit_point_array holds {} words, not (start, exit) pairs",
                    exits.len()
                ),
            ));
        }
        tables.exit_points = exits.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        tables
    }
}

/// One descriptor as read, with where it lies and what is wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct DescriptorReport {
    /// Address of the descriptor.
    pub address: u64,
    /// `version` (must be 0).
    pub version: u32,
    /// `flags` (must be 0).
    pub flags: u32,
    /// First instruction of the section.
    pub start_ip: u64,
    /// Length of the section.
    pub post_commit_offset: u64,
    /// Abort handler, preceded by the signature.
    pub abort_ip: u64,
    /// The region (section) of `start_ip`.
    pub section: Option<String>,
    /// The symbol enclosing `start_ip`.
    pub symbol: Option<String>,
    /// Broken rules; empty when valid.
    pub findings: Vec<Finding>,
}

/// One exit point, with what is wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct ExitReport {
    /// Start of the section it leaves.
    pub start_ip: u64,
    /// Where it goes.
    pub exit_ip: u64,
    /// The symbol enclosing `exit_ip`.
    pub symbol: Option<String>,
    /// Broken rules; empty when valid.
    pub findings: Vec<Finding>,
}

/// Everything the checker found in one image.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The image's architecture.
    pub arch: Arch,
    /// Table-level findings (not tied to one descriptor).
    pub findings: Vec<Finding>,
    /// Each descriptor, in table order.
    pub descriptors: Vec<DescriptorReport>,
    /// Each exit point, in table order.
    pub exit_points: Vec<ExitReport>,
}

impl Report {
    /// Every finding: table-level, then per descriptor, then per exit point.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .chain(self.descriptors.iter().flat_map(|d| &d.findings))
            .chain(self.exit_points.iter().flat_map(|e| &e.findings))
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.all_findings()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// How many violations (the tool exits non-zero when this is not 0).
    pub fn violations(&self) -> usize {
        self.count(Severity::Violation)
    }

    /// How many warnings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }
}

/// Applies every rule to every descriptor and exit point listed in `tables`.
pub fn check(image: &dyn Image, tables: &Tables) -> Report {
    check_with(image, tables, CheckOptions::default())
}

/// [`check`], with some rules relaxed by `options`.
pub fn check_with(image: &dyn Image, tables: &Tables, options: CheckOptions) -> Report {
    let mut report = Report {
        arch: image.arch(),
        findings: tables.findings.clone(),
        descriptors: Vec::new(),
        exit_points: Vec::new(),
    };
    let mut seen_addresses = Vec::new();
    for &address in &tables.descriptors {
        if seen_addresses.contains(&address) {
            report.findings.push(Finding::warning(
                Rule::Duplicate,
                format!("descriptor {address:#x} is listed twice in __rseq_cs_ptr_array"),
            ));
            continue;
        }
        seen_addresses.push(address);
        match descriptor(image, address, options) {
            Some(mut d) => {
                if tables.unlisted.contains(&address) {
                    d.findings.push(Finding::warning(
                        Rule::Unlisted,
                        "found in __rseq_cs but not listed in __rseq_cs_ptr_array: debuggers and tools that read the array do not see it",
                    ));
                }
                report.descriptors.push(d)
            }
            None => report.findings.push(Finding::violation(
                Rule::Table,
                format!("descriptor pointer {address:#x} does not point to 32 readable bytes of the image"),
            )),
        }
    }
    duplicates(&mut report.descriptors);
    report.exit_points = tables
        .exit_points
        .iter()
        .map(|&(start_ip, exit_ip)| exit_point(image, &report.descriptors, start_ip, exit_ip))
        .collect();
    report
}

/// Reads the descriptor at `address` and checks it; `None` where it cannot be read.
fn descriptor(image: &dyn Image, address: u64, options: CheckOptions) -> Option<DescriptorReport> {
    let mut d = DescriptorReport {
        address,
        version: image.u32_at(address)?,
        flags: image.u32_at(address + 4)?,
        start_ip: 0,
        post_commit_offset: image.u64_at(address + 16)?,
        abort_ip: 0,
        section: None,
        symbol: None,
        findings: Vec::new(),
    };
    let mut f = Vec::new();
    // The two addresses are what PIEs and shared objects relocate; the length is not.
    let (Some(start_ip), Some(abort_ip)) =
        (image.pointer(address + 8), image.pointer(address + 24))
    else {
        d.findings.push(Finding::violation(
            Rule::Table,
            format!("descriptor {address:#x}: start_ip or abort_ip has no value in the file (a relocation against an undefined symbol?)"),
        ));
        return Some(d);
    };
    d.start_ip = start_ip;
    d.abort_ip = abort_ip;
    d.symbol = image.symbol(start_ip);

    if d.version != 0 {
        f.push(Finding::violation(
            Rule::Version,
            format!("version is {}, the kernel accepts only 0", d.version),
        ));
    }
    flags(d.flags, options, &mut f);
    if !address.is_multiple_of(32) {
        f.push(Finding::violation(
            Rule::Alignment,
            format!(
                "descriptor {address:#x} is not 32-byte aligned ({} past a multiple of 32)",
                address % 32
            ),
        ));
    }

    let code = |ip: u64| image.region_of(ip).filter(|r| r.executable);
    let start_region = code(start_ip);
    d.section = image.region_of(start_ip).map(|r| r.name.clone());
    let end = start_ip.checked_add(d.post_commit_offset);
    match start_region {
        None => f.push(Finding::violation(
            Rule::Start,
            format!(
                "start_ip {start_ip:#x} is not in an executable section (it is in {})",
                d.section.as_deref().unwrap_or("no section")
            ),
        )),
        Some(region) => match end {
            _ if d.post_commit_offset == 0 => f.push(Finding::violation(
                Rule::Empty,
                "post_commit_offset is 0: the section is empty",
            )),
            // The post-commit address may be the region's end: the commit is then its last
            // instruction.
            Some(end) if end <= region.end => {}
            _ => f.push(Finding::violation(
                Rule::End,
                format!(
                    "post-commit address {start_ip:#x} + {:#x} is past the end of {} ({:#x}): start and end must lie in one executable section",
                    d.post_commit_offset, region.name, region.end
                ),
            )),
        },
    }

    let end = end.unwrap_or(u64::MAX);
    if (start_ip..end).contains(&abort_ip) {
        f.push(Finding::violation(
            Rule::AbortInside,
            format!("abort_ip {abort_ip:#x} lies inside the section [{start_ip:#x}, {end:#x})"),
        ));
    }
    if code(abort_ip).is_none() {
        f.push(Finding::violation(
            Rule::AbortCode,
            format!("abort_ip {abort_ip:#x} is not in an executable section"),
        ));
    } else {
        signature(image, abort_ip, &mut f);
    }
    d.findings = f;
    Some(d)
}

/// Unknown flag bits are violations; so are the deprecated ones, unless `options` allows
/// them (a warning then), with the kernels that reject them.
fn flags(flags: u32, options: CheckOptions, f: &mut Vec<Finding>) {
    let unknown = flags & !LEGACY_FLAGS;
    if unknown != 0 {
        f.push(Finding::violation(
            Rule::Flags,
            format!("flags {flags:#x} has unknown bits {unknown:#x}: every kernel rejects the descriptor"),
        ));
    }
    let legacy = flags & LEGACY_FLAGS;
    if legacy != 0 {
        let names: Vec<&str> = [
            "NO_RESTART_ON_PREEMPT",
            "NO_RESTART_ON_SIGNAL",
            "NO_RESTART_ON_MIGRATE",
        ]
        .iter()
        .enumerate()
        .filter(|(bit, _)| legacy & (1 << bit) != 0)
        .map(|(_, name)| *name)
        .collect();
        let message = format!(
            "legacy flags {legacy:#x} ({}): honoured by kernels 4.18 to 5.19, deprecated since 6.0; kernels 6.0 to 6.18 (and 6.19, 7.x and later booted with rseq_debug=1) kill the process with SIGSEGV at the first preemption, migration or signal inside the section; {}",
            names.join(" | "),
            if options.allow_legacy_flags {
                "a warning under --allow-legacy-flags"
            } else {
                "an error by default (--allow-legacy-flags: a warning, for code that never runs on those kernels)"
            }
        );
        f.push(if options.allow_legacy_flags {
            Finding::warning(Rule::LegacyFlags, message)
        } else {
            Finding::violation(Rule::LegacyFlags, message)
        });
    }
}

/// The 4 bytes before the abort handler must be the architecture's signature.
fn signature(image: &dyn Image, abort_ip: u64, f: &mut Vec<Finding>) {
    let arch = image.arch();
    let expected = arch.signature_bytes(image.big_endian());
    let mut found = [0u8; 4];
    if abort_ip < 4 || !image.read(abort_ip - 4, &mut found) {
        f.push(Finding::violation(
            Rule::Signature,
            format!("the 4 bytes before abort_ip {abort_ip:#x} are not in the image"),
        ));
        return;
    }
    let mut reversed = expected;
    reversed.reverse();
    let (rule, what) = match found {
        _ if found == expected => return,
        // `.inst.w 0xe7f5def3` in Thumb code: two halfwords, the first one high, each
        // little-endian; the kernel reads a data word and finds 0xdef3e7f5.
        [0xf5, 0xe7, 0xf3, 0xde] if arch == Arch::Arm => (
            Rule::Signature,
            format!("signature before abort_ip {abort_ip:#x} is the Thumb-2 encoding (`.inst.w`), whose halfwords the kernel reads swapped; write it as data (`.word 0xe7f5def3`), which traps in both instruction sets"),
        ),
        // Written as a data word of the other byte order (a `.long` where the architecture
        // wants `.inst`, or the big-endian `RSEQ_SIG_DATA` in a little-endian file).
        _ if found == reversed => (
            Rule::SignatureByteOrder,
            format!("signature before abort_ip {abort_ip:#x} is in the wrong byte order"),
        ),
        _ => (
            Rule::Signature,
            format!("no signature before abort_ip {abort_ip:#x}"),
        ),
    };
    let hex = |b: [u8; 4]| format!("{:02x} {:02x} {:02x} {:02x}", b[0], b[1], b[2], b[3]);
    f.push(Finding::violation(
        rule,
        format!(
            "{what}: bytes {}, {} expects {} ({:#010x})",
            hex(found),
            arch.name(),
            hex(expected),
            arch.signature()
        ),
    ));
}

/// Two descriptors for one section: the kernel does not mind, but a tool that maps a start
/// address to its descriptor (as exit points do) becomes ambiguous.
fn duplicates(descriptors: &mut [DescriptorReport]) {
    for i in 1..descriptors.len() {
        let start = descriptors[i].start_ip;
        if let Some(first) = descriptors[..i].iter().find(|d| d.start_ip == start) {
            let message = format!(
                "descriptor {:#x} describes the same section ({start:#x}) as descriptor {:#x}",
                descriptors[i].address, first.address
            );
            descriptors[i]
                .findings
                .push(Finding::warning(Rule::Duplicate, message));
        }
    }
}

/// Checks one `(start, exit)` pair against the descriptors.
fn exit_point(
    image: &dyn Image,
    descriptors: &[DescriptorReport],
    start_ip: u64,
    exit_ip: u64,
) -> ExitReport {
    let mut f = Vec::new();
    match descriptors.iter().find(|d| d.start_ip == start_ip) {
        None => f.push(Finding::violation(
            Rule::ExitUnknownSection,
            format!(
                "exit point {start_ip:#x} -> {exit_ip:#x}: no descriptor starts at {start_ip:#x}"
            ),
        )),
        Some(d) => {
            let end = start_ip.saturating_add(d.post_commit_offset);
            if (start_ip..end).contains(&exit_ip) {
                f.push(Finding::violation(
                    Rule::ExitInside,
                    format!(
                        "exit point {exit_ip:#x} lies inside its section [{start_ip:#x}, {end:#x})"
                    ),
                ));
            }
            if exit_ip == d.abort_ip {
                f.push(Finding::warning(
                    Rule::ExitAbort,
                    format!("exit point {exit_ip:#x} is the abort handler of its section"),
                ));
            }
        }
    }
    if !image.region_of(exit_ip).is_some_and(|r| r.executable) {
        f.push(Finding::violation(
            Rule::ExitTarget,
            format!("exit point {start_ip:#x} -> {exit_ip:#x}: the target is not in an executable section"),
        ));
    }
    ExitReport {
        start_ip,
        exit_ip,
        symbol: image.symbol(exit_ip),
        findings: f,
    }
}
