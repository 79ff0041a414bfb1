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

use super::{Cond, Isa, Layout, Printer, COPY_TAIL_LABELS, COPY_WORD_LOOP_LABEL, DESCRIPTOR_LABEL};
use crate::lower::{AluOp, FieldLimit, Mem, Operand, Target, VReg, Width, RSEQ_CS_OFFSET};

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

fn x(p: &Printer, vreg: VReg) -> String {
    p.operand(vreg)
}

fn w(p: &Printer, vreg: VReg) -> String {
    format!("{{s{}:w}}", p.slot(vreg))
}

/// The register of `vreg` sized for an access of `bytes`.
fn sized(p: &Printer, vreg: VReg, bytes: u8) -> String {
    if bytes < 8 {
        w(p, vreg)
    } else {
        x(p, vreg)
    }
}

fn unsigned(bytes: u8) -> Width {
    Width {
        bytes,
        signed: false,
    }
}

/// The address operand of a memory access that [`Target::mem_fits`] accepted, and
/// whether it needs the unscaled (`ldur`/`stur`) form.
fn mem(p: &Printer, mem: &Mem, bytes: u8) -> (String, bool) {
    let base = x(p, mem.base);
    if let Some(field) = mem.field {
        return (format!("[{base}, #{{c{field}}}]"), false);
    }
    if let Some((index, scale)) = mem.index {
        let index = x(p, index);
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

/// `mov dst, src` unless both live in the same slot.
fn copy_reg(p: &mut Printer, dst: &str, src: &str) {
    if dst != src {
        p.line(format!("mov {dst}, {src}"));
    }
}

/// Puts the value of `operand` into the x register `dst`.
fn materialise(p: &mut Printer, dst: &str, operand: &Operand) {
    match operand {
        Operand::Reg(vreg) => {
            let src = x(p, *vreg);
            copy_reg(p, dst, &src);
        }
        Operand::Imm(value) => {
            for line in move_immediate(dst, *value) {
                p.line(line);
            }
        }
        Operand::SizeOf(index) => {
            // A `const` operand is pasted as a decimal number; build it 16 bits at a time.
            let c = format!("{{c{index}}}");
            p.line(format!("movz {dst}, #(({c}) & 0xffff)"));
            for shift in [16, 32, 48] {
                p.line(format!(
                    "movk {dst}, #((({c}) >> {shift}) & 0xffff), lsl #{shift}"
                ));
            }
        }
    }
}

/// An x register holding `operand`: its own, or the scratch register loaded with it.
fn operand_reg(p: &mut Printer, operand: &Operand) -> String {
    match operand {
        Operand::Reg(vreg) => x(p, *vreg),
        other => {
            materialise(p, SCRATCH, other);
            SCRATCH.to_string()
        }
    }
}

/// The register to store for `src` at `bytes`: `xzr`/`wzr` for zero, the scratch
/// register for another immediate.
fn store_source(p: &mut Printer, src: &Operand, bytes: u8) -> String {
    let narrow = bytes < 8;
    match src {
        Operand::Imm(0) if narrow => "wzr".to_string(),
        Operand::Imm(0) => "xzr".to_string(),
        Operand::Reg(vreg) => sized(p, *vreg, bytes),
        other => {
            materialise(p, SCRATCH, other);
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
fn add_immediate(p: &mut Printer, dst: &str, src: &str, value: i64) {
    if value == 0 {
        copy_reg(p, dst, src);
    } else if value != i64::MIN && is_imm12(value.abs()) {
        let mnemonic = if value < 0 { "sub" } else { "add" };
        p.line(format!("{mnemonic} {dst}, {src}, {}", imm12(value.abs())));
    } else if value.abs() < 1 << 24 {
        // Two shifted immediates, low 12 bits first.
        let (mnemonic, magnitude) = if value < 0 {
            ("sub", -value)
        } else {
            ("add", value)
        };
        p.line(format!("{mnemonic} {dst}, {src}, #{}", magnitude & 0xfff));
        p.line(format!(
            "{mnemonic} {dst}, {dst}, #{}, lsl #12",
            magnitude >> 12
        ));
    } else {
        materialise(p, SCRATCH, &Operand::Imm(value));
        p.line(format!("add {dst}, {src}, {SCRATCH}"));
    }
}

impl Isa for Aarch64 {
    fn layout(&self, goto: bool) -> Layout {
        if goto {
            Layout::OutOfLine
        } else {
            Layout::Inline
        }
    }

    // The signature as an instruction word (a `brk`, never executed) before the abort label.
    fn signature(&self) -> Vec<String> {
        vec![format!("  .inst {SIGNATURE:#010x}")]
    }

    fn condition(&self, cond: Cond) -> &'static str {
        match cond {
            Cond::Eq => "b.eq",
            Cond::Ne => "b.ne",
            Cond::Lt => "b.lt",
            Cond::Lo => "b.lo",
            Cond::Le => "b.le",
            Cond::Ls => "b.ls",
            Cond::Gt => "b.gt",
            Cond::Hi => "b.hi",
            Cond::Ge => "b.ge",
            Cond::Hs => "b.hs",
        }
    }

    fn jump(&self, target: &str) -> String {
        format!("b {target}")
    }

    fn set_status(&self, p: &mut Printer, status: usize) {
        match status {
            0 => p.line("mov {scratch:w}, wzr"),
            _ => p.line(format!("mov {{scratch:w}}, #{status}")),
        }
    }

    fn store_result(&self, p: &mut Printer, value: &Operand) {
        materialise(p, "{result}", value);
    }

    fn store_descriptor(&self, p: &mut Printer, area: VReg) {
        p.line(format!("adrp {SCRATCH}, {DESCRIPTOR_LABEL}b"));
        p.line(format!(
            "add {SCRATCH}, {SCRATCH}, :lo12:{DESCRIPTOR_LABEL}b"
        ));
        let line = format!("str {SCRATCH}, [{}, #{RSEQ_CS_OFFSET}]", x(p, area));
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
        let line = format!("ldr {{scratch:w}}, [{}, #{offset}]", x(p, area));
        p.line(line);
        let line = format!("cmp {{scratch:w}}, {}", w(p, index));
        p.line(line);
        p.line(format!("b.ne {target}"));
    }

    fn compare_branch(&self, p: &mut Printer, cond: Cond, lhs: VReg, rhs: &Operand, target: &str) {
        let l = x(p, lhs);
        match (cond, rhs) {
            (Cond::Eq, Operand::Imm(0)) => return p.line(format!("cbz {l}, {target}")),
            (Cond::Ne, Operand::Imm(0)) => return p.line(format!("cbnz {l}, {target}")),
            (_, Operand::Imm(value)) if *value < 0 && *value != i64::MIN && is_imm12(-*value) => {
                // `cmn x, #v` sets the flags of `cmp x, #-v` for v > 0.
                p.line(format!("cmn {l}, {}", imm12(-*value)));
            }
            (_, Operand::Imm(value)) if is_imm12(*value) => {
                p.line(format!("cmp {l}, {}", imm12(*value)));
            }
            _ => {
                let r = operand_reg(p, rhs);
                p.line(format!("cmp {l}, {r}"));
            }
        }
        p.line(format!("{} {target}", self.condition(cond)));
    }

    fn load(&self, p: &mut Printer, dst: VReg, mem: &Mem, width: Width, acquire: bool) {
        if acquire {
            // `ldar` only zero-extends (into the w form below 8 bytes): a signed narrow
            // value is sign-extended after it. Lowering gave it a bare base register.
            debug_assert!(mem.index.is_none() && mem.disp == 0 && mem.field.is_none());
            let address = format!("[{}]", x(p, mem.base));
            let (mnemonic, loaded) = match width.bytes {
                1 => ("ldarb", w(p, dst)),
                2 => ("ldarh", w(p, dst)),
                4 => ("ldar", w(p, dst)),
                _ => ("ldar", x(p, dst)),
            };
            p.line(format!("{mnemonic} {loaded}, {address}"));
            let extend = match (width.bytes, width.signed) {
                (1, true) => Some("sxtb"),
                (2, true) => Some("sxth"),
                (4, true) => Some("sxtw"),
                _ => None,
            };
            if let Some(extend) = extend {
                let line = format!("{extend} {}, {loaded}", x(p, dst));
                p.line(line);
            }
            return;
        }
        let (address, unscaled) = self::mem(p, mem, width.bytes);
        let dst = if uses_w(width) { w(p, dst) } else { x(p, dst) };
        p.line(format!(
            "{} {dst}, {address}",
            load_mnemonic(width, unscaled)
        ));
    }

    fn store(&self, p: &mut Printer, mem: &Mem, src: &Operand, width: Width) {
        let src = store_source(p, src, width.bytes);
        let (address, unscaled) = self::mem(p, mem, width.bytes);
        let line = format!(
            "{} {src}, {address}",
            store_mnemonic(width.bytes, unscaled, false)
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
        // Base and index first (reading both before `dst` is written, which may
        // share a slot with either), then the displacement onto `dst`.
        let mut from = match mem.index {
            Some((index, scale)) => {
                let index = x(p, index);
                let line = match scale {
                    1 => format!("add {d}, {base}, {index}"),
                    _ => format!("add {d}, {base}, {index}, lsl #{}", scale.trailing_zeros()),
                };
                p.line(line);
                d.clone()
            }
            None => base,
        };
        if let Some(field) = mem.field {
            p.line(format!("add {d}, {from}, #{{c{field}}}"));
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
                p.line(format!("lsl {d}, {l}, #{shift}"));
            }
            // A low mask (2^k - 1) is a logical immediate: shift counts masked to
            // a narrow width, `x & 0xff`.
            (AluOp::And, Operand::Imm(mask))
                if *mask > 0 && (*mask as u64).wrapping_add(1).is_power_of_two() =>
            {
                p.line(format!("and {d}, {l}, #{mask}"));
            }
            (AluOp::Shl | AluOp::Shr | AluOp::Sar, Operand::Imm(count)) => {
                let mnemonic = match op {
                    AluOp::Shl => "lsl",
                    AluOp::Shr => "lsr",
                    _ => "asr",
                };
                // Immediate counts are below the width (lowering masks them).
                p.line(format!("{mnemonic} {d}, {l}, #{}", count & 63));
            }
            _ => {
                let r = operand_reg(p, rhs);
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
                p.line(format!("{mnemonic} {d}, {l}, {r}"));
            }
        }
    }

    fn not(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("mvn {}, {}", x(p, dst), x(p, src));
        p.line(line);
    }

    fn neg(&self, p: &mut Printer, dst: VReg, src: VReg) {
        let line = format!("neg {}, {}", x(p, dst), x(p, src));
        p.line(line);
    }

    fn extend(&self, p: &mut Printer, dst: VReg, src: VReg, width: Width) {
        let line = match (width.bytes, width.signed) {
            (1, false) => format!("uxtb {}, {}", w(p, dst), w(p, src)),
            (2, false) => format!("uxth {}, {}", w(p, dst), w(p, src)),
            // Writing a w register clears the upper half.
            (4, false) => format!("mov {}, {}", w(p, dst), w(p, src)),
            (1, true) => format!("sxtb {}, {}", x(p, dst), w(p, src)),
            (2, true) => format!("sxth {}, {}", x(p, dst), w(p, src)),
            (4, true) => format!("sxtw {}, {}", x(p, dst), w(p, src)),
            _ => {
                let (d, s) = (x(p, dst), x(p, src));
                return copy_reg(p, &d, &s);
            }
        };
        p.line(line);
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
        let (address, unscaled) = self::mem(p, mem, width.bytes);
        let value = if add {
            // Load, add, then the committing store as the last instruction.
            let reg = if width.bytes < 8 {
                "{scratch:w}"
            } else {
                SCRATCH
            };
            p.line(format!(
                "{} {reg}, {address}",
                load_mnemonic(unsigned(width.bytes), unscaled)
            ));
            match src {
                // Lowering keeps only `imm_fits` immediates, which never need the
                // scratch register that holds the loaded value here.
                Operand::Imm(value) => {
                    debug_assert!(Aarch64.imm_fits(*value));
                    add_immediate(p, SCRATCH, SCRATCH, *value)
                }
                Operand::Reg(vreg) => {
                    let line = format!("add {SCRATCH}, {SCRATCH}, {}", x(p, *vreg));
                    p.line(line);
                }
                Operand::SizeOf(_) => unreachable!("lowering never commits a size operand"),
            }
            reg.to_string()
        } else {
            store_source(p, src, width.bytes)
        };
        let mnemonic = store_mnemonic(width.bytes, unscaled, release);
        p.line(format!("{mnemonic} {value}, {address}"));
    }

    fn spin_enter(&self, p: &mut Printer, counter: VReg) {
        let c = w(p, counter);
        p.line(format!("add {c}, {c}, #1"));
    }

    fn spin_step(&self, p: &mut Printer, counter: VReg, label: &str) {
        let c = w(p, counter);
        p.line(format!("subs {c}, {c}, #1"));
        p.line(format!("b.ne {label}"));
    }

    fn copy_chunk_max(&self) -> u8 {
        16
    }

    // 16-byte pairs through the scratch slot and the scratch register, then 8, 4, 2, 1.
    // `copy` is at most 256 bytes, within `ldp`'s offsets.
    fn copy_chunk(
        &self,
        p: &mut Printer,
        dst: VReg,
        src: VReg,
        scratch: VReg,
        offset: i64,
        bytes: u8,
    ) {
        let (to, from) = (x(p, dst), x(p, src));
        let (from, to) = (offset_address(&from, offset), offset_address(&to, offset));
        if bytes == 16 {
            let pair = format!("{}, {SCRATCH}", x(p, scratch));
            p.line(format!("ldp {pair}, {from}"));
            p.line(format!("stp {pair}, {to}"));
            return;
        }
        let reg = sized(p, scratch, bytes);
        let load = load_mnemonic(unsigned(bytes), false);
        let store = store_mnemonic(bytes, false, false);
        p.line(format!("{load} {reg}, {from}"));
        p.line(format!("{store} {reg}, {to}"));
    }

    // `len` counts down by 8 while 8 or more bytes are left. Post-indexed loads and stores
    // advance `src` and `dst`, the loop's own registers.
    fn copy_word_loop(&self, p: &mut Printer, dst: VReg, src: VReg, len: VReg, scratch: VReg) {
        let (d, s, n) = (x(p, dst), x(p, src), x(p, len));
        let (word, tail) = (COPY_WORD_LOOP_LABEL, COPY_TAIL_LABELS[0]);
        p.line(format!("cmp {n}, #8"));
        p.line(format!("b.lo {tail}f"));
        p.label(word);
        let t = x(p, scratch);
        p.line(format!("ldr {t}, [{s}], #8"));
        p.line(format!("str {t}, [{d}], #8"));
        p.line(format!("sub {n}, {n}, #8"));
        p.line(format!("cmp {n}, #8"));
        p.line(format!("b.hs {word}b"));
    }

    fn copy_tail_test(&self, p: &mut Printer, len: VReg, _scratch: VReg, bytes: u8, skip: u32) {
        let n = x(p, len);
        p.line(format!("tbz {n}, #{}, {skip}f", bytes.trailing_zeros()));
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
        let (d, s, t) = (x(p, dst), x(p, src), sized(p, scratch, bytes));
        let load = load_mnemonic(unsigned(bytes), false);
        let store = store_mnemonic(bytes, false, false);
        if advance {
            p.line(format!("{load} {t}, [{s}], #{bytes}"));
            p.line(format!("{store} {t}, [{d}], #{bytes}"));
        } else {
            p.line(format!("{load} {t}, [{s}]"));
            p.line(format!("{store} {t}, [{d}]"));
        }
    }
}
