//! i686 backend: 32-bit x86, the x86_64 instruction set ([`X86Mode`]) at a word of 4 bytes.
//!
//! What differs from x86_64, and why:
//!
//! - Registers and pointers are 32 bits; 64-bit integers take no section here (see
//!   `lower::wide_value`): such a section runs as on a target without a backend.
//! - `asm!` hands out eax, ebx, ecx, edx and edi (esi is LLVM's base pointer, ebp the frame
//!   pointer): five registers, so wide sections stop at the register budget.
//! - Only eax..edx have byte forms: `scratch` is a `reg_abcd` register, and a byte store
//!   stages its value there.
//! - No `rip`-relative addressing: the descriptor's address is found with a `call` to the
//!   next instruction and a `pop` (position-independent, no relocation in `.text`), so the
//!   template uses the stack and the expansion leaves out `options(nostack)`.
//! - The descriptor's and the tables' 64-bit fields hold a 32-bit pointer and a zero word,
//!   and the store into `rseq_cs` writes its low half (the high half is never anything but
//!   zero: nothing stores 64-bit pointers into it on this target).

use super::x86_64::X86Mode;
use super::{Printer, DESCRIPTOR_LABEL};
use crate::lower::{FieldLimit, Mem, Target, VReg, Width};

pub struct I686;

/// The label of the `call`'s return address in the descriptor-address sequence.
const PC_LABEL: u32 = 7;

impl Target for I686 {
    fn name(&self) -> &'static str {
        "i686"
    }

    fn word_bits(&self) -> u8 {
        32
    }

    /// eax, ebx, ecx, edx, edi.
    fn registers(&self) -> usize {
        5
    }

    fn scratch_class(&self) -> &'static str {
        "reg_abcd"
    }

    fn uses_stack(&self) -> bool {
        true
    }

    fn imm_fits(&self, value: i64) -> bool {
        i32::try_from(value).is_ok()
    }

    fn mem_fits(&self, mem: &Mem, _width: Width) -> bool {
        i32::try_from(mem.disp).is_ok()
    }

    fn field_fits(&self, mem: &Mem, _width: Width, _ordered: bool) -> Option<FieldLimit> {
        Some(self.lea_field_limit(mem))
    }

    fn shift_count_register(&self) -> Option<&'static str> {
        Some("ecx")
    }

    fn lea_field_limit(&self, mem: &Mem) -> FieldLimit {
        FieldLimit {
            max: (i64::from(i32::MAX) - mem.disp.max(0)) as u64,
            multiple: 1,
        }
    }
}

impl X86Mode for I686 {
    const WORD: u8 = 4;

    fn descriptor_address(&self, p: &mut Printer) {
        p.line(format!("call {PC_LABEL}f"));
        p.label(PC_LABEL);
        p.line("pop {scratch}");
        // The descriptor's distance from label 7, across sections: the assembler emits a
        // pc-relative relocation (R_386_PC32). LLVM's Intel parser takes no difference of
        // two labels as an operand, so this one line is in AT&T syntax.
        p.line("  .att_syntax");
        p.line(format!(
            "leal ({DESCRIPTOR_LABEL}b - {PC_LABEL}b)(%{{scratch}}), %{{scratch}}"
        ));
        p.line("  .intel_syntax noprefix");
    }

    fn byte_register(&self, p: &mut Printer, vreg: VReg) -> String {
        p.line(format!("mov {{scratch}}, {{s{}}}", p.slot(vreg)));
        "{scratch:l}".to_string()
    }
}
