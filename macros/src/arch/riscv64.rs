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

use super::{exit_operand, spin_label, trap_label, trap_operand, ABORT_TARGET};
use super::{
    Backend, ABORT_LABEL, DESCRIPTOR_LABEL, END_LABEL, FIRST_EXIT_LABEL, POST_COMMIT_LABEL,
    START_LABEL,
};
use super::{COPY_TAIL, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL};
use super::{STATUS_ABORTED, STATUS_EXITED, STATUS_FIRST_TRAP};
use crate::lower::{
    AluOp, CmpOp, FieldLimit, Inst, Lowered, Mem, Operand, Target, Width, RSEQ_CS_OFFSET,
};

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

/// `disp(base)`.
fn address(base: &str, disp: i64) -> String {
    format!("{disp}({base})")
}

struct Printer<'a> {
    lowered: &'a Lowered,
    lines: Vec<String>,
}

impl Printer<'_> {
    fn x(&self, vreg: usize) -> String {
        format!("{{s{}}}", self.lowered.alloc.slot_of[vreg])
    }

    /// The address operand of a memory access that [`Target::mem_fits`] accepted.
    fn mem(&self, mem: &Mem) -> String {
        debug_assert!(mem.index.is_none() && is_disp12(mem.disp));
        match mem.field {
            Some(field) => format!("{{c{field}}}({})", self.x(mem.base)),
            None => address(&self.x(mem.base), mem.disp),
        }
    }

    fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// `mv dst, src` unless both live in the same slot.
    fn copy_reg(&mut self, dst: &str, src: &str) {
        if dst != src {
            self.line(format!("mv {dst}, {src}"));
        }
    }

    /// Puts the value of `operand` into the register `dst`.
    fn materialise(&mut self, dst: &str, operand: &Operand) {
        match operand {
            Operand::Reg(vreg) => {
                let src = self.x(*vreg);
                self.copy_reg(dst, &src);
            }
            // `li` expands to the shortest lui/addi(w)/slli sequence for any 64-bit value.
            Operand::Imm(value) => self.line(format!("li {dst}, {value}")),
            // A `const` operand is pasted as a decimal number.
            Operand::SizeOf(index) => self.line(format!("li {dst}, {{c{index}}}")),
        }
    }

    /// A register holding `operand`: its own, `zero`, or the scratch register loaded with it.
    fn operand_reg(&mut self, operand: &Operand) -> String {
        match operand {
            Operand::Reg(vreg) => self.x(*vreg),
            Operand::Imm(0) => "zero".to_string(),
            other => {
                self.materialise(SCRATCH, other);
                SCRATCH.to_string()
            }
        }
    }

    /// Puts a value the section returns into the `result` register.
    fn store_result(&mut self, value: &Operand) {
        self.materialise("{result}", value);
    }

    /// `dst = src + value`: `addi` for a 12-bit immediate, else through the scratch register.
    fn add_immediate(&mut self, dst: &str, src: &str, value: i64) {
        if value == 0 {
            self.copy_reg(dst, src);
        } else if is_simm12(value) {
            self.line(format!("addi {dst}, {src}, {value}"));
        } else {
            self.materialise(SCRATCH, &Operand::Imm(value));
            self.line(format!("add {dst}, {src}, {SCRATCH}"));
        }
    }

    fn inst(&mut self, inst: &Inst) {
        match inst {
            Inst::StoreDescriptor { area } => {
                // `lla`: auipc + addi, pc-relative (position-independent, no GOT).
                self.line(format!("lla {SCRATCH}, {DESCRIPTOR_LABEL}b"));
                let line = format!("sd {SCRATCH}, {RSEQ_CS_OFFSET}({})", self.x(*area));
                self.line(line);
                self.line(format!("{START_LABEL}:"));
            }
            Inst::CheckIndex {
                area,
                index,
                offset,
            } => {
                // `lwu`: the index operand is a zero-extended u32.
                let line = format!("lwu {{scratch}}, {offset}({})", self.x(*area));
                self.line(line);
                let line = format!("bne {{scratch}}, {}, {ABORT_LABEL}f", self.x(*index));
                self.line(line);
            }
            Inst::Load {
                dst,
                mem,
                width,
                acquire,
            } => {
                let line = format!(
                    "{} {}, {}",
                    load_mnemonic(*width),
                    self.x(*dst),
                    self.mem(mem)
                );
                self.line(line);
                if *acquire {
                    // The load is ordered before every later load and store (the
                    // mapping of an acquire load in the RISC-V memory model, table A.6).
                    self.line("fence r,rw");
                }
            }
            Inst::Store { mem, src, width } => {
                let src = self.operand_reg(src);
                let line = format!("{} {src}, {}", store_mnemonic(width.bytes), self.mem(mem));
                self.line(line);
            }
            Inst::Mov { dst, src } => {
                let dst = self.x(*dst);
                self.materialise(&dst, src);
            }
            Inst::Lea { dst, mem } => {
                let d = self.x(*dst);
                let base = self.x(mem.base);
                // Base and index first, into `dst` (which may share a slot with either):
                // the scaled index goes through the scratch register, read before `dst`
                // is written. Then the displacement onto `dst`.
                let mut from = match mem.index {
                    Some((index, scale)) => {
                        let index = self.x(index);
                        if scale == 1 {
                            self.line(format!("add {d}, {base}, {index}"));
                        } else {
                            let shift = scale.trailing_zeros();
                            self.line(format!("slli {SCRATCH}, {index}, {shift}"));
                            self.line(format!("add {d}, {base}, {SCRATCH}"));
                        }
                        d.clone()
                    }
                    None => base,
                };
                if let Some(field) = mem.field {
                    self.line(format!("addi {d}, {from}, {{c{field}}}"));
                    from = d.clone();
                }
                self.add_immediate(&d, &from, mem.disp);
            }
            Inst::Alu { op, dst, lhs, rhs } => {
                let d = self.x(*dst);
                let l = self.x(*lhs);
                match (op, rhs) {
                    (AluOp::Add, Operand::Imm(value)) => self.add_immediate(&d, &l, *value),
                    (AluOp::Sub, Operand::Imm(value)) if *value != i64::MIN => {
                        self.add_immediate(&d, &l, -*value)
                    }
                    (AluOp::Mul, Operand::Imm(value))
                        if *value > 0 && (*value as u64).is_power_of_two() =>
                    {
                        let shift = value.trailing_zeros();
                        self.line(format!("slli {d}, {l}, {shift}"));
                    }
                    (AluOp::And | AluOp::Or | AluOp::Xor, Operand::Imm(value))
                        if is_simm12(*value) =>
                    {
                        let mnemonic = match op {
                            AluOp::And => "andi",
                            AluOp::Or => "ori",
                            _ => "xori",
                        };
                        self.line(format!("{mnemonic} {d}, {l}, {value}"));
                    }
                    (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Imm(count)) => {
                        let mnemonic = match op {
                            AluOp::Shl => "slli",
                            AluOp::Shr => "srli",
                            _ => "srai",
                        };
                        // Immediate counts are below the width (lowering masks them).
                        self.line(format!("{mnemonic} {d}, {l}, {}", count & 63));
                    }
                    _ => {
                        let r = self.operand_reg(rhs);
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
                        self.line(format!("{mnemonic} {d}, {l}, {r}"));
                    }
                }
            }
            Inst::Not { dst, src } => {
                let line = format!("not {}, {}", self.x(*dst), self.x(*src));
                self.line(line);
            }
            Inst::Neg { dst, src } => {
                let line = format!("neg {}, {}", self.x(*dst), self.x(*src));
                self.line(line);
            }
            Inst::Extend { dst, src, width } => {
                let (d, s) = (self.x(*dst), self.x(*src));
                match (width.bytes, width.signed) {
                    (1, false) => self.line(format!("andi {d}, {s}, 255")),
                    (4, true) => self.line(format!("sext.w {d}, {s}")),
                    (bytes @ (1 | 2 | 4), signed) => {
                        // Up to the top, then back: logical (zero) or arithmetic (sign).
                        let shift = 64 - 8 * u32::from(bytes);
                        let right = if signed { "srai" } else { "srli" };
                        self.line(format!("slli {d}, {s}, {shift}"));
                        self.line(format!("{right} {d}, {d}, {shift}"));
                    }
                    _ => self.copy_reg(&d, &s),
                }
            }
            Inst::CopyBytes {
                dst,
                src,
                len,
                scratch,
            } => {
                // Unrolled: 16 bytes at a time through the scratch slot and the scratch
                // register, then 8, 4, 2, 1. `copy` is at most 256 bytes, within the 12-bit
                // displacement. The pointers need no alignment: the kernel (or the
                // firmware) completes a misaligned access that the hardware refuses.
                let (to, from) = (self.x(*dst), self.x(*src));
                let temp = self.x(*scratch);
                let len = i64::from(*len);
                let mut offset = 0i64;
                while offset < len {
                    let left = len - offset;
                    if left >= 16 {
                        for (reg, at) in [(&temp, offset), (&SCRATCH.to_string(), offset + 8)] {
                            self.line(format!("ld {reg}, {}", address(&from, at)));
                        }
                        for (reg, at) in [(&temp, offset), (&SCRATCH.to_string(), offset + 8)] {
                            self.line(format!("sd {reg}, {}", address(&to, at)));
                        }
                        offset += 16;
                        continue;
                    }
                    let bytes: u8 = match left {
                        8.. => 8,
                        4..=7 => 4,
                        2..=3 => 2,
                        _ => 1,
                    };
                    let load = load_mnemonic(Width {
                        bytes,
                        signed: false,
                    });
                    let store = store_mnemonic(bytes);
                    self.line(format!("{load} {temp}, {}", address(&from, offset)));
                    self.line(format!("{store} {temp}, {}", address(&to, offset)));
                    offset += i64::from(bytes);
                }
            }
            Inst::CopyLoop {
                dst,
                src,
                len,
                scratch,
            } => {
                // `len` counts down by 8 while 8 or more bytes are left; then its low bits
                // are the tail, each copied if set. `dst`, `src` and `len` are the loop's
                // own; `scratch` also holds each test's result. As for the literal copy, the
                // pointers need no alignment: the kernel (or the firmware) completes a
                // misaligned access that the hardware refuses.
                let (d, s, n) = (self.x(*dst), self.x(*src), self.x(*len));
                let t = self.x(*scratch);
                let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
                self.line(format!("{word}:"));
                self.line(format!("sltiu {t}, {n}, 8"));
                self.line(format!("bnez {t}, {tail}f"));
                self.line(format!("ld {t}, 0({s})"));
                self.line(format!("sd {t}, 0({d})"));
                self.line(format!("addi {s}, {s}, 8"));
                self.line(format!("addi {d}, {d}, 8"));
                self.line(format!("addi {n}, {n}, -8"));
                self.line(format!("j {word}b"));
                self.line(format!("{tail}:"));
                for (bytes, skip) in COPY_TAIL {
                    let load = load_mnemonic(Width {
                        bytes,
                        signed: false,
                    });
                    let store = store_mnemonic(bytes);
                    self.line(format!("andi {t}, {n}, {bytes}"));
                    self.line(format!("beqz {t}, {skip}f"));
                    self.line(format!("{load} {t}, 0({s})"));
                    self.line(format!("{store} {t}, 0({d})"));
                    // The last move needs no advance: nothing follows it.
                    if bytes > 1 {
                        self.line(format!("addi {s}, {s}, {bytes}"));
                        self.line(format!("addi {d}, {d}, {bytes}"));
                    }
                    self.line(format!("{skip}:"));
                }
            }
            Inst::ExitIf {
                op,
                signed,
                lhs,
                rhs,
                exit,
            } => {
                let l = self.x(*lhs);
                let r = self.operand_reg(rhs);
                let target = FIRST_EXIT_LABEL + *exit as u32;
                let branch = match (op, signed) {
                    (CmpOp::Eq, _) => "beq",
                    (CmpOp::Ne, _) => "bne",
                    (CmpOp::Lt, true) => "blt",
                    (CmpOp::Lt, false) => "bltu",
                    (CmpOp::Le, true) => "ble",
                    (CmpOp::Le, false) => "bleu",
                    (CmpOp::Gt, true) => "bgt",
                    (CmpOp::Gt, false) => "bgtu",
                    (CmpOp::Ge, true) => "bge",
                    (CmpOp::Ge, false) => "bgeu",
                };
                self.line(format!("{branch} {l}, {r}, {target}f"));
            }
            Inst::Spin { counter, point } => {
                // The counter was loaded with `lwu`: at most 2^32 - 1, so + 1 cannot wrap.
                let c = self.x(*counter);
                let label = spin_label(*point);
                self.line(format!("addi {c}, {c}, 1"));
                self.line(format!("{label}:"));
                self.line(format!("addi {c}, {c}, -1"));
                self.line(format!("bnez {c}, {label}b"));
            }
            Inst::VerifyIndex {
                area,
                index,
                offset,
                check,
            } => {
                let line = format!("lwu {{scratch}}, {offset}({})", self.x(*area));
                self.line(line);
                let line = format!(
                    "bne {{scratch}}, {}, {}f",
                    self.x(*index),
                    trap_label(*check)
                );
                self.line(line);
            }
            Inst::VerifyLoad {
                original,
                mem,
                width,
                scratch,
                check,
            } => {
                let load = Inst::Load {
                    dst: *scratch,
                    mem: *mem,
                    width: *width,
                    acquire: false,
                };
                self.inst(&load);
                let line = format!(
                    "bne {}, {}, {}f",
                    self.x(*scratch),
                    self.x(*original),
                    trap_label(*check)
                );
                self.line(line);
            }
            Inst::Commit {
                mem,
                src,
                width,
                add,
                release,
            } => {
                let address = self.mem(mem);
                let value = if *add {
                    // Load, add, then the committing store as the last instruction.
                    let unsigned = Width {
                        bytes: width.bytes,
                        signed: false,
                    };
                    self.line(format!("{} {SCRATCH}, {address}", load_mnemonic(unsigned)));
                    match src {
                        // Lowering keeps only `imm_fits` immediates: one `addi`.
                        Operand::Imm(value) => {
                            debug_assert!(Riscv64.imm_fits(*value));
                            self.add_immediate(SCRATCH, SCRATCH, *value)
                        }
                        Operand::Reg(vreg) => {
                            let line = format!("add {SCRATCH}, {SCRATCH}, {}", self.x(*vreg));
                            self.line(line);
                        }
                        Operand::SizeOf(_) => {
                            unreachable!("lowering never commits a size operand")
                        }
                    }
                    SCRATCH.to_string()
                } else {
                    self.operand_reg(src)
                };
                if *release {
                    // Every earlier load and store is ordered before the committing store.
                    self.line("fence rw, w");
                }
                self.line(format!(
                    "{} {value}, {address}",
                    store_mnemonic(width.bytes)
                ));
            }
        }
    }
}

impl Backend for Riscv64 {
    fn emit(&self, lowered: &Lowered) -> Vec<String> {
        let mut p = Printer {
            lowered,
            lines: Vec::new(),
        };
        p.lines.extend(super::descriptor_tables());
        for inst in &lowered.insts {
            p.inst(inst);
        }
        p.line(format!("{POST_COMMIT_LABEL}:"));
        let goto = lowered.goto;
        if !goto {
            p.line("li {scratch}, 0");
        }
        if let Some(value) = &lowered.yielded {
            p.store_result(value);
        }
        p.line(format!("j {END_LABEL}f"));
        for (exit, value) in lowered.exits.iter().enumerate() {
            p.line(format!("{}:", FIRST_EXIT_LABEL + exit as u32));
            if goto {
                p.line(format!("j {}", exit_operand(exit)));
                continue;
            }
            if let Some(value) = value {
                p.store_result(value);
            }
            p.line(format!("li {{scratch}}, {STATUS_EXITED}"));
            p.line(format!("j {END_LABEL}f"));
        }
        for check in 0..lowered.checks.len() {
            p.line(format!("{}:", trap_label(check)));
            if goto {
                p.line(format!("j {}", trap_operand(check)));
            } else {
                p.line(format!("li {{scratch}}, {}", STATUS_FIRST_TRAP + check));
                p.line(format!("j {END_LABEL}f"));
            }
        }
        // The signature as a data word (an illegal instruction, never executed), aligned,
        // in the 4 bytes right before the abort label, where the kernel compares it.
        p.line("  .balign 4");
        p.line(format!("  .word {SIGNATURE:#010x}"));
        p.line(format!("{ABORT_LABEL}:"));
        if goto {
            p.line(format!("j {ABORT_TARGET}"));
        } else {
            p.line(format!("li {{scratch}}, {STATUS_ABORTED}"));
        }
        p.line(format!("{END_LABEL}:"));
        p.lines
            .extend(super::exit_point_table(lowered.exits.len(), |exit| {
                Some(format!("{}b", FIRST_EXIT_LABEL + exit as u32))
            }));
        p.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
