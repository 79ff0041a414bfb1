//! riscv64 backend (the GNU assembler syntax of `asm!` on RISC-V, RV64GC).
//!
//! Shaped like the aarch64 backend, with the differences that follow from the ISA:
//!
//! - The only addressing mode is `disp(base)` with a 12-bit signed displacement; an index
//!   or a larger displacement is materialised by lowering with an `Inst::Lea`
//!   ([`Target::mem_fits`]). A release commit is a plain store after `fence rw,w`, and
//!   an acquire load a plain load before `fence r,rw`, so both take the same addresses
//!   as any store or load.
//! - ALU immediates (`addi`, `andi`, `ori`, `xori`) are 12-bit signed; this backend accepts
//!   the symmetric range `-2047..=2047` so that `x - v` is `addi x, -v` ([`Target::imm_fits`]).
//!   Branches compare two registers: zero is the `zero` register, another immediate goes
//!   through the scratch register with `li`.
//! - No flags: a compare-and-branch is one instruction (`beq`, `bltu`, ...).
//! - Narrow values are re-normalised with shift pairs (`slli` + `srli`/`srai`), or
//!   `andi`/`sext.w` where one instruction does it (RV64GC has no Zba/Zbb).
//! - The `scratch` operand is this backend's scratch register, as on aarch64.
//!
//! Conditional branches reach only +-4 KiB, so they go to stubs that follow the section
//! inline (skipped by one jump on the committed path), and the stubs `j` (+-1 MiB) on to
//! the expansion's label operands: the abort handler, each exit (which stores its value
//! first when it is a register) and each compare-twice check. The signature word is 4-byte aligned right before the
//! abort label, as in the kernel selftests' `rseq-riscv.h` (`.balign 4` then the word:
//! with the C extension instructions are only 2-byte aligned).

use super::{Cond, Isa, Layout, Printer, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL, DESCRIPTOR_LABEL};
use crate::lower::{AluOp, FieldLimit, Mem, Operand, Target, VReg, Width, RSEQ_CS_OFFSET};

pub struct Riscv64;

/// glibc's and the kernel selftests' riscv `RSEQ_SIG` (`csrw mhartid, x0`: an illegal
/// instruction in user mode), emitted as a data word before the abort label.
const SIGNATURE: u32 = 0xf140_1073;

/// The scratch register of this backend (see the module docs).
const SCRATCH: &str = "{scratch}";

/// Whether `value` fits a 12-bit signed immediate and so does its negation.
fn is_simm12(value: i64) -> bool {
    (-2047..=2047).contains(&value)
}

/// Whether `disp` fits the 12-bit signed displacement of a load or store.
fn is_disp12(disp: i64) -> bool {
    (-2048..=2047).contains(&disp)
}

impl Target for Riscv64 {
    fn name(&self) -> &'static str {
        "riscv64"
    }

    /// `asm!`'s `reg` class on riscv64: x1 (ra), x5..x7, x10..x31. Never zero, sp, gp, tp,
    /// the frame pointer x8, nor x9 (s1), which LLVM keeps for itself.
    fn registers(&self) -> usize {
        26
    }

    fn imm_fits(&self, value: i64) -> bool {
        is_simm12(value)
    }

    fn mem_fits(&self, mem: &Mem, _width: Width) -> bool {
        mem.index.is_none() && is_disp12(mem.disp)
    }

    /// `field(base)` alone: a 12-bit signed displacement.
    fn field_fits(&self, mem: &Mem, _width: Width, _ordered: bool) -> Option<FieldLimit> {
        (mem.index.is_none() && mem.disp == 0).then(|| self.lea_field_limit(mem))
    }

    /// `addi dst, base, field`: a 12-bit signed immediate.
    fn lea_field_limit(&self, _mem: &Mem) -> FieldLimit {
        FieldLimit {
            max: 2047,
            multiple: 1,
        }
    }
}

/// Load mnemonic for `width`: every load writes all 64 bits, sign- or zero-extending.
fn load_mnemonic(width: Width) -> &'static str {
    match (width.bytes, width.signed) {
        (1, false) => "lbu",
        (1, true) => "lb",
        (2, false) => "lhu",
        (2, true) => "lh",
        (4, false) => "lwu",
        (4, true) => "lw",
        _ => "ld",
    }
}

fn store_mnemonic(bytes: u8) -> &'static str {
    match bytes {
        1 => "sb",
        2 => "sh",
        4 => "sw",
        _ => "sd",
    }
}

fn unsigned(bytes: u8) -> Width {
    Width {
        bytes,
        signed: false,
    }
}

/// `disp(base)`.
fn address(base: &str, disp: i64) -> String {
    format!("{disp}({base})")
}

fn x(p: &Printer, vreg: VReg) -> String {
    format!("{{s{}}}", p.slot(vreg))
}

/// The address operand of a memory access that [`Target::mem_fits`] accepted.
fn mem(p: &Printer, mem: &Mem) -> String {
    debug_assert!(mem.index.is_none() && is_disp12(mem.disp));
    match mem.field {
        Some(field) => format!("{{c{field}}}({})", x(p, mem.base)),
        None => address(&x(p, mem.base), mem.disp),
    }
}

/// `mv dst, src` unless both live in the same slot.
fn copy_reg(p: &mut Printer, dst: &str, src: &str) {
    if dst != src {
        p.line(format!("mv {dst}, {src}"));
    }
}

/// Puts the value of `operand` into the register `dst`.
fn materialise(p: &mut Printer, dst: &str, operand: &Operand) {
    match operand {
        Operand::Reg(vreg) => {
            let src = x(p, *vreg);
            copy_reg(p, dst, &src);
        }
        // `li` expands to the shortest lui/addi(w)/slli sequence for any 64-bit value.
        Operand::Imm(value) => p.line(format!("li {dst}, {value}")),
        // A `const` operand is pasted as a decimal number.
        Operand::SizeOf(index) => p.line(format!("li {dst}, {{c{index}}}")),
    }
}

/// A register holding `operand`: its own, `zero`, or the scratch register loaded with it.
fn operand_reg(p: &mut Printer, operand: &Operand) -> String {
    match operand {
        Operand::Reg(vreg) => x(p, *vreg),
        Operand::Imm(0) => "zero".to_string(),
        other => {
            materialise(p, SCRATCH, other);
            SCRATCH.to_string()
        }
    }
}

/// `dst = src + value`: `addi` for a 12-bit immediate, else through the scratch register.
fn add_immediate(p: &mut Printer, dst: &str, src: &str, value: i64) {
    if value == 0 {
        copy_reg(p, dst, src);
    } else if is_simm12(value) {
        p.line(format!("addi {dst}, {src}, {value}"));
    } else {
        materialise(p, SCRATCH, &Operand::Imm(value));
        p.line(format!("add {dst}, {src}, {SCRATCH}"));
    }
}

impl Isa for Riscv64 {
    fn layout(&self, _goto: bool) -> Layout {
        Layout::Inline
    }

    // The signature as a data word (an illegal instruction, never executed), aligned, in
    // the 4 bytes right before the abort label, where the kernel compares it.
    fn signature(&self) -> Vec<String> {
        vec![
            "  .balign 4".to_string(),
            format!("  .word {SIGNATURE:#010x}"),
        ]
    }

    fn condition(&self, cond: Cond) -> &'static str {
        match cond {
            Cond::Eq => "beq",
            Cond::Ne => "bne",
            Cond::Lt => "blt",
            Cond::Lo => "bltu",
            Cond::Le => "ble",
            Cond::Ls => "bleu",
            Cond::Gt => "bgt",
            Cond::Hi => "bgtu",
            Cond::Ge => "bge",
            Cond::Hs => "bgeu",
        }
    }

    fn jump(&self, target: &str) -> String {
        format!("j {target}")
    }

    fn set_status(&self, p: &mut Printer, status: usize) {
        p.line(format!("li {{scratch}}, {status}"));
    }

    fn store_result(&self, p: &mut Printer, value: &Operand) {
        materialise(p, "{result}", value);
    }

    fn store_descriptor(&self, p: &mut Printer, area: VReg) {
        // `lla`: auipc + addi, pc-relative (position-independent, no GOT).
        p.line(format!("lla {SCRATCH}, {DESCRIPTOR_LABEL}b"));
        let line = format!("sd {SCRATCH}, {RSEQ_CS_OFFSET}({})", x(p, area));
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
        // `lwu`: the index operand is a zero-extended u32.
        let line = format!("lwu {{scratch}}, {offset}({})", x(p, area));
        p.line(line);
        let line = format!("bne {{scratch}}, {}, {target}", x(p, index));
        p.line(line);
    }

    // No flags: a compare-and-branch is one instruction.
    fn compare_branch(&self, p: &mut Printer, cond: Cond, lhs: VReg, rhs: &Operand, target: &str) {
        let l = x(p, lhs);
        let r = operand_reg(p, rhs);
        p.line(format!("{} {l}, {r}, {target}", self.condition(cond)));
    }

    fn load(&self, p: &mut Printer, dst: VReg, mem: &Mem, width: Width, acquire: bool) {
        let line = format!(
            "{} {}, {}",
            load_mnemonic(width),
            x(p, dst),
            self::mem(p, mem)
        );
        p.line(line);
        if acquire {
            // The load is ordered before every later load and store (the
            // mapping of an acquire load in the RISC-V memory model, table A.6).
            p.line("fence r,rw");
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
        let dst = x(p, dst);
        materialise(p, &dst, src);
    }

    fn lea(&self, p: &mut Printer, dst: VReg, mem: &Mem) {
        let d = x(p, dst);
        let base = x(p, mem.base);
        // Base and index first, into `dst` (which may share a slot with either):
        // the scaled index goes through the scratch register, read before `dst`
        // is written. Then the displacement onto `dst`.
        let mut from = match mem.index {
            Some((index, scale)) => {
                let index = x(p, index);
                if scale == 1 {
                    p.line(format!("add {d}, {base}, {index}"));
                } else {
                    let shift = scale.trailing_zeros();
                    p.line(format!("slli {SCRATCH}, {index}, {shift}"));
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
        let d = x(p, dst);
        let l = x(p, lhs);
        match (op, rhs) {
            (AluOp::Add, Operand::Imm(value)) => add_immediate(p, &d, &l, *value),
            (AluOp::Sub, Operand::Imm(value)) if *value != i64::MIN => {
                add_immediate(p, &d, &l, -*value)
            }
            (AluOp::Mul, Operand::Imm(value))
                if *value > 0 && (*value as u64).is_power_of_two() =>
            {
                let shift = value.trailing_zeros();
                p.line(format!("slli {d}, {l}, {shift}"));
            }
            (AluOp::And | AluOp::Or | AluOp::Xor, Operand::Imm(value)) if is_simm12(*value) => {
                let mnemonic = match op {
                    AluOp::And => "andi",
                    AluOp::Or => "ori",
                    _ => "xori",
                };
                p.line(format!("{mnemonic} {d}, {l}, {value}"));
            }
            (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Imm(count)) => {
                let mnemonic = match op {
                    AluOp::Shl => "slli",
                    AluOp::Shr => "srli",
                    _ => "srai",
                };
                // Immediate counts are below the width (lowering masks them).
                p.line(format!("{mnemonic} {d}, {l}, {}", count & 63));
            }
            _ => {
                let r = operand_reg(p, rhs);
                let mnemonic = match op {
                    AluOp::Add => "add",
                    AluOp::Sub => "sub",
                    AluOp::Mul => "mul",
                    AluOp::And => "and",
                    AluOp::Or => "or",
                    AluOp::Xor => "xor",
                    AluOp::Shl => "sll",
                    AluOp::Shr => "srl",
                    AluOp::Sar => "sra",
                };
                p.line(format!("{mnemonic} {d}, {l}, {r}"));
            }
        }
    }

    fn not(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("not {}, {}", x(p, dst), x(p, src));
        p.line(line);
    }

    fn neg(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("neg {}, {}", x(p, dst), x(p, src));
        p.line(line);
    }

    fn extend(&self, p: &mut Printer, dst: VReg, src: VReg, width: Width) {
        let (d, s) = (x(p, dst), x(p, src));
        match (width.bytes, width.signed) {
            (1, false) => p.line(format!("andi {d}, {s}, 255")),
            (4, true) => p.line(format!("sext.w {d}, {s}")),
            (bytes @ (1 | 2 | 4), signed) => {
                // Up to the top, then back: logical (zero) or arithmetic (sign).
                let shift = 64 - 8 * u32::from(bytes);
                let right = if signed { "srai" } else { "srli" };
                p.line(format!("slli {d}, {s}, {shift}"));
                p.line(format!("{right} {d}, {d}, {shift}"));
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
        let address = self::mem(p, mem);
        let value = if add {
            // Load, add, then the committing store as the last instruction.
            p.line(format!(
                "{} {SCRATCH}, {address}",
                load_mnemonic(unsigned(width.bytes))
            ));
            match src {
                // Lowering keeps only `imm_fits` immediates: one `addi`.
                Operand::Imm(value) => {
                    debug_assert!(Riscv64.imm_fits(*value));
                    add_immediate(p, SCRATCH, SCRATCH, *value)
                }
                Operand::Reg(vreg) => {
                    let line = format!("add {SCRATCH}, {SCRATCH}, {}", x(p, *vreg));
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
            p.line("fence rw, w");
        }
        p.line(format!(
            "{} {value}, {address}",
            store_mnemonic(width.bytes)
        ));
    }

    fn spin_enter(&self, p: &mut Printer, counter: VReg) {
        // The counter was loaded with `lwu`: at most 2^32 - 1, so + 1 cannot wrap.
        let c = x(p, counter);
        p.line(format!("addi {c}, {c}, 1"));
    }

    fn spin_step(&self, p: &mut Printer, counter: VReg, label: &str) {
        let c = x(p, counter);
        p.line(format!("addi {c}, {c}, -1"));
        p.line(format!("bnez {c}, {label}"));
    }

    fn copy_chunk_max(&self) -> u8 {
        16
    }

    // 16 bytes at a time through the scratch slot and the scratch register, then 8, 4, 2,
    // 1. `copy` is at most 256 bytes, within the 12-bit displacement. The pointers need no
    // alignment: the kernel (or the firmware) completes a misaligned access that the
    // hardware refuses.
    fn copy_chunk(
        &self,
        p: &mut Printer,
        dst: VReg,
        src: VReg,
        scratch: VReg,
        offset: i64,
        bytes: u8,
    ) {
        let (to, from, temp) = (x(p, dst), x(p, src), x(p, scratch));
        if bytes == 16 {
            for (reg, at) in [(&temp, offset), (&SCRATCH.to_string(), offset + 8)] {
                p.line(format!("ld {reg}, {}", address(&from, at)));
            }
            for (reg, at) in [(&temp, offset), (&SCRATCH.to_string(), offset + 8)] {
                p.line(format!("sd {reg}, {}", address(&to, at)));
            }
            return;
        }
        let (load, store) = (load_mnemonic(unsigned(bytes)), store_mnemonic(bytes));
        p.line(format!("{load} {temp}, {}", address(&from, offset)));
        p.line(format!("{store} {temp}, {}", address(&to, offset)));
    }

    // `len` counts down by 8 while 8 or more bytes are left. `dst`, `src` and `len` are
    // the loop's own; `scratch` also holds each test's result. As for the literal copy,
    // the pointers need no alignment.
    fn copy_word_loop(&self, p: &mut Printer, dst: VReg, src: VReg, len: VReg, scratch: VReg) {
        let (d, s, n, t) = (x(p, dst), x(p, src), x(p, len), x(p, scratch));
        let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
        p.label(word);
        p.line(format!("sltiu {t}, {n}, 8"));
        p.line(format!("bnez {t}, {tail}f"));
        p.line(format!("ld {t}, 0({s})"));
        p.line(format!("sd {t}, 0({d})"));
        p.line(format!("addi {s}, {s}, 8"));
        p.line(format!("addi {d}, {d}, 8"));
        p.line(format!("addi {n}, {n}, -8"));
        p.line(format!("j {word}b"));
    }

    fn copy_tail_test(&self, p: &mut Printer, len: VReg, scratch: VReg, bytes: u8, skip: u32) {
        let (n, t) = (x(p, len), x(p, scratch));
        p.line(format!("andi {t}, {n}, {bytes}"));
        p.line(format!("beqz {t}, {skip}f"));
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
        let (d, s, t) = (x(p, dst), x(p, src), x(p, scratch));
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
    use crate::lower::Instrumentation;
    use quote::quote;

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
    fn register_budget_is_riscv64s() {
        // area, index and scratch take three registers besides the inputs.
        let fits = compile_section(
            section_with_inputs(23),
            &Riscv64,
            Instrumentation::default(),
        );
        assert!(fits.is_ok(), "23 inputs fit in 26 registers");
        let error = match compile_section(
            section_with_inputs(24),
            &Riscv64,
            Instrumentation::default(),
        ) {
            Ok(_) => panic!("24 inputs need 27 registers"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("`asm!` on riscv64 offers 26"),
            "unexpected message: {error}"
        );
    }

    #[test]
    fn signature_word_is_right_before_the_abort_label() {
        let (_, lowered) = compile_section(
            quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }),
            &Riscv64,
            Instrumentation::default(),
        )
        .unwrap();
        let lines = Riscv64.emit(&lowered);
        let abort = lines.iter().position(|l| l == "6:").unwrap();
        assert_eq!(lines[abort - 1], "  .word 0xf1401073");
        assert_eq!(lines[abort - 2], "  .balign 4");
    }

    #[test]
    fn immediates_and_addresses_stay_in_12_bits() {
        for value in [-2047, 0, 2047] {
            assert!(Riscv64.imm_fits(value));
        }
        for value in [-2048, 2048, i64::MIN, i64::MAX] {
            assert!(!Riscv64.imm_fits(value));
        }
        let mem = |index: Option<(usize, u8)>, disp| Mem {
            base: 0,
            index,
            disp,
            field: None,
        };
        let width = Width {
            bytes: 8,
            signed: false,
        };
        assert!(Riscv64.mem_fits(&mem(None, -2048), width));
        assert!(Riscv64.mem_fits(&mem(None, 2047), width));
        assert!(!Riscv64.mem_fits(&mem(None, 2048), width));
        assert!(!Riscv64.mem_fits(&mem(Some((1, 8)), 0), width));
    }
}
