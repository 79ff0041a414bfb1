//! x86_64 backend (Intel syntax, as `asm!` defaults to).

use std::fmt::Write;

use super::{abort_target, exit_target, spin_label, trap_label, trap_target};
use super::{
    Backend, ABORT_LABEL, ABORT_TARGET, DESCRIPTOR_LABEL, END_LABEL, FIRST_EXIT_LABEL,
    POST_COMMIT_LABEL, START_LABEL, STATUS_ABORTED, STATUS_EXITED, STATUS_FIRST_TRAP,
};
use super::{COPY_TAIL, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL};
use crate::lower::{
    AluOp, CmpOp, FieldLimit, Inst, Lowered, Mem, Operand, Target, Width, RSEQ_CS_OFFSET,
};

pub struct X86_64;

/// glibc's x86 `RSEQ_SIG`.
const SIGNATURE: u32 = 0x5305_3053;

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

/// Register-name modifier for an access of `bytes`.
fn modifier(bytes: u8) -> &'static str {
    match bytes {
        1 => ":l",
        2 => ":x",
        4 => ":e",
        _ => "",
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

struct Printer<'a> {
    lowered: &'a Lowered,
    lines: Vec<String>,
}

impl Printer<'_> {
    fn slot(&self, vreg: usize) -> usize {
        self.lowered.alloc.slot_of[vreg]
    }

    fn reg(&self, vreg: usize, bytes: u8) -> String {
        format!("{{s{}{}}}", self.slot(vreg), modifier(bytes))
    }

    fn mem(&self, mem: &Mem, bytes: u8) -> String {
        let mut text = format!("{} ptr [{}", ptr_size(bytes), self.reg(mem.base, 8));
        if let Some((index, scale)) = mem.index {
            let _ = write!(text, " + {}*{scale}", self.reg(index, 8));
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

    fn operand(&self, operand: &Operand, bytes: u8) -> String {
        match operand {
            Operand::Reg(vreg) => self.reg(*vreg, bytes),
            Operand::Imm(value) => match bytes {
                1 => (*value as i8).to_string(),
                2 => (*value as i16).to_string(),
                4 => (*value as i32).to_string(),
                _ => value.to_string(),
            },
            Operand::SizeOf(index) => format!("{{c{index}}}"),
        }
    }

    fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// `mov dst, src` unless both live in the same slot.
    fn copy_reg(&mut self, dst: usize, src: usize) {
        if self.slot(dst) != self.slot(src) {
            let line = format!("mov {}, {}", self.reg(dst, 8), self.reg(src, 8));
            self.line(line);
        }
    }

    /// Puts a value the section returns into the `result` register.
    fn store_result(&mut self, value: &Operand) {
        let line = format!("mov {{result}}, {}", self.operand(value, 8));
        self.line(line);
    }

    fn inst(&mut self, inst: &Inst) {
        match inst {
            Inst::StoreDescriptor { area } => {
                self.line(format!("lea {{scratch}}, [rip + {DESCRIPTOR_LABEL}b]"));
                let line = format!(
                    "mov qword ptr [{} + {RSEQ_CS_OFFSET}], {{scratch}}",
                    self.reg(*area, 8)
                );
                self.line(line);
                self.line(format!("{START_LABEL}:"));
            }
            Inst::CheckIndex {
                area,
                index,
                offset,
            } => {
                let line = format!(
                    "cmp dword ptr [{} + {offset}], {}",
                    self.reg(*area, 8),
                    self.reg(*index, 4)
                );
                self.line(line);
                self.line(format!("jne {}", abort_target(self.lowered)));
            }
            // Every x86 load is an acquire load (TSO): `load_acquire` is a plain one.
            Inst::Load {
                dst, mem, width, ..
            } => {
                let src = self.mem(mem, width.bytes);
                let line = match (width.bytes, width.signed) {
                    (1 | 2, false) => format!("movzx {}, {src}", self.reg(*dst, 4)),
                    (1 | 2, true) => format!("movsx {}, {src}", self.reg(*dst, 8)),
                    (4, false) => format!("mov {}, {src}", self.reg(*dst, 4)),
                    (4, true) => format!("movsxd {}, {src}", self.reg(*dst, 8)),
                    _ => format!("mov {}, {src}", self.reg(*dst, 8)),
                };
                self.line(line);
            }
            Inst::Store { mem, src, width } => {
                let line = format!(
                    "mov {}, {}",
                    self.mem(mem, width.bytes),
                    self.operand(src, width.bytes)
                );
                self.line(line);
            }
            Inst::Mov { dst, src } => match src {
                Operand::Reg(src) => self.copy_reg(*dst, *src),
                Operand::Imm(0) => {
                    let line = format!("xor {0}, {0}", self.reg(*dst, 4));
                    self.line(line);
                }
                other => {
                    let line = format!("mov {}, {}", self.reg(*dst, 8), self.operand(other, 8));
                    self.line(line);
                }
            },
            Inst::Lea { dst, mem } => {
                let address = self.mem(mem, 8).replacen("qword ptr ", "", 1);
                let line = format!("lea {}, {address}", self.reg(*dst, 8));
                self.line(line);
            }
            Inst::Alu { op, dst, lhs, rhs } => {
                self.copy_reg(*dst, *lhs);
                let d = self.reg(*dst, 8);
                let r = self.operand(rhs, 8);
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
                            // The count in `cl` (the lowering declared `rcx` clobbered);
                            // a 64-bit shift takes it modulo 64.
                            Operand::Reg(count) => {
                                let line = format!("mov ecx, {}", self.reg(*count, 4));
                                self.line(line);
                                format!("{mnemonic} {d}, cl")
                            }
                            _ => format!("{mnemonic} {d}, {r}"),
                        }
                    }
                };
                self.line(line);
            }
            Inst::Not { dst, src } => {
                self.copy_reg(*dst, *src);
                let line = format!("not {}", self.reg(*dst, 8));
                self.line(line);
            }
            Inst::Neg { dst, src } => {
                self.copy_reg(*dst, *src);
                let line = format!("neg {}", self.reg(*dst, 8));
                self.line(line);
            }
            Inst::Extend { dst, src, width } => {
                let s = self.reg(*src, width.bytes);
                let line = match (width.bytes, width.signed) {
                    (1 | 2, false) => format!("movzx {}, {s}", self.reg(*dst, 4)),
                    (1 | 2, true) => format!("movsx {}, {s}", self.reg(*dst, 8)),
                    (4, false) => format!("mov {}, {s}", self.reg(*dst, 4)),
                    (4, true) => format!("movsxd {}, {s}", self.reg(*dst, 8)),
                    _ => return self.copy_reg(*dst, *src),
                };
                self.line(line);
            }
            Inst::CopyBytes {
                dst,
                src,
                len,
                scratch,
            } => {
                let mut offset = 0i64;
                while offset < i64::from(*len) {
                    let left = i64::from(*len) - offset;
                    let bytes: u8 = match left {
                        8.. => 8,
                        4..=7 => 4,
                        2..=3 => 2,
                        _ => 1,
                    };
                    let from = self.mem(&Mem::at_disp(*src, offset), bytes);
                    let to = self.mem(&Mem::at_disp(*dst, offset), bytes);
                    let load = match bytes {
                        1 | 2 => format!("movzx {}, {from}", self.reg(*scratch, 4)),
                        _ => format!("mov {}, {from}", self.reg(*scratch, bytes)),
                    };
                    self.line(load);
                    let store = format!("mov {to}, {}", self.reg(*scratch, bytes));
                    self.line(store);
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
                // are the tail, each copied if set. `dst`, `src` and `len` are the loop's own.
                let (d, s, n) = (self.reg(*dst, 8), self.reg(*src, 8), self.reg(*len, 8));
                let t = self.reg(*scratch, 8);
                let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
                self.line(format!("cmp {n}, 8"));
                self.line(format!("jb {tail}f"));
                self.line(format!("{word}:"));
                self.line(format!("mov {t}, qword ptr [{s}]"));
                self.line(format!("mov qword ptr [{d}], {t}"));
                self.line(format!("add {s}, 8"));
                self.line(format!("add {d}, 8"));
                self.line(format!("sub {n}, 8"));
                self.line(format!("cmp {n}, 8"));
                self.line(format!("jae {word}b"));
                self.line(format!("{tail}:"));
                for (bytes, skip) in COPY_TAIL {
                    let (from, to) = (
                        self.mem(&Mem::at(*src), bytes),
                        self.mem(&Mem::at(*dst), bytes),
                    );
                    let load = match bytes {
                        1 | 2 => format!("movzx {}, {from}", self.reg(*scratch, 4)),
                        _ => format!("mov {}, {from}", self.reg(*scratch, bytes)),
                    };
                    self.line(format!("test {}, {bytes}", self.reg(*len, 4)));
                    self.line(format!("jz {skip}f"));
                    self.line(load);
                    self.line(format!("mov {to}, {}", self.reg(*scratch, bytes)));
                    // The last move needs no advance: nothing follows it.
                    if bytes > 1 {
                        self.line(format!("add {s}, {bytes}"));
                        self.line(format!("add {d}, {bytes}"));
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
                let l = self.reg(*lhs, 8);
                let line = match (op, rhs) {
                    (CmpOp::Eq | CmpOp::Ne, Operand::Imm(0)) => format!("test {l}, {l}"),
                    _ => format!("cmp {l}, {}", self.operand(rhs, 8)),
                };
                self.line(line);
                let jump = match (op, signed) {
                    (CmpOp::Eq, _) => "je",
                    (CmpOp::Ne, _) => "jne",
                    (CmpOp::Lt, true) => "jl",
                    (CmpOp::Lt, false) => "jb",
                    (CmpOp::Le, true) => "jle",
                    (CmpOp::Le, false) => "jbe",
                    (CmpOp::Gt, true) => "jg",
                    (CmpOp::Gt, false) => "ja",
                    (CmpOp::Ge, true) => "jge",
                    (CmpOp::Ge, false) => "jae",
                };
                self.line(format!("{jump} {}", exit_target(self.lowered, *exit)));
            }
            Inst::Spin { counter, point } => {
                let c = self.reg(*counter, 4);
                let label = spin_label(*point);
                self.line(format!("add {c}, 1"));
                self.line(format!("{label}:"));
                self.line(format!("sub {c}, 1"));
                self.line(format!("jnz {label}b"));
            }
            Inst::VerifyIndex {
                area,
                index,
                offset,
                check,
            } => {
                let line = format!(
                    "cmp dword ptr [{} + {offset}], {}",
                    self.reg(*area, 8),
                    self.reg(*index, 4)
                );
                self.line(line);
                self.line(format!("jne {}", trap_target(self.lowered, *check)));
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
                let line = format!("cmp {}, {}", self.reg(*scratch, 8), self.reg(*original, 8));
                self.line(line);
                self.line(format!("jne {}", trap_target(self.lowered, *check)));
            }
            Inst::Commit {
                mem,
                src,
                width,
                add,
                release: _,
            } => {
                // x86 stores are already release-ordered (TSO): `commit(release)` is a plain store.
                let mnemonic = if *add { "add" } else { "mov" };
                let line = format!(
                    "{mnemonic} {}, {}",
                    self.mem(mem, width.bytes),
                    self.operand(src, width.bytes)
                );
                self.line(line);
            }
        }
    }
}

impl Backend for X86_64 {
    /// With `asm goto` the committed path falls through the template's end and branches go
    /// straight to the expansion's label operands (`jcc rel32` reaches them); otherwise the
    /// committed path sets the status and exits go through stubs that set it. Either way
    /// the abort handler the kernel jumps to lives in `__rseq_failure`, out of the hot
    /// path's way.
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
        if !lowered.goto {
            p.line("xor {scratch:e}, {scratch:e}");
        }
        if let Some(value) = &lowered.yielded {
            p.store_result(value);
        }
        if !lowered.goto {
            p.line(format!("{END_LABEL}:"));
        }
        p.line("  .pushsection __rseq_failure, \"ax\"");
        if !lowered.goto {
            for (exit, value) in lowered.exits.iter().enumerate() {
                p.line(format!("{}:", FIRST_EXIT_LABEL + exit as u32));
                if let Some(value) = value {
                    p.store_result(value);
                }
                p.line(format!("mov {{scratch:e}}, {STATUS_EXITED}"));
                p.line(format!("jmp {END_LABEL}b"));
            }
            for check in 0..lowered.checks.len() {
                p.line(format!("{}:", trap_label(check)));
                p.line(format!("mov {{scratch:e}}, {}", STATUS_FIRST_TRAP + check));
                p.line(format!("jmp {END_LABEL}b"));
            }
        }
        // The signature, as the immediate of a trapping `ud1`, right before the abort label.
        p.line("  .byte 0x0f, 0xb9, 0x3d");
        p.line(format!("  .long {SIGNATURE:#010x}"));
        p.line(format!("{ABORT_LABEL}:"));
        if lowered.goto {
            p.line(format!("jmp {ABORT_TARGET}"));
        } else {
            p.line(format!("mov {{scratch:e}}, {STATUS_ABORTED}"));
            p.line(format!("jmp {END_LABEL}b"));
        }
        p.line("  .popsection");
        let goto = lowered.goto;
        p.lines
            .extend(super::exit_point_table(lowered.exits.len(), |exit| {
                (!goto).then(|| format!("{}b", FIRST_EXIT_LABEL + exit as u32))
            }));
        p.lines
    }
}
