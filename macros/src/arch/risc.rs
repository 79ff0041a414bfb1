//! The shared half of the load/store backends whose ISA has no flags (riscv64,
//! loongarch64): three-operand ALU ops, a compare-and-branch on two registers, a register
//! that reads as zero, 12-bit signed immediates and `base + disp12` as the only addressing
//! mode. A backend is a [`Risc`]: its mnemonics (per width, per op), its syntax for an
//! address, and hooks for the few instructions that have no common shape; its backend is
//! [`RiscBackend`] over that table, whose [`Target`] and [`Isa`] come from here.
//!
//! What follows from the shape, once:
//!
//! - An index or a displacement beyond 12 bits is materialised by lowering with an
//!   `Inst::Lea` ([`Target::mem_fits`]). A release commit is a plain store after a
//!   barrier and an acquire load a plain load before one, so both take the same addresses
//!   as any store or load.
//! - ALU immediates are 12-bit signed, and this layer accepts the symmetric range
//!   `-2047..=2047` so that `x - v` is an add of `-v` ([`Target::imm_fits`]). Branches
//!   compare two registers: zero is the zero register, another immediate goes through the
//!   scratch register.
//! - The `scratch` operand is the backend's scratch register.
//! - Conditional branches reach only +-4 KiB (riscv64) or +-128 KiB (loongarch64), so they
//!   go to stubs that follow the section inline ([`Layout::Inline`], skipped by one jump on
//!   the committed path), and the stubs jump (+-1 MiB, +-128 MiB) on to the expansion's
//!   label operands: the abort handler, each exit (which stores its value first when it
//!   is a register) and each compare-twice check.
//! - The signature is a 4-byte-aligned data word right before the abort label (an
//!   instruction that traps, never executed), where the kernel compares it.

use super::{Cond, Isa, Layout, Printer, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL, DESCRIPTOR_LABEL};
use crate::lower::{AluOp, FieldLimit, Mem, Operand, Target, VReg, Width, RSEQ_CS_OFFSET};

/// A load/store ISA without flags: its table of mnemonics and its hooks.
pub trait Risc {
    /// Name used in diagnostics.
    const NAME: &'static str;
    /// General registers of `asm!`'s `reg` class.
    const REGISTERS: usize;
    /// The abort signature, the word the kernel compares before the abort label.
    const SIGNATURE: u32;
    /// Loads of 1, 2, 4 and 8 bytes: `[zero-extending, sign-extending]`, each writing the
    /// whole register.
    const LOADS: [[&'static str; 2]; 4];
    /// Stores of 1, 2, 4 and 8 bytes.
    const STORES: [&'static str; 4];
    /// The register that reads as zero.
    const ZERO: &'static str;
    /// Register to register move (`mv`).
    const MOVE: &'static str;
    /// Any 64-bit constant into a register (`li`: the assembler picks the sequence).
    const LOAD_IMM: &'static str;
    /// A local label's pc-relative address into a register (no GOT).
    const LOAD_ADDRESS: &'static str;
    /// The unconditional jump.
    const JUMP: &'static str;
    /// `dst = (src < imm)`, unsigned (`sltiu`).
    const SET_BELOW_IMM: &'static str;
    /// After an acquire load: the load is ordered before every later load and store.
    const ACQUIRE_BARRIER: &'static str;
    /// Before a release store: every earlier load and store is ordered before it.
    const RELEASE_BARRIER: &'static str;

    /// `op` on two registers.
    fn op(op: AluOp) -> &'static str;
    /// The immediate form that computes `op` (`Sub` adds the negated value, `Mul` by a
    /// power of two shifts left).
    fn op_imm(op: AluOp) -> &'static str;
    /// Whether `and`/`or`/`xor` take `value` as their immediate.
    fn logic_imm_fits(value: i64) -> bool;
    /// The branch of each condition: the same names in both ISAs (LoongArch's `bgt`,
    /// `ble`, `bgtu`, `bleu`, like RISC-V's, are the assembler's aliases of `blt`/`bge`
    /// with the operands swapped).
    fn condition(cond: Cond) -> &'static str {
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
    /// The memory operand `base + disp` (`disp` a number or a `const` operand).
    fn address(base: &str, disp: &str) -> String;
    /// `dst = !src`.
    fn not(dst: &str, src: &str) -> String;
    /// `dst = -src`.
    fn neg(dst: &str, src: &str) -> String;
    /// Re-normalises the low `width` bytes of `src` into `dst` (`width` narrower than 8).
    fn extend(p: &mut Printer, dst: &str, src: &str, width: Width);
}

/// The backend of a [`Risc`] table. (A wrapper, not a blanket impl over `T: Risc`: the x86
/// backends' blanket `Isa` impl over `X86Mode` would overlap it.)
pub struct RiscBackend<T>(pub T);

/// The scratch register (see the module docs).
pub const SCRATCH: &str = "{scratch}";

/// Whether `value` fits a 12-bit signed immediate and so does its negation.
pub fn is_simm12(value: i64) -> bool {
    (-2047..=2047).contains(&value)
}

/// Whether `disp` fits the 12-bit signed displacement of a load or store.
fn is_disp12(disp: i64) -> bool {
    (-2048..=2047).contains(&disp)
}

fn size_index(bytes: u8) -> usize {
    match bytes {
        1 => 0,
        2 => 1,
        4 => 2,
        _ => 3,
    }
}

fn load<T: Risc>(width: Width) -> &'static str {
    T::LOADS[size_index(width.bytes)][usize::from(width.signed)]
}

/// The zero-extending load of `bytes`.
fn load_u<T: Risc>(bytes: u8) -> &'static str {
    T::LOADS[size_index(bytes)][0]
}

fn store<T: Risc>(bytes: u8) -> &'static str {
    T::STORES[size_index(bytes)]
}

/// The operand name of a virtual register.
pub fn reg(p: &Printer, vreg: VReg) -> String {
    p.operand(vreg)
}

fn address<T: Risc>(base: &str, disp: i64) -> String {
    T::address(base, &disp.to_string())
}

/// The address operand of a memory access that [`Target::mem_fits`] accepted.
fn mem<T: Risc>(p: &Printer, mem: &Mem) -> String {
    debug_assert!(mem.index.is_none() && is_disp12(mem.disp));
    match mem.field {
        Some(field) => T::address(&reg(p, mem.base), &format!("{{c{field}}}")),
        None => address::<T>(&reg(p, mem.base), mem.disp),
    }
}

/// A move unless both live in the same slot.
pub fn copy_reg<T: Risc>(p: &mut Printer, dst: &str, src: &str) {
    if dst != src {
        p.line(format!("{} {dst}, {src}", T::MOVE));
    }
}

/// Puts the value of `operand` into the register `dst`.
fn materialise<T: Risc>(p: &mut Printer, dst: &str, operand: &Operand) {
    match operand {
        Operand::Reg(vreg) => {
            let src = reg(p, *vreg);
            copy_reg::<T>(p, dst, &src);
        }
        Operand::Imm(value) => p.line(format!("{} {dst}, {value}", T::LOAD_IMM)),
        // A `const` operand is pasted as a decimal number.
        Operand::SizeOf(index) => p.line(format!("{} {dst}, {{c{index}}}", T::LOAD_IMM)),
    }
}

/// A register holding `operand`: its own, the zero register, or the scratch register
/// loaded with it.
fn operand_reg<T: Risc>(p: &mut Printer, operand: &Operand) -> String {
    match operand {
        Operand::Reg(vreg) => reg(p, *vreg),
        Operand::Imm(0) => T::ZERO.to_string(),
        other => {
            materialise::<T>(p, SCRATCH, other);
            SCRATCH.to_string()
        }
    }
}

/// `dst = src + value`: one add of a 12-bit immediate, else through the scratch register.
fn add_immediate<T: Risc>(p: &mut Printer, dst: &str, src: &str, value: i64) {
    if value == 0 {
        copy_reg::<T>(p, dst, src);
    } else if is_simm12(value) {
        p.line(format!("{} {dst}, {src}, {value}", T::op_imm(AluOp::Add)));
    } else {
        materialise::<T>(p, SCRATCH, &Operand::Imm(value));
        p.line(format!("{} {dst}, {src}, {SCRATCH}", T::op(AluOp::Add)));
    }
}

/// Test helper: a section with `n` inputs (a pointer and `n - 1` values), all live until
/// the sum, fits the table's register budget exactly when area, index and scratch (three
/// registers) fit beside them.
#[cfg(test)]
pub fn assert_register_budget<T: Risc>(backend: &RiscBackend<T>) {
    use crate::expand::compile_section;
    use crate::lower::Instrumentation;
    use quote::quote;
    let section = |n: usize| {
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
    };
    let most = T::REGISTERS - 3;
    let fits = compile_section(section(most), backend, Instrumentation::default());
    assert!(
        fits.is_ok(),
        "{most} inputs fit in {} registers",
        T::REGISTERS
    );
    let error = match compile_section(section(most + 1), backend, Instrumentation::default()) {
        Ok(_) => panic!("{} inputs fit in {} registers", most + 1, T::REGISTERS),
        Err(error) => error.to_string(),
    };
    let expected = format!("`asm!` on {} offers {}", T::NAME, T::REGISTERS);
    assert!(error.contains(&expected), "unexpected message: {error}");
}

impl<T: Risc> Target for RiscBackend<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn registers(&self) -> usize {
        T::REGISTERS
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

    /// An add of the field: a 12-bit signed immediate.
    fn lea_field_limit(&self, _mem: &Mem) -> FieldLimit {
        FieldLimit {
            max: 2047,
            multiple: 1,
        }
    }
}

impl<T: Risc> Isa for RiscBackend<T> {
    fn layout(&self, _goto: bool) -> Layout {
        Layout::Inline
    }

    fn signature(&self) -> Vec<String> {
        vec![
            "  .balign 4".to_string(),
            format!("  .word {:#010x}", T::SIGNATURE),
        ]
    }

    fn condition(&self, cond: Cond) -> &'static str {
        T::condition(cond)
    }

    fn jump(&self, target: &str) -> String {
        format!("{} {target}", T::JUMP)
    }

    fn set_status(&self, p: &mut Printer, status: usize) {
        p.line(format!("{} {SCRATCH}, {status}", T::LOAD_IMM));
    }

    fn store_result(&self, p: &mut Printer, value: &Operand) {
        materialise::<T>(p, "{result}", value);
    }

    fn store_descriptor(&self, p: &mut Printer, area: VReg) {
        p.line(format!(
            "{} {SCRATCH}, {DESCRIPTOR_LABEL}b",
            T::LOAD_ADDRESS
        ));
        let at = address::<T>(&reg(p, area), i64::from(RSEQ_CS_OFFSET));
        p.line(format!("{} {SCRATCH}, {at}", store::<T>(8)));
    }

    fn branch_if_index_moved(
        &self,
        p: &mut Printer,
        area: VReg,
        offset: u32,
        index: VReg,
        target: &str,
    ) {
        // Zero-extended: the index operand is a zero-extended u32.
        let at = address::<T>(&reg(p, area), i64::from(offset));
        p.line(format!("{} {SCRATCH}, {at}", load_u::<T>(4)));
        let line = format!(
            "{} {SCRATCH}, {}, {target}",
            T::condition(Cond::Ne),
            reg(p, index)
        );
        p.line(line);
    }

    fn compare_branch(&self, p: &mut Printer, cond: Cond, lhs: VReg, rhs: &Operand, target: &str) {
        let l = reg(p, lhs);
        let r = operand_reg::<T>(p, rhs);
        p.line(format!("{} {l}, {r}, {target}", T::condition(cond)));
    }

    fn load(&self, p: &mut Printer, dst: VReg, mem: &Mem, width: Width, acquire: bool) {
        let line = format!(
            "{} {}, {}",
            load::<T>(width),
            reg(p, dst),
            self::mem::<T>(p, mem)
        );
        p.line(line);
        if acquire {
            p.line(T::ACQUIRE_BARRIER);
        }
    }

    fn store(&self, p: &mut Printer, mem: &Mem, src: &Operand, width: Width) {
        let src = operand_reg::<T>(p, src);
        let line = format!(
            "{} {src}, {}",
            store::<T>(width.bytes),
            self::mem::<T>(p, mem)
        );
        p.line(line);
    }

    fn mov(&self, p: &mut Printer, dst: VReg, src: &Operand) {
        let dst = reg(p, dst);
        materialise::<T>(p, &dst, src);
    }

    fn lea(&self, p: &mut Printer, dst: VReg, mem: &Mem) {
        let d = reg(p, dst);
        let base = reg(p, mem.base);
        let add = T::op(AluOp::Add);
        // Base and index first, into `dst` (which may share a slot with either): the
        // scaled index goes through the scratch register, read before `dst` is written.
        // Then the displacement onto `dst`.
        let mut from = match mem.index {
            Some((index, scale)) => {
                let index = reg(p, index);
                if scale == 1 {
                    p.line(format!("{add} {d}, {base}, {index}"));
                } else {
                    let shift = scale.trailing_zeros();
                    let shl = T::op_imm(AluOp::Shl);
                    p.line(format!("{shl} {SCRATCH}, {index}, {shift}"));
                    p.line(format!("{add} {d}, {base}, {SCRATCH}"));
                }
                d.clone()
            }
            None => base,
        };
        if let Some(field) = mem.field {
            let addi = T::op_imm(AluOp::Add);
            p.line(format!("{addi} {d}, {from}, {{c{field}}}"));
            from = d.clone();
        }
        add_immediate::<T>(p, &d, &from, mem.disp);
    }

    fn alu(&self, p: &mut Printer, op: AluOp, dst: VReg, lhs: VReg, rhs: &Operand) {
        let d = reg(p, dst);
        let l = reg(p, lhs);
        match (op, rhs) {
            (AluOp::Add, Operand::Imm(value)) => add_immediate::<T>(p, &d, &l, *value),
            (AluOp::Sub, Operand::Imm(value)) if *value != i64::MIN => {
                add_immediate::<T>(p, &d, &l, -*value)
            }
            (AluOp::Mul, Operand::Imm(value))
                if *value > 0 && (*value as u64).is_power_of_two() =>
            {
                let shift = value.trailing_zeros();
                p.line(format!("{} {d}, {l}, {shift}", T::op_imm(op)));
            }
            (AluOp::And | AluOp::Or | AluOp::Xor, Operand::Imm(value))
                if T::logic_imm_fits(*value) =>
            {
                p.line(format!("{} {d}, {l}, {value}", T::op_imm(op)));
            }
            (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Imm(count)) => {
                // Immediate counts are below the width (lowering masks them).
                p.line(format!("{} {d}, {l}, {}", T::op_imm(op), count & 63));
            }
            _ => {
                let r = operand_reg::<T>(p, rhs);
                p.line(format!("{} {d}, {l}, {r}", T::op(op)));
            }
        }
    }

    fn not(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = T::not(&reg(p, dst), &reg(p, src));
        p.line(line);
    }

    fn neg(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = T::neg(&reg(p, dst), &reg(p, src));
        p.line(line);
    }

    fn extend(&self, p: &mut Printer, dst: VReg, src: VReg, width: Width) {
        let (d, s) = (reg(p, dst), reg(p, src));
        if width.bytes < 8 {
            T::extend(p, &d, &s, width);
        } else {
            copy_reg::<T>(p, &d, &s);
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
        let address = self::mem::<T>(p, mem);
        let value = if add {
            // Load, add, then the committing store as the last instruction.
            p.line(format!("{} {SCRATCH}, {address}", load_u::<T>(width.bytes)));
            match src {
                // Lowering keeps only `imm_fits` immediates: one add.
                Operand::Imm(value) => {
                    debug_assert!(is_simm12(*value));
                    add_immediate::<T>(p, SCRATCH, SCRATCH, *value)
                }
                Operand::Reg(vreg) => {
                    let add = T::op(AluOp::Add);
                    let line = format!("{add} {SCRATCH}, {SCRATCH}, {}", reg(p, *vreg));
                    p.line(line);
                }
                Operand::SizeOf(_) => unreachable!("lowering never commits a size operand"),
            }
            SCRATCH.to_string()
        } else {
            operand_reg::<T>(p, src)
        };
        if release {
            p.line(T::RELEASE_BARRIER);
        }
        p.line(format!("{} {value}, {address}", store::<T>(width.bytes)));
    }

    fn spin_enter(&self, p: &mut Printer, counter: VReg) {
        // The counter was loaded zero-extended from 32 bits: + 1 cannot wrap.
        let c = reg(p, counter);
        p.line(format!("{} {c}, {c}, 1", T::op_imm(AluOp::Add)));
    }

    fn spin_step(&self, p: &mut Printer, counter: VReg, label: &str) {
        let c = reg(p, counter);
        p.line(format!("{} {c}, {c}, -1", T::op_imm(AluOp::Add)));
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
        let (to, from, temp) = (reg(p, dst), reg(p, src), reg(p, scratch));
        if bytes == 16 {
            let pair = [(temp.as_str(), offset), (SCRATCH, offset + 8)];
            for (r, at) in pair {
                p.line(format!(
                    "{} {r}, {}",
                    load_u::<T>(8),
                    address::<T>(&from, at)
                ));
            }
            for (r, at) in pair {
                p.line(format!("{} {r}, {}", store::<T>(8), address::<T>(&to, at)));
            }
            return;
        }
        let (load, store) = (load_u::<T>(bytes), store::<T>(bytes));
        p.line(format!("{load} {temp}, {}", address::<T>(&from, offset)));
        p.line(format!("{store} {temp}, {}", address::<T>(&to, offset)));
    }

    // `len` counts down by 8 while 8 or more bytes are left. `dst`, `src` and `len` are
    // the loop's own; `scratch` also holds each test's result. As for the literal copy,
    // the pointers need no alignment.
    fn copy_word_loop(&self, p: &mut Printer, dst: VReg, src: VReg, len: VReg, scratch: VReg) {
        let (d, s, n, t) = (reg(p, dst), reg(p, src), reg(p, len), reg(p, scratch));
        let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
        let addi = T::op_imm(AluOp::Add);
        p.label(word);
        p.line(format!("{} {t}, {n}, 8", T::SET_BELOW_IMM));
        p.line(format!("bnez {t}, {tail}f"));
        p.line(format!("{} {t}, {}", load_u::<T>(8), address::<T>(&s, 0)));
        p.line(format!("{} {t}, {}", store::<T>(8), address::<T>(&d, 0)));
        p.line(format!("{addi} {s}, {s}, 8"));
        p.line(format!("{addi} {d}, {d}, 8"));
        p.line(format!("{addi} {n}, {n}, -8"));
        p.line(format!("{} {word}b", T::JUMP));
    }

    fn copy_tail_test(&self, p: &mut Printer, len: VReg, scratch: VReg, bytes: u8, skip: u32) {
        let (n, t) = (reg(p, len), reg(p, scratch));
        p.line(format!("{} {t}, {n}, {bytes}", T::op_imm(AluOp::And)));
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
        let (d, s, t) = (reg(p, dst), reg(p, src), reg(p, scratch));
        let (load, store) = (load_u::<T>(bytes), store::<T>(bytes));
        p.line(format!("{load} {t}, {}", address::<T>(&s, 0)));
        p.line(format!("{store} {t}, {}", address::<T>(&d, 0)));
        if advance {
            let addi = T::op_imm(AluOp::Add);
            p.line(format!("{addi} {s}, {s}, {bytes}"));
            p.line(format!("{addi} {d}, {d}, {bytes}"));
        }
    }
}
