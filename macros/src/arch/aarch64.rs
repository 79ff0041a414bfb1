//! aarch64 backend (the assembler syntax of `asm!` on aarch64).
//!
//! Shaped like the x86_64 backend, with three differences that follow from the ISA:
//!
//! - Addresses are `[base, #disp]` or `[base, index, lsl #k]`; anything else is
//!   materialised by lowering with an `Inst::Lea` ([`Target::mem_fits`]). `stlr` and
//!   `ldar` take a bare base register, so a `commit(release)` destination and a
//!   `load_acquire` source are always materialised.
//! - Immediates of `add`/`sub`/`cmp` are 12-bit unsigned, optionally shifted by 12; larger
//!   ones are moved into a register by lowering ([`Target::imm_fits`]), with a
//!   `movz`/`movn` + `movk` sequence.
//! - The `scratch` operand is this backend's scratch register: the cpu_id load, a non-zero
//!   immediate to store, a logical or multiply immediate, and the loaded value of
//!   `commit *p += v`.
//!
//! With `asm goto`, conditional branches (the cpu check, exits, compare-twice checks) go
//! straight to the expansion's label operands, in the same function (they reach only
//! +-1 MiB), and the abort handler the kernel jumps to lives in `__rseq_failure` and leaves
//! with an unconditional `b` (+-128 MiB), as in librseq's arm64 header: the committed path
//! falls through the template's end with nothing to skip. A section with a status keeps
//! its exit stubs and abort handler inline (skipped by a branch): conditional branches
//! cannot target a `__rseq_failure` section that the linker may place after all of `.text`.

use super::{abort_target, exit_target, spin_label, trap_label, trap_target};
use super::{
    Backend, ABORT_LABEL, ABORT_TARGET, DESCRIPTOR_LABEL, END_LABEL, FIRST_EXIT_LABEL,
    POST_COMMIT_LABEL, START_LABEL, STATUS_ABORTED, STATUS_EXITED, STATUS_FIRST_TRAP,
};
use super::{COPY_TAIL, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL};
use crate::lower::{
    AluOp, CmpOp, FieldLimit, Inst, Lowered, Mem, Operand, Target, Width, RSEQ_CS_OFFSET,
};

pub struct Aarch64;

/// glibc's aarch64 `RSEQ_SIG` (`brk #0x45e0`).
const SIGNATURE: u32 = 0xd428_bc00;

/// The scratch register of this backend (see the module docs).
const SCRATCH: &str = "{scratch}";

/// The largest scaled unsigned offset of `ldr`/`str`, in units of the access size.
const MAX_SCALED_OFFSET: i64 = 4095;

/// Whether `value` is an `add`/`sub` immediate: 12 bits, optionally shifted left by 12.
fn is_imm12(value: i64) -> bool {
    (0..4096).contains(&value) || (value & 0xfff == 0 && (0..4096).contains(&(value >> 12)))
}

/// `#v` or `#v, lsl #12` for an `add`/`sub`/`cmp` immediate that [`is_imm12`] accepts.
fn imm12(value: i64) -> String {
    if value < 4096 {
        format!("#{value}")
    } else {
        format!("#{}, lsl #12", value >> 12)
    }
}

impl Target for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
    }

    /// x0..x30 less x18 (the platform register on some targets), x19 (LLVM's base
    /// pointer) and x29 (the frame pointer): `asm!` never hands out sp or xzr either.
    fn registers(&self) -> usize {
        28
    }

    /// `add`/`sub`/`cmp`/`cmn` immediates, either sign (`sub` or `cmn` takes a negative one).
    fn imm_fits(&self, value: i64) -> bool {
        value != i64::MIN && is_imm12(value.abs())
    }

    fn mem_fits(&self, mem: &Mem, width: Width) -> bool {
        let bytes = i64::from(width.bytes);
        match mem.index {
            None => {
                let scaled =
                    mem.disp >= 0 && mem.disp % bytes == 0 && mem.disp / bytes <= MAX_SCALED_OFFSET;
                let unscaled = (-256..=255).contains(&mem.disp);
                scaled || unscaled
            }
            Some((_, scale)) => mem.disp == 0 && (scale == 1 || i64::from(scale) == bytes),
        }
    }

    fn commit_mem_fits(&self, mem: &Mem, width: Width, release: bool) -> bool {
        if release {
            mem.index.is_none() && mem.disp == 0 && mem.field.is_none()
        } else {
            self.mem_fits(mem, width)
        }
    }

    /// `ldar` takes a bare base register, as `stlr` does.
    fn load_mem_fits(&self, mem: &Mem, width: Width, acquire: bool) -> bool {
        if acquire {
            mem.index.is_none() && mem.disp == 0 && mem.field.is_none()
        } else {
            self.mem_fits(mem, width)
        }
    }

    /// `[base, #field]` alone, in the scaled form: the field's offset is a multiple of the
    /// access size (rustc aligns integer and pointer fields, and refuses references to
    /// packed ones in the type check), up to 4095 accesses.
    fn field_fits(&self, mem: &Mem, width: Width, ordered: bool) -> Option<FieldLimit> {
        let bytes = u64::from(width.bytes);
        (mem.index.is_none() && mem.disp == 0 && !ordered).then_some(FieldLimit {
            max: MAX_SCALED_OFFSET as u64 * bytes,
            multiple: bytes,
        })
    }

    /// `add dst, base, #field`: a 12-bit unsigned immediate.
    fn lea_field_limit(&self, _mem: &Mem) -> FieldLimit {
        FieldLimit {
            max: 4095,
            multiple: 1,
        }
    }
}

/// The `movz`/`movn` + `movk` sequence that puts `value` into `dst` (an x register).
fn move_immediate(dst: &str, value: i64) -> Vec<String> {
    let halves: Vec<u64> = (0..4)
        .map(|i| (value as u64 >> (16 * i)) & 0xffff)
        .collect();
    let ones = halves.iter().filter(|h| **h == 0xffff).count();
    let zeros = halves.iter().filter(|h| **h == 0).count();
    // Start from all ones (movn) when that leaves fewer halves to patch.
    let (filler, first) = if ones > zeros {
        (0xffff, "movn")
    } else {
        (0, "movz")
    };
    let mut lines = Vec::new();
    for (i, half) in halves.iter().enumerate() {
        if *half == filler {
            continue;
        }
        let shift = match i {
            0 => String::new(),
            _ => format!(", lsl #{}", 16 * i),
        };
        if lines.is_empty() {
            let image = if filler == 0 { *half } else { !*half & 0xffff };
            lines.push(format!("{first} {dst}, #{image}{shift}"));
        } else {
            lines.push(format!("movk {dst}, #{half}{shift}"));
        }
    }
    if lines.is_empty() {
        lines.push(format!("{first} {dst}, #0"));
    }
    lines
}

/// Load mnemonic for `width`: zero-extending into a w register, or sign-extending into an
/// x register. `unscaled` selects the `ldur` forms (a negative or unaligned offset).
fn load_mnemonic(width: Width, unscaled: bool) -> &'static str {
    match (width.bytes, width.signed, unscaled) {
        (1, false, false) => "ldrb",
        (1, false, true) => "ldurb",
        (1, true, false) => "ldrsb",
        (1, true, true) => "ldursb",
        (2, false, false) => "ldrh",
        (2, false, true) => "ldurh",
        (2, true, false) => "ldrsh",
        (2, true, true) => "ldursh",
        (4, true, false) => "ldrsw",
        (4, true, true) => "ldursw",
        (_, _, false) => "ldr",
        (_, _, true) => "ldur",
    }
}

fn store_mnemonic(bytes: u8, unscaled: bool, release: bool) -> &'static str {
    match (bytes, unscaled, release) {
        (1, _, true) => "stlrb",
        (2, _, true) => "stlrh",
        (_, _, true) => "stlr",
        (1, false, _) => "strb",
        (1, true, _) => "sturb",
        (2, false, _) => "strh",
        (2, true, _) => "sturh",
        (_, false, _) => "str",
        (_, true, _) => "stur",
    }
}

/// Whether a load of `width` writes the w form of its register (zero-extending loads do;
/// sign-extending ones write the x form).
fn uses_w(width: Width) -> bool {
    width.bytes < 8 && !width.signed
}

/// `[base]` or `[base, #offset]`.
fn offset_address(base: &str, offset: i64) -> String {
    match offset {
        0 => format!("[{base}]"),
        _ => format!("[{base}, #{offset}]"),
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

    fn x(&self, vreg: usize) -> String {
        format!("{{s{}}}", self.slot(vreg))
    }

    fn w(&self, vreg: usize) -> String {
        format!("{{s{}:w}}", self.slot(vreg))
    }

    /// The register of `vreg` sized for an access of `bytes`.
    fn sized(&self, vreg: usize, bytes: u8) -> String {
        if bytes < 8 {
            self.w(vreg)
        } else {
            self.x(vreg)
        }
    }

    /// The address operand of a memory access that [`Target::mem_fits`] accepted, and
    /// whether it needs the unscaled (`ldur`/`stur`) form.
    fn mem(&self, mem: &Mem, bytes: u8) -> (String, bool) {
        let base = self.x(mem.base);
        if let Some(field) = mem.field {
            return (format!("[{base}, #{{c{field}}}]"), false);
        }
        if let Some((index, scale)) = mem.index {
            let index = self.x(index);
            return match scale {
                1 => (format!("[{base}, {index}]"), false),
                _ => (
                    format!("[{base}, {index}, lsl #{}]", scale.trailing_zeros()),
                    false,
                ),
            };
        }
        let bytes = i64::from(bytes);
        match mem.disp {
            0 => (format!("[{base}]"), false),
            d => {
                let scaled = d >= 0 && d % bytes == 0 && d / bytes <= MAX_SCALED_OFFSET;
                (format!("[{base}, #{d}]"), !scaled)
            }
        }
    }

    fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// `mov dst, src` unless both live in the same slot.
    fn copy_reg(&mut self, dst: &str, src: &str) {
        if dst != src {
            self.line(format!("mov {dst}, {src}"));
        }
    }

    /// Puts the value of `operand` into the x register `dst`.
    fn materialise(&mut self, dst: &str, operand: &Operand) {
        match operand {
            Operand::Reg(vreg) => {
                let src = self.x(*vreg);
                self.copy_reg(dst, &src);
            }
            Operand::Imm(value) => {
                for line in move_immediate(dst, *value) {
                    self.line(line);
                }
            }
            Operand::SizeOf(index) => {
                // A `const` operand is pasted as a decimal number; build it 16 bits at a time.
                let c = format!("{{c{index}}}");
                self.line(format!("movz {dst}, #(({c}) & 0xffff)"));
                for shift in [16, 32, 48] {
                    self.line(format!(
                        "movk {dst}, #((({c}) >> {shift}) & 0xffff), lsl #{shift}"
                    ));
                }
            }
        }
    }

    /// Puts a value the section returns into the `result` register.
    fn store_result(&mut self, value: &Operand) {
        self.materialise("{result}", value);
    }

    /// An x register holding `operand`: its own, or the scratch register loaded with it.
    fn operand_reg(&mut self, operand: &Operand) -> String {
        match operand {
            Operand::Reg(vreg) => self.x(*vreg),
            other => {
                self.materialise(SCRATCH, other);
                SCRATCH.to_string()
            }
        }
    }

    /// The register to store for `src` at `bytes`: `xzr`/`wzr` for zero, the scratch
    /// register for another immediate.
    fn store_source(&mut self, src: &Operand, bytes: u8) -> String {
        let narrow = bytes < 8;
        match src {
            Operand::Imm(0) if narrow => "wzr".to_string(),
            Operand::Imm(0) => "xzr".to_string(),
            Operand::Reg(vreg) => self.sized(*vreg, bytes),
            other => {
                self.materialise(SCRATCH, other);
                if narrow {
                    "{scratch:w}".to_string()
                } else {
                    SCRATCH.to_string()
                }
            }
        }
    }

    /// `dst = src + value` (or `- -value`) for an immediate [`Target::imm_fits`] accepted,
    /// or any other value through the scratch register.
    fn add_immediate(&mut self, dst: &str, src: &str, value: i64) {
        if value == 0 {
            self.copy_reg(dst, src);
        } else if value != i64::MIN && is_imm12(value.abs()) {
            let mnemonic = if value < 0 { "sub" } else { "add" };
            self.line(format!("{mnemonic} {dst}, {src}, {}", imm12(value.abs())));
        } else if value.abs() < 1 << 24 {
            // Two shifted immediates, low 12 bits first.
            let (mnemonic, magnitude) = if value < 0 {
                ("sub", -value)
            } else {
                ("add", value)
            };
            self.line(format!("{mnemonic} {dst}, {src}, #{}", magnitude & 0xfff));
            self.line(format!(
                "{mnemonic} {dst}, {dst}, #{}, lsl #12",
                magnitude >> 12
            ));
        } else {
            self.materialise(SCRATCH, &Operand::Imm(value));
            self.line(format!("add {dst}, {src}, {SCRATCH}"));
        }
    }

    fn inst(&mut self, inst: &Inst) {
        match inst {
            Inst::StoreDescriptor { area } => {
                self.line(format!("adrp {SCRATCH}, {DESCRIPTOR_LABEL}b"));
                self.line(format!(
                    "add {SCRATCH}, {SCRATCH}, :lo12:{DESCRIPTOR_LABEL}b"
                ));
                let line = format!("str {SCRATCH}, [{}, #{RSEQ_CS_OFFSET}]", self.x(*area));
                self.line(line);
                self.line(format!("{START_LABEL}:"));
            }
            Inst::CheckIndex {
                area,
                index,
                offset,
            } => {
                let line = format!("ldr {{scratch:w}}, [{}, #{offset}]", self.x(*area));
                self.line(line);
                let line = format!("cmp {{scratch:w}}, {}", self.w(*index));
                self.line(line);
                self.line(format!("b.ne {}", abort_target(self.lowered)));
            }
            Inst::Load {
                dst,
                mem,
                width,
                acquire: true,
            } => {
                // `ldar` only zero-extends (into the w form below 8 bytes): a signed narrow
                // value is sign-extended after it. Lowering gave it a bare base register.
                debug_assert!(mem.index.is_none() && mem.disp == 0 && mem.field.is_none());
                let address = format!("[{}]", self.x(mem.base));
                let (mnemonic, loaded) = match width.bytes {
                    1 => ("ldarb", self.w(*dst)),
                    2 => ("ldarh", self.w(*dst)),
                    4 => ("ldar", self.w(*dst)),
                    _ => ("ldar", self.x(*dst)),
                };
                self.line(format!("{mnemonic} {loaded}, {address}"));
                let extend = match (width.bytes, width.signed) {
                    (1, true) => Some("sxtb"),
                    (2, true) => Some("sxth"),
                    (4, true) => Some("sxtw"),
                    _ => None,
                };
                if let Some(extend) = extend {
                    let line = format!("{extend} {}, {loaded}", self.x(*dst));
                    self.line(line);
                }
            }
            Inst::Load {
                dst, mem, width, ..
            } => {
                let (address, unscaled) = self.mem(mem, width.bytes);
                let dst = if uses_w(*width) {
                    self.w(*dst)
                } else {
                    self.x(*dst)
                };
                let line = format!("{} {dst}, {address}", load_mnemonic(*width, unscaled));
                self.line(line);
            }
            Inst::Store { mem, src, width } => {
                let src = self.store_source(src, width.bytes);
                let (address, unscaled) = self.mem(mem, width.bytes);
                let line = format!(
                    "{} {src}, {address}",
                    store_mnemonic(width.bytes, unscaled, false)
                );
                self.line(line);
            }
            Inst::Mov { dst, src } => {
                let dst = self.x(*dst);
                self.materialise(&dst, src);
            }
            Inst::Lea { dst, mem } => {
                let d = self.x(*dst);
                let base = self.x(mem.base);
                // Base and index first (reading both before `dst` is written, which may
                // share a slot with either), then the displacement onto `dst`.
                let mut from = match mem.index {
                    Some((index, scale)) => {
                        let index = self.x(index);
                        let line = match scale {
                            1 => format!("add {d}, {base}, {index}"),
                            _ => {
                                format!("add {d}, {base}, {index}, lsl #{}", scale.trailing_zeros())
                            }
                        };
                        self.line(line);
                        d.clone()
                    }
                    None => base,
                };
                if let Some(field) = mem.field {
                    self.line(format!("add {d}, {from}, #{{c{field}}}"));
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
                        self.line(format!("lsl {d}, {l}, #{shift}"));
                    }
                    // A low mask (2^k - 1) is a logical immediate: shift counts masked to
                    // a narrow width, `x & 0xff`.
                    (AluOp::And, Operand::Imm(mask))
                        if *mask > 0 && (*mask as u64).wrapping_add(1).is_power_of_two() =>
                    {
                        self.line(format!("and {d}, {l}, #{mask}"));
                    }
                    (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Imm(count)) => {
                        let mnemonic = match op {
                            AluOp::Shl => "lsl",
                            AluOp::Shr => "lsr",
                            _ => "asr",
                        };
                        // Immediate counts are below the width (lowering masks them).
                        self.line(format!("{mnemonic} {d}, {l}, #{}", count & 63));
                    }
                    _ => {
                        let r = self.operand_reg(rhs);
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
                        self.line(format!("{mnemonic} {d}, {l}, {r}"));
                    }
                }
            }
            Inst::Not { dst, src } => {
                let line = format!("mvn {}, {}", self.x(*dst), self.x(*src));
                self.line(line);
            }
            Inst::Neg { dst, src } => {
                let line = format!("neg {}, {}", self.x(*dst), self.x(*src));
                self.line(line);
            }
            Inst::Extend { dst, src, width } => {
                let line = match (width.bytes, width.signed) {
                    (1, false) => format!("uxtb {}, {}", self.w(*dst), self.w(*src)),
                    (2, false) => format!("uxth {}, {}", self.w(*dst), self.w(*src)),
                    // Writing a w register clears the upper half.
                    (4, false) => format!("mov {}, {}", self.w(*dst), self.w(*src)),
                    (1, true) => format!("sxtb {}, {}", self.x(*dst), self.w(*src)),
                    (2, true) => format!("sxth {}, {}", self.x(*dst), self.w(*src)),
                    (4, true) => format!("sxtw {}, {}", self.x(*dst), self.w(*src)),
                    _ => {
                        let (d, s) = (self.x(*dst), self.x(*src));
                        return self.copy_reg(&d, &s);
                    }
                };
                self.line(line);
            }
            Inst::CopyBytes {
                dst,
                src,
                len,
                scratch,
            } => {
                // Unrolled: 16-byte pairs through the scratch slot and the scratch register,
                // then 8, 4, 2, 1. `copy` is at most 256 bytes, within `ldp`'s offsets.
                let (to, from) = (self.x(*dst), self.x(*src));
                let len = i64::from(*len);
                let mut offset = 0i64;
                while offset < len {
                    let left = len - offset;
                    if left >= 16 {
                        let pair = format!("{}, {SCRATCH}", self.x(*scratch));
                        let (from, to) =
                            (offset_address(&from, offset), offset_address(&to, offset));
                        self.line(format!("ldp {pair}, {from}"));
                        self.line(format!("stp {pair}, {to}"));
                        offset += 16;
                        continue;
                    }
                    let bytes: u8 = match left {
                        8.. => 8,
                        4..=7 => 4,
                        2..=3 => 2,
                        _ => 1,
                    };
                    let width = Width {
                        bytes,
                        signed: false,
                    };
                    let reg = self.sized(*scratch, bytes);
                    let load = load_mnemonic(width, false);
                    let store = store_mnemonic(bytes, false, false);
                    let (src, dst) = (offset_address(&from, offset), offset_address(&to, offset));
                    self.line(format!("{load} {reg}, {src}"));
                    self.line(format!("{store} {reg}, {dst}"));
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
                // are the tail, each copied if set (`tbz`). Post-indexed loads and stores
                // advance `src` and `dst`, the loop's own registers.
                let (d, s, n) = (self.x(*dst), self.x(*src), self.x(*len));
                let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
                self.line(format!("cmp {n}, #8"));
                self.line(format!("b.lo {tail}f"));
                self.line(format!("{word}:"));
                let t = self.x(*scratch);
                self.line(format!("ldr {t}, [{s}], #8"));
                self.line(format!("str {t}, [{d}], #8"));
                self.line(format!("sub {n}, {n}, #8"));
                self.line(format!("cmp {n}, #8"));
                self.line(format!("b.hs {word}b"));
                self.line(format!("{tail}:"));
                for (bytes, skip) in COPY_TAIL {
                    let width = Width {
                        bytes,
                        signed: false,
                    };
                    let (load, store) = (
                        load_mnemonic(width, false),
                        store_mnemonic(bytes, false, false),
                    );
                    let t = self.sized(*scratch, bytes);
                    self.line(format!("tbz {n}, #{}, {skip}f", bytes.trailing_zeros()));
                    // The last move needs no advance: nothing follows it.
                    if bytes > 1 {
                        self.line(format!("{load} {t}, [{s}], #{bytes}"));
                        self.line(format!("{store} {t}, [{d}], #{bytes}"));
                    } else {
                        self.line(format!("{load} {t}, [{s}]"));
                        self.line(format!("{store} {t}, [{d}]"));
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
                let lowered = self.lowered;
                let l = self.x(*lhs);
                let target = exit_target(lowered, *exit);
                match (op, rhs) {
                    (CmpOp::Eq, Operand::Imm(0)) => {
                        return self.line(format!("cbz {l}, {target}"));
                    }
                    (CmpOp::Ne, Operand::Imm(0)) => {
                        return self.line(format!("cbnz {l}, {target}"));
                    }
                    (_, Operand::Imm(value))
                        if *value < 0 && *value != i64::MIN && is_imm12(-*value) =>
                    {
                        // `cmn x, #v` sets the flags of `cmp x, #-v` for v > 0.
                        let line = format!("cmn {l}, {}", imm12(-*value));
                        self.line(line);
                    }
                    (_, Operand::Imm(value)) if is_imm12(*value) => {
                        let line = format!("cmp {l}, {}", imm12(*value));
                        self.line(line);
                    }
                    _ => {
                        let r = self.operand_reg(rhs);
                        self.line(format!("cmp {l}, {r}"));
                    }
                }
                let condition = match (op, signed) {
                    (CmpOp::Eq, _) => "eq",
                    (CmpOp::Ne, _) => "ne",
                    (CmpOp::Lt, true) => "lt",
                    (CmpOp::Lt, false) => "lo",
                    (CmpOp::Le, true) => "le",
                    (CmpOp::Le, false) => "ls",
                    (CmpOp::Gt, true) => "gt",
                    (CmpOp::Gt, false) => "hi",
                    (CmpOp::Ge, true) => "ge",
                    (CmpOp::Ge, false) => "hs",
                };
                self.line(format!("b.{condition} {target}"));
            }
            Inst::Spin { counter, point } => {
                let c = self.w(*counter);
                let label = spin_label(*point);
                self.line(format!("add {c}, {c}, #1"));
                self.line(format!("{label}:"));
                self.line(format!("subs {c}, {c}, #1"));
                self.line(format!("b.ne {label}b"));
            }
            Inst::VerifyIndex {
                area,
                index,
                offset,
                check,
            } => {
                let line = format!("ldr {{scratch:w}}, [{}, #{offset}]", self.x(*area));
                self.line(line);
                let line = format!("cmp {{scratch:w}}, {}", self.w(*index));
                self.line(line);
                self.line(format!("b.ne {}", trap_target(self.lowered, *check)));
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
                let line = format!("cmp {}, {}", self.x(*scratch), self.x(*original));
                self.line(line);
                self.line(format!("b.ne {}", trap_target(self.lowered, *check)));
            }
            Inst::Commit {
                mem,
                src,
                width,
                add,
                release,
            } => {
                let (address, unscaled) = self.mem(mem, width.bytes);
                let value = if *add {
                    // Load, add, then the committing store as the last instruction.
                    let unsigned = Width {
                        bytes: width.bytes,
                        signed: false,
                    };
                    let reg = if width.bytes < 8 {
                        "{scratch:w}"
                    } else {
                        SCRATCH
                    };
                    self.line(format!(
                        "{} {reg}, {address}",
                        load_mnemonic(unsigned, unscaled)
                    ));
                    match src {
                        // Lowering keeps only `imm_fits` immediates, which never need the
                        // scratch register that holds the loaded value here.
                        Operand::Imm(value) => {
                            debug_assert!(Aarch64.imm_fits(*value));
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
                    reg.to_string()
                } else {
                    self.store_source(src, width.bytes)
                };
                let mnemonic = store_mnemonic(width.bytes, unscaled, *release);
                self.line(format!("{mnemonic} {value}, {address}"));
            }
        }
    }
}

impl Backend for Aarch64 {
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
        if lowered.goto {
            p.line("  .pushsection __rseq_failure, \"ax\"");
            // The signature as an instruction word (a `brk`, never executed) before the
            // abort label.
            p.line(format!("  .inst {SIGNATURE:#010x}"));
            p.line(format!("{ABORT_LABEL}:"));
            p.line(format!("b {ABORT_TARGET}"));
            p.line("  .popsection");
            p.lines
                .extend(super::exit_point_table(lowered.exits.len(), |_| None));
            return p.lines;
        }
        p.line("mov {scratch:w}, wzr");
        if let Some(value) = &lowered.yielded {
            p.store_result(value);
        }
        p.line(format!("b {END_LABEL}f"));
        for (exit, value) in lowered.exits.iter().enumerate() {
            p.line(format!("{}:", FIRST_EXIT_LABEL + exit as u32));
            if let Some(value) = value {
                p.store_result(value);
            }
            p.line(format!("mov {{scratch:w}}, #{STATUS_EXITED}"));
            p.line(format!("b {END_LABEL}f"));
        }
        for check in 0..lowered.checks.len() {
            p.line(format!("{}:", trap_label(check)));
            p.line(format!("mov {{scratch:w}}, #{}", STATUS_FIRST_TRAP + check));
            p.line(format!("b {END_LABEL}f"));
        }
        p.line(format!("  .inst {SIGNATURE:#010x}"));
        p.line(format!("{ABORT_LABEL}:"));
        p.line(format!("mov {{scratch:w}}, #{STATUS_ABORTED}"));
        p.line(format!("{END_LABEL}:"));
        p.lines
            .extend(super::exit_point_table(lowered.exits.len(), |exit| {
                Some(format!("{}b", FIRST_EXIT_LABEL + exit as u32))
            }));
        p.lines
    }
}
