//! loongarch64 backend (LA64, the LLVM assembler's syntax): a [`Risc`] table, riscv64's
//! twin (see `risc.rs` for the shape they share).
//!
//! Sources: the kernel selftests' `rseq-loongarch.h` and librseq's `rseq/arch/loongarch.h`
//! (signature, barriers, `la.local` for the descriptor), glibc's
//! `sysdeps/unix/sysv/linux/loongarch/bits/rseq.h` (`RSEQ_SIG 0x002a0010`, `break 0x10`;
//! checked in trixie's libc6-dev-loong64-cross 2.41), the Rust Reference's `asm!`
//! registers for LoongArch. Differences from riscv64:
//!
//! - Loads and stores are `ld.d rd, base, disp12` (`base, disp`, no parentheses).
//! - `andi`/`ori`/`xori` take a 12-bit unsigned immediate (`addi.d` a signed one).
//! - Narrow values: `bstrpick.d` zero-extends any width, `ext.w.b`/`ext.w.h`/`addi.w`
//!   sign-extend.
//! - Barriers are `dbar` hints, as the kernel's `__smp_load_acquire`/`__smp_store_release`
//!   and librseq use: `0x14` after an acquire load, `0x12` before a release store. Cores
//!   without the finer hints execute every `dbar` hint as the full `dbar 0`.
//! - Conditional branches reach +-128 KiB, `b` +-128 MiB.

use super::risc::{Risc, RiscBackend};
use super::Printer;
use crate::lower::{AluOp, Width};

/// The table; [`BACKEND`] is the backend.
pub struct Loongarch64;

pub const BACKEND: RiscBackend<Loongarch64> = RiscBackend(Loongarch64);

impl Risc for Loongarch64 {
    const NAME: &'static str = "loongarch64";
    /// `asm!`'s `reg` class: $r1 (ra), $r4..$r20, $r23..$r30. Never $zero, $tp, $sp, $r21
    /// (reserved by the ABI), $fp ($r22), nor $r31, which LLVM keeps for itself.
    const REGISTERS: usize = 26;
    /// `break 0x10`, as a data word.
    const SIGNATURE: u32 = 0x002a_0010;
    const LOADS: [[&'static str; 2]; 4] = [
        ["ld.bu", "ld.b"],
        ["ld.hu", "ld.h"],
        ["ld.wu", "ld.w"],
        ["ld.d", "ld.d"],
    ];
    const STORES: [&'static str; 4] = ["st.b", "st.h", "st.w", "st.d"];
    const ZERO: &'static str = "$zero";
    const MOVE: &'static str = "move";
    // The assembler's shortest lu12i.w/ori/lu32i.d/lu52i.d sequence for the value.
    const LOAD_IMM: &'static str = "li.d";
    // pcalau12i + addi.d: pc-relative within +-2 GiB, no GOT.
    const LOAD_ADDRESS: &'static str = "la.local";
    const JUMP: &'static str = "b";
    const SET_BELOW_IMM: &'static str = "sltui";
    const ACQUIRE_BARRIER: &'static str = "dbar 0x14";
    const RELEASE_BARRIER: &'static str = "dbar 0x12";

    fn op(op: AluOp) -> &'static str {
        match op {
            AluOp::Add => "add.d",
            AluOp::Sub => "sub.d",
            AluOp::Mul => "mul.d",
            AluOp::And => "and",
            AluOp::Or => "or",
            AluOp::Xor => "xor",
            AluOp::Shl => "sll.d",
            AluOp::Shr => "srl.d",
            AluOp::Sar => "sra.d",
        }
    }

    fn op_imm(op: AluOp) -> &'static str {
        match op {
            AluOp::Add | AluOp::Sub => "addi.d",
            AluOp::Mul | AluOp::Shl => "slli.d",
            AluOp::And => "andi",
            AluOp::Or => "ori",
            AluOp::Xor => "xori",
            AluOp::Shr => "srli.d",
            AluOp::Sar => "srai.d",
        }
    }

    fn logic_imm_fits(value: i64) -> bool {
        (0..=4095).contains(&value)
    }

    fn address(base: &str, disp: &str) -> String {
        format!("{base}, {disp}")
    }

    fn not(dst: &str, src: &str) -> String {
        format!("nor {dst}, {src}, $zero")
    }

    fn neg(dst: &str, src: &str) -> String {
        format!("sub.d {dst}, $zero, {src}")
    }

    fn extend(p: &mut Printer, d: &str, s: &str, width: Width) {
        match (width.bytes, width.signed) {
            (1, true) => p.line(format!("ext.w.b {d}, {s}")),
            (2, true) => p.line(format!("ext.w.h {d}, {s}")),
            (_, true) => p.line(format!("addi.w {d}, {s}, 0")),
            (bytes, false) => p.line(format!("bstrpick.d {d}, {s}, {}, 0", 8 * bytes - 1)),
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

    fn emit(tokens: proc_macro2::TokenStream) -> Vec<String> {
        let (_, lowered) = compile_section(tokens, &BACKEND, Instrumentation::default()).unwrap();
        BACKEND.emit(&lowered)
    }

    #[test]
    fn descriptor_is_stored_pc_relative_and_the_signature_precedes_the_abort_label() {
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }));
        // 64-bit fields: start, length to the post-commit label, abort.
        assert!(lines.contains(&"  .quad 4f, (5f - 4f), 6f".to_string()));
        let store = lines.iter().position(|l| l == "4:").unwrap();
        assert_eq!(lines[store - 2], "la.local {scratch}, 3b");
        assert_eq!(lines[store - 1], "st.d {scratch}, {s0}, 8");
        let abort = lines.iter().position(|l| l == "6:").unwrap();
        assert_eq!(lines[abort - 1], "  .word 0x002a0010");
        assert_eq!(lines[abort - 2], "  .balign 4");
    }

    #[test]
    fn register_budget_is_loongarch64s() {
        // 23 inputs fit in the 26 registers, 24 do not.
        crate::arch::risc::assert_register_budget(&BACKEND);
    }

    #[test]
    fn immediates_beyond_12_bits_go_through_li_d() {
        assert!(BACKEND.imm_fits(2047) && BACKEND.imm_fits(-2047));
        assert!(!BACKEND.imm_fits(2048) && !BACKEND.imm_fits(-2048));
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit *p += 0x12345678; }));
        let add = lines
            .iter()
            .position(|l| l.starts_with("add.d "))
            .expect("a register add");
        assert!(lines[..add]
            .iter()
            .any(|l| l.starts_with("li.d ") && l.ends_with(", 305419896")));
        // andi's immediate is unsigned: a positive mask is one andi, a negative one goes
        // through the scratch register.
        let masked = |mask: i64| {
            let mask = proc_macro2::Literal::i64_unsuffixed(mask);
            emit(quote!(|cpu| {
                in p: *mut i64 = q;
                let v: i64 = *p;
                commit *p = v & #mask;
            }))
        };
        let lines = masked(0x7f0);
        assert!(lines
            .iter()
            .any(|l| l.starts_with("andi ") && l.ends_with(", 2032")));
        let lines = masked(-16);
        let and = lines.iter().position(|l| l.starts_with("and ")).unwrap();
        assert_eq!(lines[and - 1], "li.d {scratch}, -16");
        let mem = |disp| Mem {
            base: 0,
            index: None,
            disp,
            field: None,
        };
        let width = Width {
            bytes: 8,
            signed: false,
        };
        assert!(BACKEND.mem_fits(&mem(-2048), width) && BACKEND.mem_fits(&mem(2047), width));
        assert!(!BACKEND.mem_fits(&mem(2048), width));
    }

    #[test]
    fn widths_pick_their_loads_stores_and_extensions() {
        let lines = emit(quote!(|cpu| {
            in p: *mut i16 = q;
            in b: *mut u8 = r;
            in w: *mut u32 = s;
            let v: i16 = *p;
            let x: u8 = *b;
            let y: u32 = *w;
            store *b = x + 1;
            store *w = y + 1;
            let t: i16 = v * 3;
            commit *p = t - 1;
        }));
        for mnemonic in [
            "ld.h ", "ld.bu ", "ld.wu ", "st.b ", "st.w ", "st.h ", "ext.w.h ",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(mnemonic)),
                "no {mnemonic}in {lines:#?}"
            );
        }
    }

    #[test]
    fn release_and_acquire_take_their_dbar_hints() {
        let lines = emit(quote!(|cpu| { in p: *mut u64 = q; commit(release) *p = 1; }));
        let store = lines.iter().rposition(|l| l.starts_with("st.d ")).unwrap();
        assert_eq!(lines[store - 1], "dbar 0x12");
        assert_eq!(lines[store + 1], "5:");
        let lines = emit(quote!(|cpu| {
            in p: *mut u64 = q;
            let v: u64 = p.load_acquire();
            commit *p = v + 1;
        }));
        let load = lines.iter().position(|l| l.starts_with("ld.d ")).unwrap();
        assert_eq!(lines[load + 1], "dbar 0x14");
    }
}
