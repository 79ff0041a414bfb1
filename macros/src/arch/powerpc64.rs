//! powerpc64 backend (little-endian ELFv2, `powerpc64le-unknown-linux-gnu`; `asm!` there is
//! stable from rustc 1.95, and the runtime keeps this arm only on such compilers).
//!
//! - Registers: `asm!`'s `reg_nonzero` class, r3..r12 and r14..r28 (the Rust Reference and
//!   rustc's `asm/powerpc.rs`: r1 stack, r2 TOC, r13 thread pointer, r29/r30 LLVM's, r31
//!   frame pointer). Not `reg`: it adds r0, which reads as 0 as a base or `addi` source.
//! - Addresses are `disp(base)` with a 16-bit signed displacement (a multiple of 4 for the
//!   DS-form `ld`, `std` and `lwa`) or `base, index` (X-form, unscaled); anything else is
//!   materialised by lowering with an `Inst::Lea`.
//! - Immediates are 16 bits (`li`/`addi`/`cmpdi` signed, `ori`/`andi.`/`cmpldi` unsigned):
//!   `-32767..=32767` is taken so that `x - v` is `addi x, -v`; a form that cannot encode
//!   a value goes through the scratch register, built with `lis`/`ori` (32 bits) or
//!   `lis`/`ori`/`rldicr`/`oris`/`ori` (64 bits, as the selftests' `rseq-ppc.h`).
//! - `sld`/`srd`/`srad` take their count modulo 128: it is masked to 63 first.
//! - `commit(release)` is `lwsync` then the store; `load_acquire()` the load then `lwsync`
//!   (the selftests' `rseq_smp_store_release` and `rseq_smp_load_acquire`).
//! - The descriptor's address is pc-relative: `bcl 20,31` (the form the branch predictor
//!   does not take for a call) and `mflr` give the address of a label, and
//!   `addis`/`addi` of `(descriptor - label)@ha/@l` (R_PPC64_REL16_HA/LO) add the distance.
//!   It clobbers the link register. The selftests' absolute `@highest..@l` sequence would
//!   put relocations in `.text` of a position-independent binary; a TOC-relative
//!   `@toc@ha` needs r2 to hold this function's TOC, which the compiler only guarantees
//!   when the function itself uses the TOC; Power10's `pla` is not in the base ISA.
//! - Every template clobbers `lr`, `cr0` (compares, `andi.`) and `xer` (`srad` sets its
//!   carry): `asm!` on powerpc does not assume them clobbered.
//! - Conditional branches reach +-32 KiB, so the layout is riscv64's: stubs inline after
//!   the commit, and `b` (+-32 MiB) on to the label operands.

use super::{Cond, Isa, Layout, Printer, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL, DESCRIPTOR_LABEL};
use crate::lower::{AluOp, FieldLimit, Mem, Operand, Target, VReg, Width, RSEQ_CS_OFFSET};

pub struct Powerpc64;

/// glibc's (`sysdeps/unix/sysv/linux/powerpc/bits/rseq.h`) and the kernel selftests'
/// (`rseq-ppc.h`) `RSEQ_SIG`: `twui r5,11`, emitted as a data word (`.long`, in the
/// target's byte order, as the selftests' `RSEQ_ASM_DEFINE_ABORT`).
const SIGNATURE: u32 = 0x0fe5_000b;

const SCRATCH: &str = "{scratch}";

/// The label `bcl` branches to, whose address `mflr` reads.
const PC_LABEL: u32 = 7;

fn is_simm16(value: i64) -> bool {
    (-32768..=32767).contains(&value)
}

fn is_uimm16(value: i64) -> bool {
    (0..=65535).contains(&value)
}

/// The DS-form accesses, whose displacement is a multiple of 4.
fn ds_form(width: Width) -> bool {
    width.bytes == 8 || (width.bytes == 4 && width.signed)
}

impl Target for Powerpc64 {
    fn name(&self) -> &'static str {
        "powerpc64"
    }

    fn register_class(&self) -> &'static str {
        "reg_nonzero"
    }

    fn fixed_clobbers(&self) -> &'static [&'static str] {
        &["lr", "cr0", "xer"]
    }

    /// r3..r12 and r14..r28.
    fn registers(&self) -> usize {
        25
    }

    fn imm_fits(&self, value: i64) -> bool {
        (-32767..=32767).contains(&value)
    }

    fn mem_fits(&self, mem: &Mem, width: Width) -> bool {
        match mem.index {
            None => is_simm16(mem.disp) && (!ds_form(width) || mem.disp % 4 == 0),
            Some((_, scale)) => scale == 1 && mem.disp == 0,
        }
    }

    /// `field(base)` alone.
    fn field_fits(&self, mem: &Mem, width: Width, _ordered: bool) -> Option<FieldLimit> {
        (mem.index.is_none() && mem.disp == 0).then_some(FieldLimit {
            max: 32767,
            multiple: if ds_form(width) { 4 } else { 1 },
        })
    }

    /// `addi dst, base, field`.
    fn lea_field_limit(&self, _mem: &Mem) -> FieldLimit {
        FieldLimit {
            max: 32767,
            multiple: 1,
        }
    }
}

fn r(p: &Printer, vreg: VReg) -> String {
    p.operand(vreg)
}

/// The D-form load of `width` (its X-form adds `x`); a signed byte has none (`lbz` then
/// `extsb`).
fn load_mnemonic(width: Width) -> &'static str {
    match (width.bytes, width.signed) {
        (1, _) => "lbz",
        (2, false) => "lhz",
        (2, true) => "lha",
        (4, false) => "lwz",
        (4, true) => "lwa",
        _ => "ld",
    }
}

fn store_mnemonic(bytes: u8) -> &'static str {
    match bytes {
        1 => "stb",
        2 => "sth",
        4 => "stw",
        _ => "std",
    }
}

fn unsigned(bytes: u8) -> Width {
    Width {
        bytes,
        signed: false,
    }
}

/// An access of `mem` (accepted by [`Target::mem_fits`]) with the D-form `mnemonic`:
/// `mnemonic reg, disp(base)`, or its X-form `mnemonicx reg, base, index`.
fn access(p: &mut Printer, mnemonic: &str, reg: &str, mem: &Mem) {
    let base = r(p, mem.base);
    let line = match (mem.index, mem.field) {
        (Some((index, _)), _) => format!("{mnemonic}x {reg}, {base}, {}", r(p, index)),
        (None, Some(field)) => format!("{mnemonic} {reg}, {{c{field}}}({base})"),
        (None, None) => format!("{mnemonic} {reg}, {}({base})", mem.disp),
    };
    p.line(line);
}

fn copy_reg(p: &mut Printer, dst: &str, src: &str) {
    if dst != src {
        p.line(format!("mr {dst}, {src}"));
    }
}

/// Puts `operand` into `dst` (a `reg_nonzero` register: `addi`'s source may be `dst`).
fn materialise(p: &mut Printer, dst: &str, operand: &Operand) {
    let value = match operand {
        Operand::Reg(vreg) => {
            let src = r(p, *vreg);
            return copy_reg(p, dst, &src);
        }
        // A `const` operand is pasted as a decimal number: a size or an offset, below 2^31.
        Operand::SizeOf(index) => {
            p.line(format!("lis {dst}, ({{c{index}}})@ha"));
            p.line(format!("addi {dst}, {dst}, ({{c{index}}})@l"));
            return;
        }
        Operand::Imm(value) => *value,
    };
    let half = |shift: u32| (value >> shift) & 0xffff;
    if is_simm16(value) {
        return p.line(format!("li {dst}, {value}"));
    }
    if i64::from(value as i32) == value {
        // `lis` sign-extends the high half into the upper word.
        p.line(format!("lis {dst}, {}", value >> 16));
    } else {
        p.line(format!("lis {dst}, {}", value >> 48));
        if half(32) != 0 {
            p.line(format!("ori {dst}, {dst}, {}", half(32)));
        }
        p.line(format!("rldicr {dst}, {dst}, 32, 31"));
        if half(16) != 0 {
            p.line(format!("oris {dst}, {dst}, {}", half(16)));
        }
    }
    if half(0) != 0 {
        p.line(format!("ori {dst}, {dst}, {}", half(0)));
    }
}

/// A register holding `operand`: its own, or the scratch register loaded with it.
fn operand_reg(p: &mut Printer, operand: &Operand) -> String {
    match operand {
        Operand::Reg(vreg) => r(p, *vreg),
        other => {
            materialise(p, SCRATCH, other);
            SCRATCH.to_string()
        }
    }
}

/// `dst = src + value`: `addi` for a 16-bit immediate, else through the scratch register.
fn add_immediate(p: &mut Printer, dst: &str, src: &str, value: i64) {
    if value == 0 {
        copy_reg(p, dst, src);
    } else if is_simm16(value) {
        p.line(format!("addi {dst}, {src}, {value}"));
    } else {
        materialise(p, SCRATCH, &Operand::Imm(value));
        p.line(format!("add {dst}, {src}, {SCRATCH}"));
    }
}

fn signed(cond: Cond) -> bool {
    !matches!(cond, Cond::Lo | Cond::Ls | Cond::Hi | Cond::Hs)
}

impl Isa for Powerpc64 {
    fn layout(&self, _goto: bool) -> Layout {
        Layout::Inline
    }

    fn signature(&self) -> Vec<String> {
        vec![format!("  .long {SIGNATURE:#010x}")]
    }

    // After `cmpd` (signed) or `cmpld` (unsigned) the same branches read cr0.
    fn condition(&self, cond: Cond) -> &'static str {
        match cond {
            Cond::Eq => "beq",
            Cond::Ne => "bne",
            Cond::Lt | Cond::Lo => "blt",
            Cond::Le | Cond::Ls => "ble",
            Cond::Gt | Cond::Hi => "bgt",
            Cond::Ge | Cond::Hs => "bge",
        }
    }

    fn jump(&self, target: &str) -> String {
        format!("b {target}")
    }

    fn set_status(&self, p: &mut Printer, status: usize) {
        p.line(format!("li {SCRATCH}, {status}"));
    }

    fn store_result(&self, p: &mut Printer, value: &Operand) {
        materialise(p, "{result}", value);
    }

    fn store_descriptor(&self, p: &mut Printer, area: VReg) {
        let distance = format!("({DESCRIPTOR_LABEL}b - {PC_LABEL}b)");
        p.line(format!("bcl 20, 31, {PC_LABEL}f"));
        p.label(PC_LABEL);
        p.line(format!("mflr {SCRATCH}"));
        p.line(format!("addis {SCRATCH}, {SCRATCH}, {distance}@ha"));
        p.line(format!("addi {SCRATCH}, {SCRATCH}, {distance}@l"));
        let line = format!("std {SCRATCH}, {RSEQ_CS_OFFSET}({})", r(p, area));
        p.line(line);
    }

    // `cmpw`: the index operand's upper word is not defined.
    fn branch_if_index_moved(
        &self,
        p: &mut Printer,
        area: VReg,
        offset: u32,
        index: VReg,
        target: &str,
    ) {
        let line = format!("lwz {SCRATCH}, {offset}({})", r(p, area));
        p.line(line);
        let line = format!("cmpw {SCRATCH}, {}", r(p, index));
        p.line(line);
        p.line(format!("bne {target}"));
    }

    fn compare_branch(&self, p: &mut Printer, cond: Cond, lhs: VReg, rhs: &Operand, target: &str) {
        let l = r(p, lhs);
        let (compare, fits): (_, fn(i64) -> bool) = if signed(cond) {
            ("cmpd", is_simm16)
        } else {
            ("cmpld", is_uimm16)
        };
        match rhs {
            Operand::Imm(value) if fits(*value) => p.line(format!("{compare}i {l}, {value}")),
            _ => {
                let rhs = operand_reg(p, rhs);
                p.line(format!("{compare} {l}, {rhs}"));
            }
        }
        p.line(format!("{} {target}", self.condition(cond)));
    }

    fn load(&self, p: &mut Printer, dst: VReg, mem: &Mem, width: Width, acquire: bool) {
        let d = r(p, dst);
        access(p, load_mnemonic(width), &d, mem);
        if width.bytes == 1 && width.signed {
            p.line(format!("extsb {d}, {d}"));
        }
        if acquire {
            // No later load or store is performed before the load.
            p.line("lwsync");
        }
    }

    fn store(&self, p: &mut Printer, mem: &Mem, src: &Operand, width: Width) {
        let src = operand_reg(p, src);
        access(p, store_mnemonic(width.bytes), &src, mem);
    }

    fn mov(&self, p: &mut Printer, dst: VReg, src: &Operand) {
        let dst = r(p, dst);
        materialise(p, &dst, src);
    }

    fn lea(&self, p: &mut Printer, dst: VReg, mem: &Mem) {
        let d = r(p, dst);
        let base = r(p, mem.base);
        // The scaled index goes through the scratch register, read before `dst` (which
        // may share a slot with the base or the index) is written.
        let mut from = match mem.index {
            Some((index, scale)) => {
                let index = r(p, index);
                if scale == 1 {
                    p.line(format!("add {d}, {base}, {index}"));
                } else {
                    let shift = scale.trailing_zeros();
                    p.line(format!("sldi {SCRATCH}, {index}, {shift}"));
                    p.line(format!("add {d}, {base}, {SCRATCH}"));
                }
                d.clone()
            }
            None => base,
        };
        if let Some(field) = mem.field {
            p.line(format!("addi {d}, {from}, {{c{field}}}"));
            from = d.clone();
        }
        add_immediate(p, &d, &from, mem.disp);
    }

    fn alu(&self, p: &mut Printer, op: AluOp, dst: VReg, lhs: VReg, rhs: &Operand) {
        let d = r(p, dst);
        let l = r(p, lhs);
        let shift = |op| match op {
            AluOp::Shl => ("sld", "sldi"),
            AluOp::Shr => ("srd", "srdi"),
            _ => ("srad", "sradi"),
        };
        match (op, rhs) {
            (AluOp::Add, Operand::Imm(value)) => add_immediate(p, &d, &l, *value),
            (AluOp::Sub, Operand::Imm(value)) if *value != i64::MIN => {
                add_immediate(p, &d, &l, -*value)
            }
            (AluOp::Mul, Operand::Imm(value))
                if *value > 0 && (*value as u64).is_power_of_two() =>
            {
                p.line(format!("sldi {d}, {l}, {}", value.trailing_zeros()));
            }
            (AluOp::Mul, Operand::Imm(value)) if is_simm16(*value) => {
                p.line(format!("mulli {d}, {l}, {value}"));
            }
            (AluOp::And | AluOp::Or | AluOp::Xor, Operand::Imm(value)) if is_uimm16(*value) => {
                let mnemonic = match op {
                    AluOp::And => "andi.",
                    AluOp::Or => "ori",
                    _ => "xori",
                };
                p.line(format!("{mnemonic} {d}, {l}, {value}"));
            }
            (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Imm(count)) => {
                // Immediate counts are below the width (lowering masks them); `srdi` has
                // no form for 0.
                match count & 63 {
                    0 => copy_reg(p, &d, &l),
                    count => p.line(format!("{} {d}, {l}, {count}", shift(op).1)),
                }
            }
            (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Reg(count)) => {
                // Rust's wrapping shift takes the count modulo 64; powerpc's, modulo 128.
                let count = r(p, *count);
                p.line(format!("clrldi {SCRATCH}, {count}, 58"));
                p.line(format!("{} {d}, {l}, {SCRATCH}", shift(op).0));
            }
            _ => {
                let rhs = operand_reg(p, rhs);
                let mnemonic = match op {
                    AluOp::Add => "add",
                    AluOp::Sub => "sub",
                    AluOp::Mul => "mulld",
                    AluOp::And => "and",
                    AluOp::Or => "or",
                    _ => "xor",
                };
                p.line(format!("{mnemonic} {d}, {l}, {rhs}"));
            }
        }
    }

    fn not(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("not {}, {}", r(p, dst), r(p, src));
        p.line(line);
    }

    fn neg(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("neg {}, {}", r(p, dst), r(p, src));
        p.line(line);
    }

    fn extend(&self, p: &mut Printer, dst: VReg, src: VReg, width: Width) {
        let (d, s) = (r(p, dst), r(p, src));
        match (width.bytes, width.signed) {
            (1, true) => p.line(format!("extsb {d}, {s}")),
            (2, true) => p.line(format!("extsh {d}, {s}")),
            (4, true) => p.line(format!("extsw {d}, {s}")),
            (bytes @ (1 | 2 | 4), false) => {
                p.line(format!("clrldi {d}, {s}, {}", 64 - 8 * u32::from(bytes)))
            }
            _ => copy_reg(p, &d, &s),
        }
    }

    fn commit(
        &self,
        p: &mut Printer,
        mem: &Mem,
        src: &Operand,
        width: Width,
        add: bool,
        release: bool,
    ) {
        let value = if add {
            // Load, add, then the committing store as the last instruction.
            access(p, load_mnemonic(unsigned(width.bytes)), SCRATCH, mem);
            match src {
                Operand::Imm(value) => add_immediate(p, SCRATCH, SCRATCH, *value),
                Operand::Reg(vreg) => {
                    let line = format!("add {SCRATCH}, {SCRATCH}, {}", r(p, *vreg));
                    p.line(line);
                }
                Operand::SizeOf(_) => unreachable!("lowering never commits a size operand"),
            }
            SCRATCH.to_string()
        } else {
            operand_reg(p, src)
        };
        if release {
            // Every earlier load and store is ordered before the committing store.
            p.line("lwsync");
        }
        access(p, store_mnemonic(width.bytes), &value, mem);
    }

    fn spin_enter(&self, p: &mut Printer, counter: VReg) {
        let c = r(p, counter);
        p.line(format!("addi {c}, {c}, 1"));
    }

    fn spin_step(&self, p: &mut Printer, counter: VReg, label: &str) {
        let c = r(p, counter);
        p.line(format!("addi {c}, {c}, -1"));
        p.line(format!("cmpdi {c}, 0"));
        p.line(format!("bne {label}"));
    }

    // `copy` is at most 256 bytes: every offset fits the displacement, and an 8-byte
    // move's offset is a multiple of 8 (the moves go widest first). Misaligned accesses
    // are done by the hardware or completed by the kernel.
    fn copy_chunk(
        &self,
        p: &mut Printer,
        dst: VReg,
        src: VReg,
        scratch: VReg,
        offset: i64,
        bytes: u8,
    ) {
        let (to, from, t) = (r(p, dst), r(p, src), r(p, scratch));
        let load = load_mnemonic(unsigned(bytes));
        p.line(format!("{load} {t}, {offset}({from})"));
        p.line(format!("{} {t}, {offset}({to})", store_mnemonic(bytes)));
    }

    // `len` counts down by 8 while 8 or more bytes are left; `dst`, `src` and `len` are
    // the loop's own.
    fn copy_word_loop(&self, p: &mut Printer, dst: VReg, src: VReg, len: VReg, scratch: VReg) {
        let (d, s, n, t) = (r(p, dst), r(p, src), r(p, len), r(p, scratch));
        let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
        p.label(word);
        p.line(format!("cmpldi {n}, 8"));
        p.line(format!("blt {tail}f"));
        p.line(format!("ld {t}, 0({s})"));
        p.line(format!("std {t}, 0({d})"));
        p.line(format!("addi {s}, {s}, 8"));
        p.line(format!("addi {d}, {d}, 8"));
        p.line(format!("addi {n}, {n}, -8"));
        p.line(format!("b {word}b"));
    }

    fn copy_tail_test(&self, p: &mut Printer, len: VReg, scratch: VReg, bytes: u8, skip: u32) {
        let (n, t) = (r(p, len), r(p, scratch));
        p.line(format!("andi. {t}, {n}, {bytes}"));
        p.line(format!("beq {skip}f"));
    }

    fn copy_tail_move(
        &self,
        p: &mut Printer,
        dst: VReg,
        src: VReg,
        scratch: VReg,
        bytes: u8,
        advance: bool,
    ) {
        let (d, s, t) = (r(p, dst), r(p, src), r(p, scratch));
        let (load, store) = (load_mnemonic(unsigned(bytes)), store_mnemonic(bytes));
        p.line(format!("{load} {t}, 0({s})"));
        p.line(format!("{store} {t}, 0({d})"));
        if advance {
            p.line(format!("addi {s}, {s}, {bytes}"));
            p.line(format!("addi {d}, {d}, {bytes}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Backend;
    use crate::expand::compile_section;
    use crate::lower::{Instrumentation, Lowered};
    use quote::quote;

    fn lower(tokens: proc_macro2::TokenStream) -> Lowered {
        compile_section(tokens, &Powerpc64, Instrumentation::default())
            .unwrap()
            .1
    }

    fn emit(tokens: proc_macro2::TokenStream) -> Vec<String> {
        Powerpc64.emit(&lower(tokens))
    }

    /// The value `lines` leave in `dst`, for the instructions `materialise` writes.
    fn evaluate(lines: &[String], dst: &str) -> i64 {
        let mut value = 0i64;
        for line in lines {
            let (mnemonic, operands) = line.split_once(' ').unwrap();
            let operands: Vec<&str> = operands.split(", ").collect();
            assert_eq!(operands[0], dst, "{line}");
            let imm: i64 = operands.last().unwrap().parse().unwrap();
            assert!(
                match mnemonic {
                    "li" | "lis" => is_simm16(imm),
                    "ori" | "oris" => is_uimm16(imm),
                    _ => true,
                },
                "{line}: immediate out of range"
            );
            value = match mnemonic {
                "li" => imm,
                "lis" => imm << 16,
                "ori" => value | imm,
                "oris" => value | (imm << 16),
                "rldicr" if operands[2..] == ["32", "31"] => value << 32,
                _ => panic!("unexpected {line}"),
            };
        }
        value
    }

    #[test]
    fn descriptor_is_64_bit_and_its_address_pc_relative() {
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }));
        assert!(lines.contains(&"  .quad 4f, (5f - 4f), 6f".to_string()));
        let bcl = lines.iter().position(|l| l == "bcl 20, 31, 7f").unwrap();
        assert_eq!(
            lines[bcl + 1..bcl + 6],
            [
                "7:",
                "mflr {scratch}",
                "addis {scratch}, {scratch}, (3b - 7b)@ha",
                "addi {scratch}, {scratch}, (3b - 7b)@l",
                "std {scratch}, 8({s0})",
            ]
        );
        assert_eq!(lines[bcl + 6], "4:");
    }

    #[test]
    fn signature_word_is_right_before_the_abort_label() {
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }));
        let abort = lines.iter().position(|l| l == "6:").unwrap();
        assert_eq!(lines[abort - 1], "  .long 0x0fe5000b");
        // The word is never executed: a branch is right before it.
        assert!(lines[abort - 2].starts_with("b "), "{}", lines[abort - 2]);
    }

    #[test]
    fn registers_exclude_r0_and_the_template_clobbers_lr_cr0_xer() {
        let lowered = lower(quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }));
        assert_eq!(lowered.register_class, "reg_nonzero");
        assert_eq!(lowered.scratch_class, "reg_nonzero");
        assert_eq!(lowered.clobbers, ["lr", "cr0", "xer"]);
    }

    /// A section with `n` inputs (a pointer and `n - 1` values), all live until the sum.
    fn section_with_inputs(n: usize) -> proc_macro2::TokenStream {
        let names: Vec<_> = (1..n).map(|i| quote::format_ident!("v{}", i)).collect();
        let sum = names
            .iter()
            .skip(1)
            .fold(quote!(v1), |acc, next| quote!(#acc + #next));
        quote!(|cpu| {
            in p: *mut u64 = base;
            #(in #names: u64 = x;)*
            commit *p = #sum;
        })
    }

    #[test]
    fn register_budget_is_twenty_five() {
        // area, index and scratch besides the inputs; the clobbers are no general registers.
        let fits = compile_section(
            section_with_inputs(22),
            &Powerpc64,
            Instrumentation::default(),
        );
        assert!(fits.is_ok(), "22 inputs fit in 25 registers");
        let error = match compile_section(
            section_with_inputs(23),
            &Powerpc64,
            Instrumentation::default(),
        ) {
            Ok(_) => panic!("23 inputs need 26 registers"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("`asm!` on powerpc64 offers 25"),
            "unexpected message: {error}"
        );
    }

    #[test]
    fn immediates_beyond_16_bits_are_built_and_hold_their_value() {
        for value in [
            0,
            -1,
            32767,
            -32768,
            32768,
            65535,
            0x1234_0000,
            0x1234_5678,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            0x8000_0000,
            0xffff_ffff,
            0x1_0000_0000,
            0x1234_5678_9abc_def0,
            -0x1234_5678_9abc_def0,
            i64::MAX,
            i64::MIN,
        ] {
            let literal = proc_macro2::Literal::i64_unsuffixed(value);
            let lines = emit(quote!(|cpu| { in p: *mut i64 = q; commit *p = #literal; }));
            // From the index check's branch to the committing store, whose source it is.
            let from = lines.iter().position(|l| l == "bne 6f").unwrap() + 1;
            let to = from
                + lines[from..]
                    .iter()
                    .position(|l| l.starts_with("std "))
                    .unwrap();
            let dst = lines[to]
                .split_once(' ')
                .unwrap()
                .1
                .split(", ")
                .next()
                .unwrap();
            let built = &lines[from..to];
            if value == 0 {
                assert!(built.is_empty() || evaluate(built, dst) == 0, "{built:?}");
                continue;
            }
            assert_eq!(evaluate(built, dst), value, "{built:?}");
            let most = if i64::from(value as i32) == value {
                2
            } else {
                5
            };
            assert!(built.len() <= most, "{value:#x}: {built:?}");
        }
        assert!(Powerpc64.imm_fits(-32767) && Powerpc64.imm_fits(32767));
        assert!(!Powerpc64.imm_fits(-32768) && !Powerpc64.imm_fits(32768));
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit *p = 0x12345678; }));
        // Its high half, then its low half, into the register the store takes.
        let lis = lines.iter().position(|l| l.starts_with("lis ")).unwrap();
        let reg = &lines[lis][4..lines[lis].len() - ", 4660".len()];
        assert_eq!(lines[lis], format!("lis {reg}, 4660"));
        assert_eq!(lines[lis + 1], format!("ori {reg}, {reg}, 22136"));
        assert!(lines[lis + 2].starts_with(&format!("std {reg}, ")));
    }

    #[test]
    fn widths_pick_their_loads_and_ds_form_displacements() {
        let lines = emit(quote!(|cpu| {
            in p: *mut i8 = q;
            in w: *mut i32 = r;
            in u: *mut u32 = s;
            let a: i8 = *p;
            let b: i32 = *w;
            let c: u32 = *u;
            store *u = c + 1;
            store *w = b + 1;
            commit *p = a + 1;
        }));
        let byte = lines.iter().position(|l| l.starts_with("lbz ")).unwrap();
        assert!(lines[byte + 1].starts_with("extsb "), "{}", lines[byte + 1]);
        assert!(lines.iter().any(|l| l.starts_with("lwa ")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("lwz ") && !l.ends_with("4({s0})")));
        assert!(lines.iter().any(|l| l.starts_with("stw ")));
        assert!(lines.iter().any(|l| l.starts_with("stb ")));
        let mem = |disp| Mem {
            base: 0,
            index: None,
            disp,
            field: None,
        };
        let (wide, word) = (unsigned(8), unsigned(4));
        let signed_word = Width {
            signed: true,
            ..word
        };
        assert!(Powerpc64.mem_fits(&mem(-32768), wide) && Powerpc64.mem_fits(&mem(32764), wide));
        assert!(!Powerpc64.mem_fits(&mem(6), wide) && !Powerpc64.mem_fits(&mem(6), signed_word));
        assert!(Powerpc64.mem_fits(&mem(6), word) && !Powerpc64.mem_fits(&mem(32768), word));
        assert_eq!(
            Powerpc64.field_fits(&mem(0), wide, false).unwrap().multiple,
            4
        );
        assert_eq!(
            Powerpc64.field_fits(&mem(0), word, false).unwrap().multiple,
            1
        );
        let indexed = Mem {
            index: Some((1, 8)),
            ..mem(0)
        };
        assert!(!Powerpc64.mem_fits(&indexed, wide));
        assert!(Powerpc64.mem_fits(
            &Mem {
                index: Some((1, 1)),
                ..mem(0)
            },
            wide
        ));
    }

    #[test]
    fn a_shift_by_a_register_masks_its_count_to_63() {
        let lines = emit(quote!(|cpu| {
            in p: *mut u64 = q;
            in n: u64 = m;
            let v: u64 = *p;
            commit *p = v << n;
        }));
        let shift = lines.iter().position(|l| l.starts_with("sld ")).unwrap();
        assert!(
            lines[shift - 1].starts_with("clrldi {scratch}, ")
                && lines[shift - 1].ends_with(", 58")
        );
        assert!(lines[shift].ends_with(", {scratch}"));
    }

    #[test]
    fn release_commit_and_acquire_load_are_ordered_by_lwsync() {
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit(release) *p = 1; }));
        let store = lines.iter().rposition(|l| l.starts_with("std ")).unwrap();
        assert_eq!(lines[store - 1], "lwsync");
        assert_eq!(lines[store + 1], "5:");
        let lines = emit(quote!(|cpu| {
            in p: *mut u64 = q;
            let v: u64 = p.load_acquire();
            commit *p = v + 1;
        }));
        let load = lines.iter().position(|l| l.starts_with("ld ")).unwrap();
        assert_eq!(lines[load + 1], "lwsync");
        assert_eq!(lines.iter().filter(|l| *l == "lwsync").count(), 1);
    }
}
