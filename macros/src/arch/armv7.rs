//! armv7 backend: 32-bit Arm in the A32 (Arm) instruction set, as `armv7-unknown-linux-gnueabihf`
//! compiles (not Thumb: `thumbv7neon` targets get no backend).
//!
//! - Registers and pointers are 32 bits, as on i686 (64-bit values take no section; see
//!   `lower::wide_value`). `asm!` hands out r0..r5, r7..r10, r12 and lr: r6 is LLVM's base
//!   pointer and r11 the frame pointer.
//! - Addresses are `[base, #disp]` (12 bits for words and bytes, 8 bits for halfwords and
//!   signed bytes) or `[base, index, lsl #k]` (words and unsigned bytes); anything else is
//!   materialised by lowering with an `Inst::Lea`.
//! - ALU and compare immediates are taken as 0..=255 (a subset of Arm's rotated 8-bit
//!   immediates); larger values are built with `movw`/`movt`.
//! - A shift by a register takes its count modulo 256, not 32: the count is masked first.
//! - `commit(release)` is `dmb ish` then the store; `load_acquire()` the load then `dmb ish`.
//! - The descriptor's address is pc-relative, `movw`/`movt` of its distance from an `add`
//!   of `pc` (which reads 8 bytes ahead in Arm state): no relocation in `.text`.
//! - Branch layout as on aarch64: with `asm goto` conditional branches go to the label
//!   operands and the abort handler lives in `__rseq_failure`; with a status, stubs inline.

use super::{Cond, Isa, Layout, Printer, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL, DESCRIPTOR_LABEL};
use crate::lower::{AluOp, FieldLimit, Mem, Operand, Target, VReg, Width, RSEQ_CS_OFFSET};

pub struct Armv7;

/// glibc's and the kernel selftests' Arm `RSEQ_SIG` (`udf #24035` in Arm state), the word
/// before the abort label.
const SIGNATURE: u32 = 0xe7f5_def3;

const SCRATCH: &str = "{scratch}";

/// The label of the `add` that reads `pc` in the descriptor-address sequence.
const PC_LABEL: u32 = 7;

/// Whether an access of `width` uses the 8-bit-offset forms (`ldrh`, `strh`, `ldrsb`,
/// `ldrsh`), which take no shifted index either.
fn extended(width: Width) -> bool {
    width.bytes == 2 || (width.bytes == 1 && width.signed)
}

fn max_disp(width: Width) -> i64 {
    if extended(width) {
        255
    } else {
        4095
    }
}

fn is_imm8(value: i64) -> bool {
    (0..=255).contains(&value)
}

impl Target for Armv7 {
    fn name(&self) -> &'static str {
        "armv7"
    }

    fn word_bits(&self) -> u8 {
        32
    }

    /// r0..r5, r7, r8, r9, r10, r12 and lr.
    fn registers(&self) -> usize {
        12
    }

    fn imm_fits(&self, value: i64) -> bool {
        is_imm8(value)
    }

    fn mem_fits(&self, mem: &Mem, width: Width) -> bool {
        match mem.index {
            None => mem.disp.abs() <= max_disp(width),
            Some((_, scale)) => mem.disp == 0 && (scale == 1 || !extended(width)),
        }
    }

    /// `[base, #field]` alone.
    fn field_fits(&self, mem: &Mem, width: Width, _ordered: bool) -> Option<FieldLimit> {
        (mem.index.is_none() && mem.disp == 0).then_some(FieldLimit {
            max: max_disp(width) as u64,
            multiple: 1,
        })
    }

    /// `add dst, base, #field`: 0..=255 is always an Arm immediate.
    fn lea_field_limit(&self, _mem: &Mem) -> FieldLimit {
        FieldLimit {
            max: 255,
            multiple: 1,
        }
    }
}

fn r(p: &Printer, vreg: VReg) -> String {
    p.operand(vreg)
}

fn load_mnemonic(width: Width) -> &'static str {
    match (width.bytes, width.signed) {
        (1, false) => "ldrb",
        (1, true) => "ldrsb",
        (2, false) => "ldrh",
        (2, true) => "ldrsh",
        _ => "ldr",
    }
}

fn store_mnemonic(bytes: u8) -> &'static str {
    match bytes {
        1 => "strb",
        2 => "strh",
        _ => "str",
    }
}

fn unsigned(bytes: u8) -> Width {
    Width {
        bytes,
        signed: false,
    }
}

/// The address operand of an access that [`Target::mem_fits`] accepted.
fn mem(p: &Printer, mem: &Mem) -> String {
    let base = r(p, mem.base);
    if let Some(field) = mem.field {
        return format!("[{base}, #{{c{field}}}]");
    }
    match (mem.index, mem.disp) {
        (Some((index, 1)), _) => format!("[{base}, {}]", r(p, index)),
        (Some((index, scale)), _) => {
            format!("[{base}, {}, lsl #{}]", r(p, index), scale.trailing_zeros())
        }
        (None, 0) => format!("[{base}]"),
        (None, disp) => format!("[{base}, #{disp}]"),
    }
}

fn copy_reg(p: &mut Printer, dst: &str, src: &str) {
    if dst != src {
        p.line(format!("mov {dst}, {src}"));
    }
}

/// Puts `operand` into `dst`: `mov`/`mvn` of an 8-bit immediate, else `movw` and `movt`.
fn materialise(p: &mut Printer, dst: &str, operand: &Operand) {
    match operand {
        Operand::Reg(vreg) => {
            let src = r(p, *vreg);
            copy_reg(p, dst, &src);
        }
        Operand::Imm(value) => {
            let word = *value as u32;
            if is_imm8(i64::from(word)) {
                p.line(format!("mov {dst}, #{word}"));
            } else if is_imm8(i64::from(!word)) {
                p.line(format!("mvn {dst}, #{}", !word));
            } else {
                p.line(format!("movw {dst}, #{}", word & 0xffff));
                if word >> 16 != 0 {
                    p.line(format!("movt {dst}, #{}", word >> 16));
                }
            }
        }
        // A `const` operand is pasted as a decimal number.
        Operand::SizeOf(index) => {
            p.line(format!("movw {dst}, #(({{c{index}}}) & 0xffff)"));
            p.line(format!("movt {dst}, #(({{c{index}}}) >> 16)"));
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

/// `dst = src + value`: `add`/`sub` of an 8-bit immediate, else through the scratch register.
fn add_immediate(p: &mut Printer, dst: &str, src: &str, value: i64) {
    if value == 0 {
        copy_reg(p, dst, src);
    } else if is_imm8(value) {
        p.line(format!("add {dst}, {src}, #{value}"));
    } else if is_imm8(-value) {
        p.line(format!("sub {dst}, {src}, #{}", -value));
    } else {
        materialise(p, SCRATCH, &Operand::Imm(value));
        p.line(format!("add {dst}, {src}, {SCRATCH}"));
    }
}

impl Isa for Armv7 {
    fn pointer_bytes(&self) -> u8 {
        4
    }

    fn layout(&self, goto: bool) -> Layout {
        if goto {
            Layout::OutOfLine
        } else {
            Layout::Inline
        }
    }

    // The signature as a data word (a `udf`, never executed) before the abort label.
    fn signature(&self) -> Vec<String> {
        vec![format!("  .word {SIGNATURE:#010x}")]
    }

    fn condition(&self, cond: Cond) -> &'static str {
        match cond {
            Cond::Eq => "beq",
            Cond::Ne => "bne",
            Cond::Lt => "blt",
            Cond::Lo => "blo",
            Cond::Le => "ble",
            Cond::Ls => "bls",
            Cond::Gt => "bgt",
            Cond::Hi => "bhi",
            Cond::Ge => "bge",
            Cond::Hs => "bhs",
        }
    }

    fn jump(&self, target: &str) -> String {
        format!("b {target}")
    }

    fn set_status(&self, p: &mut Printer, status: usize) {
        p.line(format!("mov {SCRATCH}, #{status}"));
    }

    fn store_result(&self, p: &mut Printer, value: &Operand) {
        materialise(p, "{result}", value);
    }

    fn store_descriptor(&self, p: &mut Printer, area: VReg) {
        let distance = format!("({DESCRIPTOR_LABEL}b - ({PC_LABEL}f + 8))");
        p.line(format!("movw {SCRATCH}, #:lower16:{distance}"));
        p.line(format!("movt {SCRATCH}, #:upper16:{distance}"));
        p.label(PC_LABEL);
        p.line(format!("add {SCRATCH}, pc, {SCRATCH}"));
        let line = format!("str {SCRATCH}, [{}, #{RSEQ_CS_OFFSET}]", r(p, area));
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
        let line = format!("ldr {SCRATCH}, [{}, #{offset}]", r(p, area));
        p.line(line);
        let line = format!("cmp {SCRATCH}, {}", r(p, index));
        p.line(line);
        p.line(format!("bne {target}"));
    }

    fn compare_branch(&self, p: &mut Printer, cond: Cond, lhs: VReg, rhs: &Operand, target: &str) {
        let l = r(p, lhs);
        match rhs {
            Operand::Imm(value) if is_imm8(*value) => p.line(format!("cmp {l}, #{value}")),
            Operand::Imm(value) if is_imm8(-*value) => p.line(format!("cmn {l}, #{}", -*value)),
            _ => {
                let rhs = operand_reg(p, rhs);
                p.line(format!("cmp {l}, {rhs}"));
            }
        }
        p.line(format!("{} {target}", self.condition(cond)));
    }

    fn load(&self, p: &mut Printer, dst: VReg, mem: &Mem, width: Width, acquire: bool) {
        let line = format!(
            "{} {}, {}",
            load_mnemonic(width),
            r(p, dst),
            self::mem(p, mem)
        );
        p.line(line);
        if acquire {
            // No later load or store is performed before the load.
            p.line("dmb ish");
        }
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
        let d = r(p, dst);
        let base = r(p, mem.base);
        let mut from = match mem.index {
            Some((index, scale)) => {
                let index = r(p, index);
                match scale {
                    1 => p.line(format!("add {d}, {base}, {index}")),
                    _ => p.line(format!(
                        "add {d}, {base}, {index}, lsl #{}",
                        scale.trailing_zeros()
                    )),
                }
                d.clone()
            }
            None => base,
        };
        if let Some(field) = mem.field {
            p.line(format!("add {d}, {from}, #{{c{field}}}"));
            from = d.clone();
        }
        add_immediate(p, &d, &from, mem.disp);
    }

    fn alu(&self, p: &mut Printer, op: AluOp, dst: VReg, lhs: VReg, rhs: &Operand) {
        let d = r(p, dst);
        let l = r(p, lhs);
        match (op, rhs) {
            (AluOp::Add, Operand::Imm(value)) => add_immediate(p, &d, &l, *value),
            (AluOp::Sub, Operand::Imm(value)) if *value != i64::MIN => {
                add_immediate(p, &d, &l, -*value)
            }
            (AluOp::Mul, Operand::Imm(value))
                if *value > 0 && (*value as u64).is_power_of_two() =>
            {
                p.line(format!("lsl {d}, {l}, #{}", value.trailing_zeros()));
            }
            (AluOp::And | AluOp::Or | AluOp::Xor, Operand::Imm(value)) if is_imm8(*value) => {
                let mnemonic = match op {
                    AluOp::And => "and",
                    AluOp::Or => "orr",
                    _ => "eor",
                };
                p.line(format!("{mnemonic} {d}, {l}, #{value}"));
            }
            (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Imm(count)) => {
                let mnemonic = match op {
                    AluOp::Shl => "lsl",
                    AluOp::Shr => "lsr",
                    _ => "asr",
                };
                // Immediate counts are below the width (lowering masks them).
                match count & 31 {
                    0 => copy_reg(p, &d, &l),
                    count => p.line(format!("{mnemonic} {d}, {l}, #{count}")),
                }
            }
            (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Reg(count)) => {
                let mnemonic = match op {
                    AluOp::Shl => "lsl",
                    AluOp::Shr => "lsr",
                    _ => "asr",
                };
                // Rust's wrapping shift takes the count modulo 32; Arm's, modulo 256.
                let count = r(p, *count);
                p.line(format!("and {SCRATCH}, {count}, #31"));
                p.line(format!("{mnemonic} {d}, {l}, {SCRATCH}"));
            }
            _ => {
                let rhs = operand_reg(p, rhs);
                let mnemonic = match op {
                    AluOp::Add => "add",
                    AluOp::Sub => "sub",
                    AluOp::Mul => "mul",
                    AluOp::And => "and",
                    AluOp::Or => "orr",
                    AluOp::Xor => "eor",
                    AluOp::Shl => "lsl",
                    AluOp::Shr => "lsr",
                    AluOp::Sar => "asr",
                };
                p.line(format!("{mnemonic} {d}, {l}, {rhs}"));
            }
        }
    }

    fn not(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("mvn {}, {}", r(p, dst), r(p, src));
        p.line(line);
    }

    fn neg(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("rsb {}, {}, #0", r(p, dst), r(p, src));
        p.line(line);
    }

    fn extend(&self, p: &mut Printer, dst: VReg, src: VReg, width: Width) {
        let (d, s) = (r(p, dst), r(p, src));
        let mnemonic = match (width.bytes, width.signed) {
            (1, false) => "uxtb",
            (2, false) => "uxth",
            (1, true) => "sxtb",
            (2, true) => "sxth",
            _ => return copy_reg(p, &d, &s),
        };
        p.line(format!("{mnemonic} {d}, {s}"));
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
        let address = self::mem(p, mem);
        let value = if add {
            // Load, add, then the committing store as the last instruction.
            let load = load_mnemonic(unsigned(width.bytes));
            p.line(format!("{load} {SCRATCH}, {address}"));
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
            p.line("dmb ish");
        }
        p.line(format!(
            "{} {value}, {address}",
            store_mnemonic(width.bytes)
        ));
    }

    fn spin_enter(&self, p: &mut Printer, counter: VReg) {
        let c = r(p, counter);
        p.line(format!("add {c}, {c}, #1"));
    }

    fn spin_step(&self, p: &mut Printer, counter: VReg, label: &str) {
        let c = r(p, counter);
        p.line(format!("subs {c}, {c}, #1"));
        p.line(format!("bne {label}"));
    }

    fn copy_chunk_max(&self) -> u8 {
        4
    }

    // `copy` is at most 256 bytes: every offset fits the 8-bit halfword forms too.
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
        let at = |base: &str| match offset {
            0 => format!("[{base}]"),
            _ => format!("[{base}, #{offset}]"),
        };
        p.line(format!(
            "{} {t}, {}",
            load_mnemonic(unsigned(bytes)),
            at(&from)
        ));
        p.line(format!("{} {t}, {}", store_mnemonic(bytes), at(&to)));
    }

    // `len` counts down by 4 while 4 or more bytes are left; post-indexed loads and stores
    // advance `src` and `dst`, the loop's own registers.
    fn copy_word_loop(&self, p: &mut Printer, dst: VReg, src: VReg, len: VReg, scratch: VReg) {
        let (d, s, n, t) = (r(p, dst), r(p, src), r(p, len), r(p, scratch));
        let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
        p.line(format!("cmp {n}, #4"));
        p.line(format!("blo {tail}f"));
        p.label(word);
        p.line(format!("ldr {t}, [{s}], #4"));
        p.line(format!("str {t}, [{d}], #4"));
        p.line(format!("sub {n}, {n}, #4"));
        p.line(format!("cmp {n}, #4"));
        p.line(format!("bhs {word}b"));
    }

    fn copy_tail_test(&self, p: &mut Printer, len: VReg, _scratch: VReg, bytes: u8, skip: u32) {
        let n = r(p, len);
        p.line(format!("tst {n}, #{bytes}"));
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
        if advance {
            p.line(format!("{load} {t}, [{s}], #{bytes}"));
            p.line(format!("{store} {t}, [{d}], #{bytes}"));
        } else {
            p.line(format!("{load} {t}, [{s}]"));
            p.line(format!("{store} {t}, [{d}]"));
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
        let (_, lowered) = compile_section(tokens, &Armv7, Instrumentation::default()).unwrap();
        Armv7.emit(&lowered)
    }

    #[test]
    fn signature_word_is_right_before_the_abort_label() {
        let lines = emit(quote!(|cpu| { in p: *mut usize = q; commit *p += 1; }));
        let abort = lines.iter().position(|l| l == "6:").unwrap();
        assert_eq!(lines[abort - 1], "  .word 0xe7f5def3");
        assert!(lines.contains(&"  .long 4f, 0, (5f - 4f), 0, 6f, 0".to_string()));
    }

    #[test]
    fn a_shift_by_a_register_masks_its_count() {
        let lines = emit(quote!(|cpu| {
            in p: *mut u32 = q;
            in n: u32 = m;
            let v: u32 = *p;
            commit *p = v << n;
        }));
        let shift = lines.iter().position(|l| l.starts_with("lsl ")).unwrap();
        assert!(
            lines[shift - 1].starts_with("and {scratch}, ") && lines[shift - 1].ends_with("#31")
        );
    }

    #[test]
    fn release_commit_is_a_barrier_then_the_store() {
        let lines = emit(quote!(|cpu| { in p: *mut usize = q; commit(release) *p = 1; }));
        let store = lines.iter().rposition(|l| l.starts_with("str ")).unwrap();
        assert_eq!(lines[store - 1], "dmb ish");
        assert_eq!(lines[store + 1], "5:");
    }

    #[test]
    fn immediates_outside_eight_bits_are_built_with_movw_movt() {
        let lines = emit(quote!(|cpu| { in p: *mut usize = q; commit *p = 0x12345678; }));
        // 0x12345678: its low half, then its high half.
        let movw = lines
            .iter()
            .position(|l| l.starts_with("movw {s") && l.ends_with("#22136"))
            .expect("a movw of the low half");
        assert!(lines[movw + 1].starts_with("movt {s") && lines[movw + 1].ends_with("#4660"));
    }
}
