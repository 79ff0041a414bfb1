//! s390x backend (z/Architecture, the GNU assembler syntax of `asm!`; z10, the target's
//! baseline: `lgfi`/`agfi`/`msgfi` and the long-displacement forms).
//!
//! - Addresses are `disp(index, base)` with a 20-bit signed displacement (the `...y` and
//!   `...g` forms) and an unscaled index; a scaled index or a larger displacement is
//!   materialised by lowering with an `Inst::Lea` ([`Target::mem_fits`]). `r0` as a base
//!   or index reads as zero, so every register the section names comes from `asm!`'s
//!   `reg_addr` class ([`Target::register_class`]): r1..r10, r12..r14.
//! - Two-operand arithmetic (`agr d, r`: `d += r`): a result in another register than its
//!   left operand starts with a copy; shifts (`sllg d, l, 0(r)`) have three operands.
//! - Immediates: 16-bit (`lghi`, `aghi`, `cghi`) or 32-bit signed (`lgfi`, `agfi`, `cgfi`).
//! - The memory model is TSO: a release store and an acquire load are plain accesses (the
//!   kernel selftests' `rseq-s390.h`: "s390 is TSO"; LLVM's SystemZ atomics do the same).
//!
//! Branches are a compare and a `jg<cond>` (`brcl`, +-4 GiB), which reaches the label
//! operands and `__rseq_failure` wherever the linker puts them, so the layout is x86's
//! ([`Layout::OutOfLine`]): the committed path falls through, and the abort handler sits in
//! `__rseq_failure` after the signature, which is emitted as in `rseq-s390.h`: `.long
//! 0xB2FF0FFF` right before the abort label. s390x is big-endian: `.long` writes the
//! bytes b2 ff 0f ff (`trap4 4095(%r0)`), which the kernel reads back as a u32 in the
//! process's byte order and compares with the registered `0xB2FF0FFF`. The descriptor's
//! and the tables' `.long`/`.quad` fields are big-endian the same way, as the kernel
//! reads them.

use super::{Cond, Isa, Layout, Printer, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL, DESCRIPTOR_LABEL};
use crate::lower::{AluOp, FieldLimit, Mem, Operand, Target, VReg, Width, RSEQ_CS_OFFSET};

pub struct S390x;

/// glibc's (`sysdeps/unix/sysv/linux/s390/bits/rseq.h`) and the kernel selftests' s390
/// `RSEQ_SIG`: `trap4 4095(%r0)`, a special-operation exception under Linux.
const SIGNATURE: u32 = 0xb2ff_0fff;

const SCRATCH: &str = "{scratch}";

fn is_simm16(value: i64) -> bool {
    i16::try_from(value).is_ok()
}

fn is_simm32(value: i64) -> bool {
    i32::try_from(value).is_ok()
}

fn is_disp20(disp: i64) -> bool {
    (-(1 << 19)..1 << 19).contains(&disp)
}

impl Target for S390x {
    fn name(&self) -> &'static str {
        "s390x"
    }

    /// `reg_addr`: r1..r10, r12..r14. `asm!` never hands out r11 (the frame pointer) nor
    /// r15 (the stack pointer), and `reg_addr` leaves out r0.
    fn registers(&self) -> usize {
        13
    }

    fn register_class(&self) -> &'static str {
        "reg_addr"
    }

    /// 32-bit signed, either sign (`x - v` is `agfi x, -v`).
    fn imm_fits(&self, value: i64) -> bool {
        value != i64::from(i32::MIN) && is_simm32(value)
    }

    fn mem_fits(&self, mem: &Mem, _width: Width) -> bool {
        matches!(mem.index, None | Some((_, 1))) && is_disp20(mem.disp)
    }

    fn field_fits(&self, mem: &Mem, _width: Width, _ordered: bool) -> Option<FieldLimit> {
        (matches!(mem.index, None | Some((_, 1))) && mem.disp == 0)
            .then(|| self.lea_field_limit(mem))
    }

    /// `lay dst, field(index, base)`: the 20-bit signed displacement.
    fn lea_field_limit(&self, _mem: &Mem) -> FieldLimit {
        FieldLimit {
            max: (1 << 19) - 1,
            multiple: 1,
        }
    }
}

fn r(p: &Printer, vreg: VReg) -> String {
    p.operand(vreg)
}

/// `disp(index, base)`, or `disp(base)`.
fn address(disp: &str, index: Option<&str>, base: &str) -> String {
    match index {
        Some(index) => format!("{disp}({index},{base})"),
        None => format!("{disp}({base})"),
    }
}

/// The address operand of a memory access that [`Target::mem_fits`] accepted.
fn mem(p: &Printer, mem: &Mem) -> String {
    debug_assert!(S390x.mem_fits(mem, unsigned(8)));
    let disp = match mem.field {
        Some(field) => format!("{{c{field}}}"),
        None => mem.disp.to_string(),
    };
    let index = mem.index.map(|(index, _)| r(p, index));
    address(&disp, index.as_deref(), &r(p, mem.base))
}

/// Loads of every width write all 64 bits, zero- or sign-extending.
fn load_mnemonic(width: Width) -> &'static str {
    match (width.bytes, width.signed) {
        (1, false) => "llgc",
        (1, true) => "lgb",
        (2, false) => "llgh",
        (2, true) => "lgh",
        (4, false) => "llgf",
        (4, true) => "lgf",
        _ => "lg",
    }
}

fn store_mnemonic(bytes: u8) -> &'static str {
    match bytes {
        1 => "stcy",
        2 => "sthy",
        4 => "sty",
        _ => "stg",
    }
}

fn unsigned(bytes: u8) -> Width {
    Width {
        bytes,
        signed: false,
    }
}

fn copy_reg(p: &mut Printer, dst: &str, src: &str) {
    if dst != src {
        p.line(format!("lgr {dst}, {src}"));
    }
}

/// Puts the value of `operand` into the register `dst`.
fn materialise(p: &mut Printer, dst: &str, operand: &Operand) {
    match operand {
        Operand::Reg(vreg) => {
            let src = r(p, *vreg);
            copy_reg(p, dst, &src);
        }
        Operand::Imm(value) => {
            let (high, low) = ((*value as u64) >> 32, *value as u64 & 0xffff_ffff);
            if is_simm16(*value) {
                p.line(format!("lghi {dst}, {value}"));
            } else if is_simm32(*value) {
                p.line(format!("lgfi {dst}, {value}"));
            } else if high == 0 {
                p.line(format!("llilf {dst}, {low}"));
            } else {
                // The high word, the low one cleared; then the low word.
                p.line(format!("llihf {dst}, {high}"));
                if low != 0 {
                    p.line(format!("oilf {dst}, {low}"));
                }
            }
        }
        // A `const` operand is pasted as a decimal number: a word at a time.
        Operand::SizeOf(index) => {
            let c = format!("{{c{index}}}");
            p.line(format!("llihf {dst}, (({c}) >> 32) & 0xffffffff"));
            p.line(format!("oilf {dst}, ({c}) & 0xffffffff"));
        }
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

/// `dst += value`.
fn add_immediate(p: &mut Printer, dst: &str, value: i64) {
    if value == 0 {
        return;
    }
    if is_simm16(value) {
        p.line(format!("aghi {dst}, {value}"));
    } else if is_simm32(value) {
        p.line(format!("agfi {dst}, {value}"));
    } else {
        materialise(p, SCRATCH, &Operand::Imm(value));
        p.line(format!("agr {dst}, {SCRATCH}"));
    }
}

impl Isa for S390x {
    fn layout(&self, _goto: bool) -> Layout {
        Layout::OutOfLine
    }

    // `.balign 2`: `__rseq_failure` would otherwise have byte alignment, and instructions
    // (the stubs, the abort handler) need even addresses. Every piece is even-sized, so it
    // pads nothing between the word and the label.
    fn signature(&self) -> Vec<String> {
        vec![
            "  .balign 2".to_string(),
            format!("  .long {SIGNATURE:#010x}"),
        ]
    }

    fn condition(&self, cond: Cond) -> &'static str {
        // The condition code of `cgr`/`clgr`: equal, first low, first high.
        match cond {
            Cond::Eq => "jge",
            Cond::Ne => "jgne",
            Cond::Lt | Cond::Lo => "jgl",
            Cond::Le | Cond::Ls => "jgle",
            Cond::Gt | Cond::Hi => "jgh",
            Cond::Ge | Cond::Hs => "jghe",
        }
    }

    fn jump(&self, target: &str) -> String {
        format!("jg {target}")
    }

    fn set_status(&self, p: &mut Printer, status: usize) {
        p.line(format!("lghi {SCRATCH}, {status}"));
    }

    fn store_result(&self, p: &mut Printer, value: &Operand) {
        materialise(p, "{result}", value);
    }

    fn store_descriptor(&self, p: &mut Printer, area: VReg) {
        // `larl`: pc-relative, position-independent with no GOT, as in `rseq-s390.h`.
        p.line(format!("larl {SCRATCH}, {DESCRIPTOR_LABEL}b"));
        let line = format!("stg {SCRATCH}, {RSEQ_CS_OFFSET}({})", r(p, area));
        p.line(line);
    }

    fn branch_if_index_moved(
        &self,
        p: &mut Printer,
        area: VReg,
        offset: u32,
        index: VReg,
        target: &str,
    ) {
        // `c`: the low 32 bits of the register (the zero-extended index) with the field.
        let line = format!("c {}, {offset}({})", r(p, index), r(p, area));
        p.line(line);
        p.line(format!("jgne {target}"));
    }

    fn compare_branch(&self, p: &mut Printer, cond: Cond, lhs: VReg, rhs: &Operand, target: &str) {
        let l = r(p, lhs);
        let unsigned = matches!(cond, Cond::Lo | Cond::Ls | Cond::Hi | Cond::Hs);
        match rhs {
            Operand::Imm(value) if !unsigned && is_simm16(*value) => {
                p.line(format!("cghi {l}, {value}"))
            }
            Operand::Imm(value) if !unsigned && is_simm32(*value) => {
                p.line(format!("cgfi {l}, {value}"))
            }
            Operand::Imm(value) if unsigned && u32::try_from(*value).is_ok() => {
                p.line(format!("clgfi {l}, {value}"))
            }
            _ => {
                let rhs = operand_reg(p, rhs);
                let mnemonic = if unsigned { "clgr" } else { "cgr" };
                p.line(format!("{mnemonic} {l}, {rhs}"));
            }
        }
        p.line(format!("{} {target}", self.condition(cond)));
    }

    // Acquire: a plain load under TSO.
    fn load(&self, p: &mut Printer, dst: VReg, mem: &Mem, width: Width, _acquire: bool) {
        let line = format!(
            "{} {}, {}",
            load_mnemonic(width),
            r(p, dst),
            self::mem(p, mem)
        );
        p.line(line);
    }

    fn store(&self, p: &mut Printer, mem: &Mem, src: &Operand, width: Width) {
        let src = operand_reg(p, src);
        let line = format!(
            "{} {src}, {}",
            store_mnemonic(width.bytes),
            self::mem(p, mem)
        );
        p.line(line);
    }

    fn mov(&self, p: &mut Printer, dst: VReg, src: &Operand) {
        let dst = r(p, dst);
        materialise(p, &dst, src);
    }

    fn lea(&self, p: &mut Printer, dst: VReg, mem: &Mem) {
        let (d, base) = (r(p, dst), r(p, mem.base));
        // A scaled index goes through the scratch register (the hardware does not scale).
        let index = mem.index.map(|(index, scale)| {
            let index = r(p, index);
            if scale == 1 {
                return index;
            }
            let shift = scale.trailing_zeros();
            p.line(format!("sllg {SCRATCH}, {index}, {shift}"));
            SCRATCH.to_string()
        });
        let (disp, rest) = match mem.field {
            Some(field) => (format!("{{c{field}}}"), mem.disp),
            None if is_disp20(mem.disp) => (mem.disp.to_string(), 0),
            None => ("0".to_string(), mem.disp),
        };
        if index.is_none() && disp == "0" {
            copy_reg(p, &d, &base);
        } else {
            // `la` takes a 12-bit unsigned displacement, `lay` a 20-bit signed one.
            let short = disp
                .parse::<i64>()
                .is_ok_and(|disp| (0..4096).contains(&disp));
            let mnemonic = if short { "la" } else { "lay" };
            p.line(format!(
                "{mnemonic} {d}, {}",
                address(&disp, index.as_deref(), &base)
            ));
        }
        add_immediate(p, &d, rest);
    }

    fn alu(&self, p: &mut Printer, op: AluOp, dst: VReg, lhs: VReg, rhs: &Operand) {
        let (d, l) = (r(p, dst), r(p, lhs));
        let shift = match op {
            AluOp::Shl => Some("sllg"),
            AluOp::Shr => Some("srlg"),
            AluOp::Sar => Some("srag"),
            _ => None,
        };
        match (op, rhs, shift) {
            // Three operands; the count is the address `disp(base)`, taken modulo 64.
            (_, Operand::Imm(count), Some(shift)) => {
                p.line(format!("{shift} {d}, {l}, {}", count & 63));
            }
            (_, _, Some(shift)) => {
                let count = operand_reg(p, rhs);
                p.line(format!("{shift} {d}, {l}, 0({count})"));
            }
            (AluOp::Mul, Operand::Imm(value), _)
                if *value > 0 && (*value as u64).is_power_of_two() =>
            {
                p.line(format!("sllg {d}, {l}, {}", value.trailing_zeros()));
            }
            (AluOp::Add | AluOp::Sub, Operand::Imm(value), _) => {
                copy_reg(p, &d, &l);
                let value = if op == AluOp::Sub {
                    value.wrapping_neg()
                } else {
                    *value
                };
                add_immediate(p, &d, value);
            }
            (AluOp::Mul, Operand::Imm(value), _) if is_simm32(*value) => {
                copy_reg(p, &d, &l);
                p.line(format!("msgfi {d}, {value}"));
            }
            _ => {
                let rhs = operand_reg(p, rhs);
                let mnemonic = match op {
                    AluOp::Add => "agr",
                    AluOp::Sub => "sgr",
                    AluOp::Mul => "msgr",
                    AluOp::And => "ngr",
                    AluOp::Or => "ogr",
                    _ => "xgr",
                };
                if d == rhs && d != l {
                    // `d = l op d`: commutative, or `-(d - l)` for a subtraction.
                    if op == AluOp::Sub {
                        p.line(format!("lcgr {d}, {d}"));
                        p.line(format!("agr {d}, {l}"));
                    } else {
                        p.line(format!("{mnemonic} {d}, {l}"));
                    }
                    return;
                }
                copy_reg(p, &d, &l);
                p.line(format!("{mnemonic} {d}, {rhs}"));
            }
        }
    }

    fn not(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let (d, s) = (r(p, dst), r(p, src));
        copy_reg(p, &d, &s);
        p.line(format!("xihf {d}, 4294967295"));
        p.line(format!("xilf {d}, 4294967295"));
    }

    fn neg(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("lcgr {}, {}", r(p, dst), r(p, src));
        p.line(line);
    }

    fn extend(&self, p: &mut Printer, dst: VReg, src: VReg, width: Width) {
        let (d, s) = (r(p, dst), r(p, src));
        let mnemonic = match (width.bytes, width.signed) {
            (1, false) => "llgcr",
            (1, true) => "lgbr",
            (2, false) => "llghr",
            (2, true) => "lghr",
            (4, false) => "llgfr",
            (4, true) => "lgfr",
            _ => return copy_reg(p, &d, &s),
        };
        p.line(format!("{mnemonic} {d}, {s}"));
    }

    // Release: the plain store, under TSO.
    fn commit(
        &self,
        p: &mut Printer,
        mem: &Mem,
        src: &Operand,
        width: Width,
        add: bool,
        _release: bool,
    ) {
        let address = self::mem(p, mem);
        let value = if add {
            let load = load_mnemonic(unsigned(width.bytes));
            p.line(format!("{load} {SCRATCH}, {address}"));
            match src {
                // Lowering keeps only `imm_fits` immediates: one `aghi`/`agfi`.
                Operand::Imm(value) => add_immediate(p, SCRATCH, *value),
                Operand::Reg(vreg) => {
                    let line = format!("agr {SCRATCH}, {}", r(p, *vreg));
                    p.line(line);
                }
                Operand::SizeOf(_) => unreachable!("lowering never commits a size operand"),
            }
            SCRATCH.to_string()
        } else {
            operand_reg(p, src)
        };
        p.line(format!(
            "{} {value}, {address}",
            store_mnemonic(width.bytes)
        ));
    }

    fn spin_enter(&self, p: &mut Printer, counter: VReg) {
        let line = format!("aghi {}, 1", r(p, counter));
        p.line(line);
    }

    fn spin_step(&self, p: &mut Printer, counter: VReg, label: &str) {
        // Decrement, and branch while not zero.
        let line = format!("brctg {}, {label}", r(p, counter));
        p.line(line);
    }

    // 8 bytes at a time, then 4, 2, 1, through the `scratch` slot; `copy` is at most 256
    // bytes, within the displacement. No alignment needed.
    fn copy_chunk(
        &self,
        p: &mut Printer,
        dst: VReg,
        src: VReg,
        scratch: VReg,
        offset: i64,
        bytes: u8,
    ) {
        let (to, from, temp) = (r(p, dst), r(p, src), r(p, scratch));
        let load = load_mnemonic(unsigned(bytes));
        p.line(format!("{load} {temp}, {offset}({from})"));
        p.line(format!("{} {temp}, {offset}({to})", store_mnemonic(bytes)));
    }

    fn copy_word_loop(&self, p: &mut Printer, dst: VReg, src: VReg, len: VReg, scratch: VReg) {
        let (d, s, n, t) = (r(p, dst), r(p, src), r(p, len), r(p, scratch));
        let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
        p.label(word);
        p.line(format!("clgfi {n}, 8"));
        p.line(format!("jl {tail}f"));
        p.line(format!("lg {t}, 0({s})"));
        p.line(format!("stg {t}, 0({d})"));
        p.line(format!("la {s}, 8({s})"));
        p.line(format!("la {d}, 8({d})"));
        p.line(format!("aghi {n}, -8"));
        p.line(format!("j {word}b"));
    }

    // `tmll`: condition code 0 when the tested bits are all zero.
    fn copy_tail_test(&self, p: &mut Printer, len: VReg, _scratch: VReg, bytes: u8, skip: u32) {
        let n = r(p, len);
        p.line(format!("tmll {n}, {bytes}"));
        p.line(format!("jz {skip}f"));
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
        let load = load_mnemonic(unsigned(bytes));
        p.line(format!("{load} {t}, 0({s})"));
        p.line(format!("{} {t}, 0({d})", store_mnemonic(bytes)));
        if advance {
            p.line(format!("la {s}, {bytes}({s})"));
            p.line(format!("la {d}, {bytes}({d})"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Backend;
    use crate::expand::compile_section;
    use crate::lower::Instrumentation;
    use quote::quote;

    fn emit(tokens: proc_macro2::TokenStream) -> Vec<String> {
        let (_, lowered) = compile_section(tokens, &S390x, Instrumentation::default()).unwrap();
        S390x.emit(&lowered)
    }

    fn has(lines: &[String], line: &str) -> bool {
        lines.iter().any(|l| l == line)
    }

    #[test]
    fn descriptor_is_64_bit_and_stored_pc_relative() {
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }));
        assert!(has(&lines, "  .long 0, 0"));
        assert!(has(&lines, "  .quad 4f, (5f - 4f), 6f"));
        let store = lines
            .iter()
            .position(|l| l == "larl {scratch}, 3b")
            .unwrap();
        assert_eq!(lines[store + 1], "stg {scratch}, 8({s0})");
        assert_eq!(lines[store + 2], "4:");
        // The index check: the 32-bit `cpu_id` field, then a branch that reaches anywhere.
        assert_eq!(lines[store + 3], "c {s1}, 4({s0})");
        assert_eq!(lines[store + 4], "jgne {abort}");
    }

    #[test]
    fn signature_word_is_right_before_the_abort_label_out_of_line() {
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }));
        let abort = lines.iter().position(|l| l == "6:").unwrap();
        assert_eq!(lines[abort - 1], "  .long 0xb2ff0fff");
        assert_eq!(lines[abort - 2], "  .balign 2");
        assert_eq!(lines[abort - 3], "  .pushsection __rseq_failure, \"ax\"");
        assert_eq!(lines[abort + 1], "jg {abort}");
        // The committed path falls through: the commit is right before the post-commit label.
        let post = lines.iter().position(|l| l == "5:").unwrap();
        assert_eq!(lines[post - 1], "stg {scratch}, 0({s2})");
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
    fn register_budget_is_reg_addr() {
        // area, index and scratch besides the inputs: ten fit in thirteen registers.
        let fits = compile_section(section_with_inputs(10), &S390x, Instrumentation::default());
        assert!(fits.is_ok(), "10 inputs fit in 13 registers");
        let error =
            match compile_section(section_with_inputs(11), &S390x, Instrumentation::default()) {
                Ok(_) => panic!("11 inputs need 14 registers"),
                Err(error) => error.to_string(),
            };
        assert!(error.contains("`asm!` on s390x offers 13"), "{error}");
        // Every operand of the s390x arm comes from `reg_addr` (never r0), the other
        // backends' from `reg`.
        let expansion = crate::expand::rseq(quote!(|cpu| {
            in p: *mut u64 = q;
            in n: u64 = m;
            let v: u64 = *p;
            if v == 0 { exit v; }
            commit *p = v + n;
        }))
        .to_string();
        let arm = expansion.split("s390x =>").nth(1).unwrap();
        // The arm ends where the next backend's (or the `none` arm) begins.
        let next_arm = super::super::BACKENDS
            .iter()
            .map(|(name, _)| format!("{name} =>"))
            .chain(["none =>".to_string()])
            .filter_map(|marker| arm.find(&marker))
            .min()
            .unwrap();
        let arm = &arm[..next_arm];
        assert!(arm.contains("s0 = in (reg_addr)"), "{arm}");
        assert!(arm.contains("scratch = out (reg_addr)"), "{arm}");
        assert!(arm.contains("result = out (reg_addr)"), "{arm}");
        assert!(!arm.contains("(reg)"), "{arm}");
        assert!(expansion.contains("s0 = in (reg)"), "{expansion}");
    }

    #[test]
    fn immediates_beyond_32_bits_go_through_a_register() {
        for value in [-(1 << 31) + 1, -1, 0, (1 << 31) - 1] {
            assert!(S390x.imm_fits(value), "{value}");
        }
        for value in [-(1 << 31), 1 << 31, i64::MIN, i64::MAX] {
            assert!(!S390x.imm_fits(value), "{value}");
        }
        let lines = emit(quote!(|cpu| {
            in p: *mut u64 = q;
            let v: u64 = *p;
            if v > 0x1_0000_0005 { exit; }
            commit *p = v + 0x7fff_0000;
        }));
        // 16 bits: `aghi`; 32: `agfi`; 64: `llihf` + `oilf`, then a register compare.
        let high = lines.iter().position(|l| l.starts_with("llihf")).unwrap();
        assert!(lines[high].ends_with(", 1"), "{}", lines[high]);
        assert!(lines[high + 1].starts_with("oilf") && lines[high + 1].ends_with(", 5"));
        assert!(lines[high + 2].starts_with("clgr"), "{}", lines[high + 2]);
        assert!(lines[high + 3].starts_with("jgh "), "{}", lines[high + 3]);
        assert!(lines
            .iter()
            .any(|l| l.starts_with("agfi") && l.ends_with(", 2147418112")));
    }

    #[test]
    fn displacements_are_20_bit_signed_and_indexes_unscaled() {
        let mem = |index: Option<(usize, u8)>, disp| Mem {
            base: 0,
            index,
            disp,
            field: None,
        };
        let width = unsigned(8);
        assert!(S390x.mem_fits(&mem(None, -(1 << 19)), width));
        assert!(S390x.mem_fits(&mem(Some((1, 1)), (1 << 19) - 1), width));
        assert!(!S390x.mem_fits(&mem(None, 1 << 19), width));
        assert!(!S390x.mem_fits(&mem(None, -(1 << 19) - 1), width));
        assert!(!S390x.mem_fits(&mem(Some((1, 8)), 0), width));
    }

    #[test]
    fn widths_load_extended_and_store_narrow() {
        let lines = emit(quote!(|cpu| {
            in b: *mut u8 = b;
            in w: *mut i16 = w;
            let x: u8 = *b;
            let s: i16 = *w;
            if s >= 0 { exit; }
            store *b.add(1) = x + 10;
            commit *w = s * 3;
        }));
        assert!(lines.iter().any(|l| l.starts_with("llgc ")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("lgh ")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("stcy ")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("sthy ")), "{lines:?}");
        // The signed compare of a sign-extended value.
        assert!(lines.iter().any(|l| l.starts_with("cghi ")), "{lines:?}");
    }

    #[test]
    fn release_and_acquire_are_plain_accesses_under_tso() {
        let lines = emit(quote!(|cpu| {
            in len_p: *mut usize = lens;
            in flag: *const u32 = flag;
            let stopped: u32 = flag.load_acquire();
            if stopped != 0 { exit; }
            let len: usize = *len_p;
            commit(release) *len_p = len + 1;
        }));
        // No serialisation (`bcr 14,0`/`bcr 15,0`): a load before the exit, a store last.
        assert!(!lines.iter().any(|l| l.starts_with("bcr")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("llgf ")), "{lines:?}");
        let post = lines.iter().position(|l| l == "5:").unwrap();
        assert!(lines[post - 1].starts_with("stg "), "{}", lines[post - 1]);
    }
}
