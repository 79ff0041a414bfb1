//! riscv64 backend (the GNU assembler syntax of `asm!` on RISC-V, RV64GC): a [`Risc`]
//! table (see `risc.rs` for the shape it shares with loongarch64).
//!
//! - Loads and stores are `disp(base)`; a release commit is `fence rw,w` then the store,
//!   an acquire load the load then `fence r,rw` (the mapping of the RISC-V memory model,
//!   table A.6).
//! - `andi`/`ori`/`xori` take a 12-bit signed immediate, as `addi` does.
//! - Narrow values are re-normalised with shift pairs (`slli` + `srli`/`srai`), or
//!   `andi`/`sext.w` where one instruction does it (RV64GC has no Zba/Zbb).
//! - The signature word is 4-byte aligned right before the abort label, as in the kernel
//!   selftests' `rseq-riscv.h` (with the C extension, instructions are only 2-byte
//!   aligned).

use super::risc::{is_simm12, Risc, RiscBackend};
use super::Printer;
use crate::lower::{AluOp, Width};

/// The table; [`BACKEND`] is the backend.
pub struct Riscv64;

pub const BACKEND: RiscBackend<Riscv64> = RiscBackend(Riscv64);

impl Risc for Riscv64 {
    const NAME: &'static str = "riscv64";
    /// `asm!`'s `reg` class on riscv64: x1 (ra), x5..x7, x10..x31. Never zero, sp, gp, tp,
    /// the frame pointer x8, nor x9 (s1), which LLVM keeps for itself.
    const REGISTERS: usize = 26;
    /// glibc's and the kernel selftests' riscv `RSEQ_SIG` (`csrw mhartid, x0`: an illegal
    /// instruction in user mode).
    const SIGNATURE: u32 = 0xf140_1073;
    const LOADS: [[&'static str; 2]; 4] =
        [["lbu", "lb"], ["lhu", "lh"], ["lwu", "lw"], ["ld", "ld"]];
    const STORES: [&'static str; 4] = ["sb", "sh", "sw", "sd"];
    const ZERO: &'static str = "zero";
    const MOVE: &'static str = "mv";
    // `li` expands to the shortest lui/addi(w)/slli sequence for any 64-bit value.
    const LOAD_IMM: &'static str = "li";
    // `lla`: auipc + addi, pc-relative (position-independent, no GOT).
    const LOAD_ADDRESS: &'static str = "lla";
    const JUMP: &'static str = "j";
    const SET_BELOW_IMM: &'static str = "sltiu";
    const ACQUIRE_BARRIER: &'static str = "fence r,rw";
    const RELEASE_BARRIER: &'static str = "fence rw, w";

    fn op(op: AluOp) -> &'static str {
        match op {
            AluOp::Add => "add",
            AluOp::Sub => "sub",
            AluOp::Mul => "mul",
            AluOp::And => "and",
            AluOp::Or => "or",
            AluOp::Xor => "xor",
            AluOp::Shl => "sll",
            AluOp::Shr => "srl",
            AluOp::Sar => "sra",
        }
    }

    fn op_imm(op: AluOp) -> &'static str {
        match op {
            AluOp::Add | AluOp::Sub => "addi",
            AluOp::Mul | AluOp::Shl => "slli",
            AluOp::And => "andi",
            AluOp::Or => "ori",
            AluOp::Xor => "xori",
            AluOp::Shr => "srli",
            AluOp::Sar => "srai",
        }
    }

    fn logic_imm_fits(value: i64) -> bool {
        is_simm12(value)
    }

    fn address(base: &str, disp: &str) -> String {
        format!("{disp}({base})")
    }

    fn not(dst: &str, src: &str) -> String {
        format!("not {dst}, {src}")
    }

    fn neg(dst: &str, src: &str) -> String {
        format!("neg {dst}, {src}")
    }

    fn extend(p: &mut Printer, d: &str, s: &str, width: Width) {
        match (width.bytes, width.signed) {
            (1, false) => p.line(format!("andi {d}, {s}, 255")),
            (4, true) => p.line(format!("sext.w {d}, {s}")),
            (bytes, signed) => {
                // Up to the top, then back: logical (zero) or arithmetic (sign).
                let shift = 64 - 8 * u32::from(bytes);
                let right = if signed { "srai" } else { "srli" };
                p.line(format!("slli {d}, {s}, {shift}"));
                p.line(format!("{right} {d}, {d}, {shift}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Backend;
    use crate::expand::compile_section;
    use crate::lower::{Instrumentation, Mem, Target};
    use quote::quote;

    #[test]
    fn register_budget_is_riscv64s() {
        // 23 inputs fit in the 26 registers, 24 do not.
        crate::arch::risc::assert_register_budget(&BACKEND);
    }

    #[test]
    fn signature_word_is_right_before_the_abort_label() {
        let (_, lowered) = compile_section(
            quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }),
            &BACKEND,
            Instrumentation::default(),
        )
        .unwrap();
        let lines = BACKEND.emit(&lowered);
        let abort = lines.iter().position(|l| l == "6:").unwrap();
        assert_eq!(lines[abort - 1], "  .word 0xf1401073");
        assert_eq!(lines[abort - 2], "  .balign 4");
    }

    #[test]
    fn immediates_and_addresses_stay_in_12_bits() {
        for value in [-2047, 0, 2047] {
            assert!(BACKEND.imm_fits(value));
        }
        for value in [-2048, 2048, i64::MIN, i64::MAX] {
            assert!(!BACKEND.imm_fits(value));
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
        assert!(BACKEND.mem_fits(&mem(None, -2048), width));
        assert!(BACKEND.mem_fits(&mem(None, 2047), width));
        assert!(!BACKEND.mem_fits(&mem(None, 2048), width));
        assert!(!BACKEND.mem_fits(&mem(Some((1, 8)), 0), width));
    }
}
