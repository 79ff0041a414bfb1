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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Backend;
    use crate::expand::compile_section;
    use crate::lower::Instrumentation;
    use quote::quote;

    fn emit(tokens: proc_macro2::TokenStream) -> Vec<String> {
        let (_, lowered) = compile_section(tokens, &I686, Instrumentation::default()).unwrap();
        I686.emit(&lowered)
    }

    #[test]
    fn descriptor_fields_are_32_bit_pointers_and_a_zero_word() {
        let lines = emit(quote!(|cpu| { in p: *mut usize = q; commit *p += 1; }));
        assert!(lines.contains(&"  .long 4f, 0, (5f - 4f), 0, 6f, 0".to_string()));
        assert!(lines.contains(&"mov dword ptr [{s0} + 8], {scratch}".to_string()));
        let abort = lines.iter().position(|l| l == "6:").unwrap();
        assert_eq!(lines[abort - 1], "  .long 0x53053053");
    }

    #[test]
    fn a_byte_store_goes_through_a_byte_register() {
        let lines = emit(quote!(|cpu| { in p: *mut u8 = q; let v: u8 = *p; commit *p = v + 1; }));
        let store = lines
            .iter()
            .position(|l| l.starts_with("mov byte ptr"))
            .unwrap();
        assert!(lines[store].ends_with("{scratch:l}"), "{}", lines[store]);
        assert!(lines[store - 1].starts_with("mov {scratch}, "));
    }

    #[test]
    fn sixty_four_bit_values_take_no_section() {
        let error = match compile_section(
            quote!(|cpu| { in p: *mut u64 = q; commit *p += 1; }),
            &I686,
            Instrumentation::default(),
        ) {
            Ok(_) => panic!("a u64 section compiled for i686"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("`p: *mut u64` needs 64-bit registers"),
            "{error}"
        );
    }

    #[test]
    fn register_budget_is_five() {
        // area, index and scratch besides the inputs: two inputs fit, three do not.
        let two = quote!(|cpu| { in p: *mut usize = q; in n: usize = m; commit *p += n; });
        assert!(compile_section(two, &I686, Instrumentation::default()).is_ok());
        let three = quote!(|cpu| {
            in p: *mut usize = q;
            in n: usize = m;
            in k: usize = j;
            commit *p += n + k;
        });
        let error = match compile_section(three, &I686, Instrumentation::default()) {
            Ok(_) => panic!("six registers fit in five"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains("`asm!` on i686 offers 5"), "{error}");
    }
}
