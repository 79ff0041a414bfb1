//! x86 backends (Intel syntax, as `asm!` defaults to): x86_64 here, and the instruction
//! set shared with i686 ([`X86Mode`]), which differs only in its word size, its registers
//! and how it finds the descriptor's address.
//!
//! With `asm goto` the committed path falls through the template's end and branches go
//! straight to the expansion's label operands (`jcc rel32` reaches them); otherwise the
//! committed path sets the status and exits go through stubs that set it. Either way the
//! abort handler the kernel jumps to lives in `__rseq_failure`, out of the hot path's way
//! ([`Layout::OutOfLine`]).

use std::fmt::Write;

use super::DESCRIPTOR_LABEL;
use super::{Cond, Isa, Layout, Printer, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL};
use crate::lower::{AluOp, FieldLimit, Mem, Operand, Target, VReg, Width, RSEQ_CS_OFFSET};

pub struct X86_64;

/// glibc's x86 `RSEQ_SIG` (both word sizes).
pub const SIGNATURE: u32 = 0x5305_3053;

impl Target for X86_64 {
    fn name(&self) -> &'static str {
        "x86_64"
    }

    /// rax, rcx, rdx, rsi, rdi, r8..r15: `asm!` reserves rbx, rbp and rsp.
    fn registers(&self) -> usize {
        13
    }

    fn imm_fits(&self, value: i64) -> bool {
        i32::try_from(value).is_ok()
    }

    fn mem_fits(&self, mem: &Mem, _width: Width) -> bool {
        i32::try_from(mem.disp).is_ok()
    }

    /// Any memory operand: the field's offset joins the 32-bit signed displacement.
    fn field_fits(&self, mem: &Mem, _width: Width, _ordered: bool) -> Option<FieldLimit> {
        Some(self.lea_field_limit(mem))
    }

    /// `shl`, `shr` and `sar` take a register count in `cl` only.
    fn shift_count_register(&self) -> Option<&'static str> {
        Some("rcx")
    }

    fn lea_field_limit(&self, mem: &Mem) -> FieldLimit {
        FieldLimit {
            max: (i64::from(i32::MAX) - mem.disp.max(0)) as u64,
            multiple: 1,
        }
    }
}

impl X86Mode for X86_64 {
    const WORD: u8 = 8;

    /// `rip`-relative: position-independent with no relocation in `.text`.
    fn descriptor_address(&self, p: &mut Printer) {
        p.line(format!("lea {{scratch}}, [rip + {DESCRIPTOR_LABEL}b]"));
    }
}

/// What distinguishes the x86 word sizes; the rest of the instruction set is shared.
pub trait X86Mode: Target {
    /// Register and pointer size in bytes.
    const WORD: u8;
    /// Puts the descriptor's address into `scratch`.
    fn descriptor_address(&self, p: &mut Printer);
    /// The name of the low byte of `vreg`'s register for a byte store, with the moves
    /// that make one available. x86_64 names any register's low byte; i686 has byte
    /// registers only for eax..edx, and stages the value in one of those.
    fn byte_register(&self, p: &mut Printer, vreg: VReg) -> String {
        reg::<Self>(p, vreg, 1)
    }
}

/// Register-name modifier for an access of `bytes`: none for a whole register.
fn modifier<M: X86Mode + ?Sized>(bytes: u8) -> &'static str {
    match bytes {
        _ if bytes >= M::WORD => "",
        1 => ":l",
        2 => ":x",
        _ => ":e",
    }
}

fn ptr_size(bytes: u8) -> &'static str {
    match bytes {
        1 => "byte",
        2 => "word",
        4 => "dword",
        _ => "qword",
    }
}

fn reg<M: X86Mode + ?Sized>(p: &Printer, vreg: VReg, bytes: u8) -> String {
    format!("{{s{}{}}}", p.slot(vreg), modifier::<M>(bytes))
}

/// The whole register of `vreg`.
fn full<M: X86Mode + ?Sized>(p: &Printer, vreg: VReg) -> String {
    reg::<M>(p, vreg, M::WORD)
}

fn address<M: X86Mode + ?Sized>(p: &Printer, mem: &Mem) -> String {
    let mut text = format!("[{}", full::<M>(p, mem.base));
    if let Some((index, scale)) = mem.index {
        let _ = write!(text, " + {}*{scale}", full::<M>(p, index));
    }
    match mem.disp {
        0 => {}
        d if d < 0 => {
            let _ = write!(text, " - {}", -d);
        }
        d => {
            let _ = write!(text, " + {d}");
        }
    }
    if let Some(field) = mem.field {
        let _ = write!(text, " + {{c{field}}}");
    }
    text.push(']');
    text
}

fn mem<M: X86Mode + ?Sized>(p: &Printer, mem: &Mem, bytes: u8) -> String {
    format!("{} ptr {}", ptr_size(bytes), address::<M>(p, mem))
}

fn operand<M: X86Mode + ?Sized>(p: &Printer, operand: &Operand, bytes: u8) -> String {
    match operand {
        Operand::Reg(vreg) => reg::<M>(p, *vreg, bytes),
        Operand::Imm(value) => match bytes {
            1 => (*value as i8).to_string(),
            2 => (*value as i16).to_string(),
            4 => (*value as i32).to_string(),
            _ => value.to_string(),
        },
        Operand::SizeOf(index) => format!("{{c{index}}}"),
    }
}

/// `mov dst, src` unless both live in the same slot.
fn copy_reg<M: X86Mode + ?Sized>(p: &mut Printer, dst: VReg, src: VReg) {
    if p.slot(dst) != p.slot(src) {
        let line = format!("mov {}, {}", full::<M>(p, dst), full::<M>(p, src));
        p.line(line);
    }
}

/// The load (or register move, `from` being a register) that normalises `width` bytes
/// into the whole of `dst`: zero- or sign-extending.
fn extending_move<M: X86Mode + ?Sized>(p: &Printer, dst: VReg, from: &str, width: Width) -> String {
    match (width.bytes, width.signed) {
        (1 | 2, false) => format!("movzx {}, {from}", reg::<M>(p, dst, 4)),
        (1 | 2, true) => format!("movsx {}, {from}", full::<M>(p, dst)),
        (4, false) => format!("mov {}, {from}", reg::<M>(p, dst, 4)),
        (4, true) if M::WORD == 4 => format!("mov {}, {from}", full::<M>(p, dst)),
        (4, true) => format!("movsxd {}, {from}", full::<M>(p, dst)),
        _ => format!("mov {}, {from}", full::<M>(p, dst)),
    }
}

/// The source of a store of `bytes`: a register, sized (a byte register as
/// [`X86Mode::byte_register`] provides it), or an immediate.
fn store_source<M: X86Mode>(isa: &M, p: &mut Printer, src: &Operand, bytes: u8) -> String {
    match src {
        Operand::Reg(vreg) if bytes == 1 => isa.byte_register(p, *vreg),
        other => operand::<M>(p, other, bytes),
    }
}

/// Moves `bytes` from `from` to `to` through `scratch` (widened loads, the store sized).
fn move_through<M: X86Mode>(
    isa: &M,
    p: &mut Printer,
    to: &str,
    from: &str,
    scratch: VReg,
    bytes: u8,
) {
    let load = match bytes {
        1 | 2 => format!("movzx {}, {from}", reg::<M>(p, scratch, 4)),
        _ => format!("mov {}, {from}", reg::<M>(p, scratch, bytes)),
    };
    p.line(load);
    let value = store_source(isa, p, &Operand::Reg(scratch), bytes);
    p.line(format!("mov {to}, {value}"));
}

impl<M: X86Mode> Isa for M {
    fn pointer_bytes(&self) -> u8 {
        M::WORD
    }

    fn layout(&self, _goto: bool) -> Layout {
        Layout::OutOfLine
    }

    /// The signature, as the immediate of a trapping `ud1`, right before the abort label.
    fn signature(&self) -> Vec<String> {
        vec![
            "  .byte 0x0f, 0xb9, 0x3d".to_string(),
            format!("  .long {SIGNATURE:#010x}"),
        ]
    }

    fn condition(&self, cond: Cond) -> &'static str {
        match cond {
            Cond::Eq => "je",
            Cond::Ne => "jne",
            Cond::Lt => "jl",
            Cond::Lo => "jb",
            Cond::Le => "jle",
            Cond::Ls => "jbe",
            Cond::Gt => "jg",
            Cond::Hi => "ja",
            Cond::Ge => "jge",
            Cond::Hs => "jae",
        }
    }

    fn jump(&self, target: &str) -> String {
        format!("jmp {target}")
    }

    fn set_status(&self, p: &mut Printer, status: usize) {
        match status {
            0 => p.line("xor {scratch:e}, {scratch:e}"),
            _ => p.line(format!("mov {{scratch:e}}, {status}")),
        }
    }

    fn store_result(&self, p: &mut Printer, value: &Operand) {
        let line = format!("mov {{result}}, {}", operand::<M>(p, value, M::WORD));
        p.line(line);
    }

    fn store_descriptor(&self, p: &mut Printer, area: VReg) {
        self.descriptor_address(p);
        // A 32-bit pointer fills the low half of `rseq_cs`: the high half stays zero.
        let line = format!(
            "mov {} ptr [{} + {RSEQ_CS_OFFSET}], {{scratch}}",
            ptr_size(M::WORD),
            full::<M>(p, area)
        );
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
        let line = format!(
            "cmp dword ptr [{} + {offset}], {}",
            full::<M>(p, area),
            reg::<M>(p, index, 4)
        );
        p.line(line);
        p.line(format!("jne {target}"));
    }

    fn compare_branch(&self, p: &mut Printer, cond: Cond, lhs: VReg, rhs: &Operand, target: &str) {
        let l = full::<M>(p, lhs);
        let line = match (cond, rhs) {
            (Cond::Eq | Cond::Ne, Operand::Imm(0)) => format!("test {l}, {l}"),
            _ => format!("cmp {l}, {}", operand::<M>(p, rhs, M::WORD)),
        };
        p.line(line);
        p.line(format!("{} {target}", self.condition(cond)));
    }

    // Every x86 load is an acquire load (TSO): `load_acquire` is a plain one.
    fn load(&self, p: &mut Printer, dst: VReg, mem: &Mem, width: Width, _acquire: bool) {
        let src = self::mem::<M>(p, mem, width.bytes);
        let line = extending_move::<M>(p, dst, &src, width);
        p.line(line);
    }

    fn store(&self, p: &mut Printer, mem: &Mem, src: &Operand, width: Width) {
        let value = store_source(self, p, src, width.bytes);
        let line = format!("mov {}, {value}", self::mem::<M>(p, mem, width.bytes));
        p.line(line);
    }

    fn mov(&self, p: &mut Printer, dst: VReg, src: &Operand) {
        match src {
            Operand::Reg(src) => copy_reg::<M>(p, dst, *src),
            Operand::Imm(0) => {
                let line = format!("xor {0}, {0}", reg::<M>(p, dst, 4));
                p.line(line);
            }
            other => {
                let line = format!(
                    "mov {}, {}",
                    full::<M>(p, dst),
                    operand::<M>(p, other, M::WORD)
                );
                p.line(line);
            }
        }
    }

    fn lea(&self, p: &mut Printer, dst: VReg, mem: &Mem) {
        let line = format!("lea {}, {}", full::<M>(p, dst), address::<M>(p, mem));
        p.line(line);
    }

    fn alu(&self, p: &mut Printer, op: AluOp, dst: VReg, lhs: VReg, rhs: &Operand) {
        copy_reg::<M>(p, dst, lhs);
        let d = full::<M>(p, dst);
        let r = operand::<M>(p, rhs, M::WORD);
        let line = match op {
            AluOp::Add => format!("add {d}, {r}"),
            AluOp::Sub => format!("sub {d}, {r}"),
            AluOp::And => format!("and {d}, {r}"),
            AluOp::Or => format!("or {d}, {r}"),
            AluOp::Xor => format!("xor {d}, {r}"),
            AluOp::Mul => match rhs {
                Operand::Reg(_) => format!("imul {d}, {r}"),
                _ => format!("imul {d}, {d}, {r}"),
            },
            AluOp::Shl | AluOp::Shr | AluOp::Sar => {
                let mnemonic = match op {
                    AluOp::Shl => "shl",
                    AluOp::Shr => "shr",
                    _ => "sar",
                };
                match rhs {
                    // The count in `cl` (the lowering declared `rcx`/`ecx` clobbered); a
                    // shift takes it modulo the register's width.
                    Operand::Reg(count) => {
                        let line = format!("mov ecx, {}", reg::<M>(p, *count, 4));
                        p.line(line);
                        format!("{mnemonic} {d}, cl")
                    }
                    _ => format!("{mnemonic} {d}, {r}"),
                }
            }
        };
        p.line(line);
    }

    fn not(&self, p: &mut Printer, dst: VReg, src: VReg) {
        copy_reg::<M>(p, dst, src);
        let line = format!("not {}", full::<M>(p, dst));
        p.line(line);
    }

    fn neg(&self, p: &mut Printer, dst: VReg, src: VReg) {
        copy_reg::<M>(p, dst, src);
        let line = format!("neg {}", full::<M>(p, dst));
        p.line(line);
    }

    fn extend(&self, p: &mut Printer, dst: VReg, src: VReg, width: Width) {
        if width.bytes >= M::WORD {
            return copy_reg::<M>(p, dst, src);
        }
        let from = match width.bytes {
            1 => self.byte_register(p, src),
            bytes => reg::<M>(p, src, bytes),
        };
        let line = extending_move::<M>(p, dst, &from, width);
        p.line(line);
    }

    // x86 stores are already release-ordered (TSO): `commit(release)` is a plain store.
    fn commit(
        &self,
        p: &mut Printer,
        mem: &Mem,
        src: &Operand,
        width: Width,
        add: bool,
        _release: bool,
    ) {
        let mnemonic = if add { "add" } else { "mov" };
        let value = store_source(self, p, src, width.bytes);
        let line = format!(
            "{mnemonic} {}, {value}",
            self::mem::<M>(p, mem, width.bytes)
        );
        p.line(line);
    }

    fn spin_enter(&self, p: &mut Printer, counter: VReg) {
        let line = format!("add {}, 1", reg::<M>(p, counter, 4));
        p.line(line);
    }

    fn spin_step(&self, p: &mut Printer, counter: VReg, label: &str) {
        let line = format!("sub {}, 1", reg::<M>(p, counter, 4));
        p.line(line);
        p.line(format!("jnz {label}"));
    }

    fn copy_chunk_max(&self) -> u8 {
        M::WORD
    }

    fn copy_chunk(
        &self,
        p: &mut Printer,
        dst: VReg,
        src: VReg,
        scratch: VReg,
        offset: i64,
        bytes: u8,
    ) {
        let from = self::mem::<M>(p, &Mem::at_disp(src, offset), bytes);
        let to = self::mem::<M>(p, &Mem::at_disp(dst, offset), bytes);
        move_through(self, p, &to, &from, scratch, bytes);
    }

    // `len` counts down by a word while a word or more is left; then its low bits are the
    // tail, each copied if set. `dst`, `src` and `len` are the loop's own.
    fn copy_word_loop(&self, p: &mut Printer, dst: VReg, src: VReg, len: VReg, scratch: VReg) {
        let (d, s, n) = (full::<M>(p, dst), full::<M>(p, src), full::<M>(p, len));
        let t = full::<M>(p, scratch);
        let (word, tail, size) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0], ptr_size(M::WORD));
        let bytes = M::WORD;
        p.line(format!("cmp {n}, {bytes}"));
        p.line(format!("jb {tail}f"));
        p.label(word);
        p.line(format!("mov {t}, {size} ptr [{s}]"));
        p.line(format!("mov {size} ptr [{d}], {t}"));
        p.line(format!("add {s}, {bytes}"));
        p.line(format!("add {d}, {bytes}"));
        p.line(format!("sub {n}, {bytes}"));
        p.line(format!("cmp {n}, {bytes}"));
        p.line(format!("jae {word}b"));
    }

    fn copy_tail_test(&self, p: &mut Printer, len: VReg, _scratch: VReg, bytes: u8, skip: u32) {
        let line = format!("test {}, {bytes}", reg::<M>(p, len, 4));
        p.line(line);
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
        let (from, to) = (
            self::mem::<M>(p, &Mem::at(src), bytes),
            self::mem::<M>(p, &Mem::at(dst), bytes),
        );
        move_through(self, p, &to, &from, scratch, bytes);
        if advance {
            let (s, d) = (full::<M>(p, src), full::<M>(p, dst));
            p.line(format!("add {s}, {bytes}"));
            p.line(format!("add {d}, {bytes}"));
        }
    }
}
