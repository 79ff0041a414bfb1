//! The reference interpreter: what a section must do, from Rust's semantics of the same
//! syntax, written without looking at how `lower.rs` or the backends do it.
//!
//! Values are canonical bit patterns: an integer's low `bits` with zeroes above (an `i8`
//! of -1 is `0xff`), a pointer its address. Memory is the arena alone; an access outside
//! it is a generator bug, reported as such rather than guessed at.

use crate::ast::{BinOp, CmpOp, Cond, Expr, Int, Kind, OffsetKind, Section, Source, Stmt, Ty};
use crate::fields::{Layout, FIELDS};
use crate::state::ARENA;
use std::sync::atomic::{AtomicBool, Ordering};

/// The control (`--control`): a deliberately wrong interpreter whose signed `>>` is
/// logical. A run with it must report mismatches, which shows that the harness can see
/// a one-instruction miscompilation (an `shr` for a `sar`).
pub static CONTROL: AtomicBool = AtomicBool::new(false);

#[cfg(test)]
thread_local! {
    /// Every run-time copy's `(length, max)` this thread interpreted: the generator's
    /// test reads them to see that lengths reach 0, the bound and past it.
    pub static COPY_LENGTHS: std::cell::RefCell<Vec<(u64, u64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Committed,
    Exited,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// The yielded or exit value, canonical; 0 for `()`.
    pub value: u64,
}

pub struct Machine<'a> {
    pub base: u64,
    pub mem: &'a mut [u8],
    /// Where rustc put the struct fields (printed by the test binary).
    pub layout: &'a Layout,
    vars: Vec<(String, u64)>,
}

/// Runs `section` once, without interruption, for index `index` and the inputs' integers,
/// with the struct fields where `layout` says rustc put them.
pub fn run(
    section: &Section,
    base: u64,
    mem: &mut [u8],
    layout: &Layout,
    ints: &[u64],
    index: u64,
) -> Result<Outcome, String> {
    let mut m = Machine {
        base,
        mem,
        layout,
        vars: vec![(crate::ast::INDEX.to_string(), index)],
    };
    for input in &section.inputs {
        let value = match &input.source {
            // `ints[i] as T`: Rust's cast from u64.
            Source::Int(i) => cast(ints[*i], &Ty::Int(Int::U64), &input.ty),
            Source::Arena { offset, stride } => base + offset + stride * (index % 4),
            Source::Null => 0,
        };
        m.vars.push((input.name.clone(), value));
    }
    for stmt in &section.stmts {
        match stmt {
            Stmt::Let { name, value } => {
                let v = m.eval(value)?;
                m.vars.push((name.clone(), v));
            }
            Stmt::Store { ptr, value } => {
                let address = m.eval(ptr)?;
                let v = m.eval(value)?;
                m.write(address, value.ty.size(), v)?;
            }
            Stmt::Copy { dst, src, len } => {
                let (d, s) = (m.eval(dst)?, m.eval(src)?);
                let bytes = m.slice(s, *len)?.to_vec();
                m.slice(d, *len)?.copy_from_slice(&bytes);
            }
            Stmt::CopyUpTo { dst, src, len, max } => {
                let n = m.eval(len)?;
                #[cfg(test)]
                COPY_LENGTHS.with(|seen| seen.borrow_mut().push((n, *max)));
                if n > *max {
                    return Ok(Outcome {
                        status: Status::Exited,
                        value: 0,
                    });
                }
                let (d, s) = (m.eval(dst)?, m.eval(src)?);
                let bytes = m.slice(s, n)?.to_vec();
                m.slice(d, n)?.copy_from_slice(&bytes);
            }
            Stmt::ExitIf { cond, value } => {
                let v = match value {
                    Some(v) => m.eval(v)?,
                    None => 0,
                };
                if m.cond(cond)? {
                    return Ok(Outcome {
                        status: Status::Exited,
                        value: v,
                    });
                }
            }
        }
    }
    let c = &section.commit;
    let address = m.eval(&c.ptr)?;
    let mut v = m.eval(&c.value)?;
    let size = c.value.ty.size();
    if c.add {
        let int = c.value.ty.scalar();
        let old = m.read(address, size)?;
        v = int.wrap(int.value(old) + int.value(v));
    }
    m.write(address, size, v)?;
    let value = match &section.yielded {
        Some(name) => m.var(name)?,
        None => 0,
    };
    Ok(Outcome {
        status: Status::Committed,
        value,
    })
}

/// Rust's `as` between section types, on canonical values.
pub fn cast(value: u64, from: &Ty, to: &Ty) -> u64 {
    let from_int = from.scalar();
    // Widening follows the source's signedness (pointers count as `usize`).
    let math = from_int.value(value);
    to.scalar().wrap(math)
}

impl Machine<'_> {
    fn var(&self, name: &str) -> Result<u64, String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("unbound name `{name}`"))
    }

    fn slice(&mut self, address: u64, len: u64) -> Result<&mut [u8], String> {
        let offset = address.wrapping_sub(self.base);
        if offset > ARENA || len > ARENA - offset {
            return Err(format!(
                "access of {len} bytes at arena offset {} is outside the arena",
                offset as i64
            ));
        }
        Ok(&mut self.mem[offset as usize..(offset + len) as usize])
    }

    fn read(&mut self, address: u64, size: u64) -> Result<u64, String> {
        check_aligned(address, size)?;
        let mut bytes = [0u8; 8];
        bytes[..size as usize].copy_from_slice(self.slice(address, size)?);
        Ok(u64::from_le_bytes(bytes))
    }

    fn write(&mut self, address: u64, size: u64, value: u64) -> Result<(), String> {
        check_aligned(address, size)?;
        let bytes = value.to_le_bytes();
        self.slice(address, size)?
            .copy_from_slice(&bytes[..size as usize]);
        Ok(())
    }

    pub fn eval(&mut self, e: &Expr) -> Result<u64, String> {
        let int = e.ty.scalar();
        Ok(match &e.kind {
            Kind::Var(name) => self.var(name)?,
            Kind::Lit { value, .. } => int.wrap(*value),
            // Acquire ordering is about other threads: alone, it loads as `*p` does.
            Kind::Load(ptr) | Kind::LoadAcquire(ptr) => {
                let address = self.eval(ptr)?;
                self.read(address, e.ty.size())?
            }
            Kind::Offset { ptr, count, kind } => {
                let p = self.eval(ptr)?;
                let n = self.eval(count)?;
                match kind {
                    OffsetKind::Add => p.wrapping_add(n.wrapping_mul(ptr.ty.elem_size())),
                    OffsetKind::Sub => p.wrapping_sub(n.wrapping_mul(ptr.ty.elem_size())),
                    OffsetKind::ByteAdd => p.wrapping_add(n),
                }
            }
            Kind::Cast(inner) => {
                let v = self.eval(inner)?;
                cast(v, &inner.ty, &e.ty)
            }
            Kind::Bin(op, l, r) => {
                let (a, b) = (int.value(self.eval(l)?), int.value(self.eval(r)?));
                let (ua, ub) = (a as u64, b as u64);
                int.wrap(match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => i128::from(ua.wrapping_mul(ub)),
                    BinOp::And => i128::from(ua & ub),
                    BinOp::Or => i128::from(ua | ub),
                    BinOp::Xor => i128::from(ua ^ ub),
                })
            }
            Kind::Shift {
                value,
                left,
                amount,
            } => shift(int, int.value(self.eval(value)?), *left, *amount),
            Kind::ShiftBy { value, left, count } => {
                let v = int.value(self.eval(value)?);
                // Rust's wrapping shifts: the count modulo the width, from its low bits
                // (the same for any sign- or zero-extension of a negative count).
                let amount = (self.eval(count)? % u64::from(int.bits())) as u32;
                shift(int, v, *left, amount)
            }
            Kind::Not(inner) => int.wrap(!int.value(self.eval(inner)?)),
            Kind::Neg(inner) => int.wrap(-int.value(self.eval(inner)?)),
            Kind::Field { base, field, index } => {
                let def = &FIELDS[*field];
                let s = base
                    .ty
                    .struct_pointee()
                    .ok_or("a field of something other than a struct")?;
                let offset = self
                    .layout
                    .offset(s, def.path)
                    .ok_or_else(|| format!("no layout for {}.{}", s.name(), def.path))?;
                let element = match index {
                    Some(i) => self.eval(i)?.wrapping_mul(def.ty.ty().size()),
                    None => 0,
                };
                self.eval(base)?.wrapping_add(offset).wrapping_add(element)
            }
        })
    }

    pub fn cond(&mut self, c: &Cond) -> Result<bool, String> {
        Ok(match c {
            Cond::Cmp(op, l, r) => {
                let int = l.ty.scalar();
                let (a, b) = (int.value(self.eval(l)?), int.value(self.eval(r)?));
                match op {
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    CmpOp::Ge => a >= b,
                }
            }
            Cond::IsNull(ptr) => self.eval(ptr)? == 0,
            Cond::Not(inner) => !self.cond(inner)?,
        })
    }
}

/// `v << amount` or `v >> amount` at type `int`, `amount` below its width.
fn shift(int: Int, v: i128, left: bool, amount: u32) -> u64 {
    if left {
        int.wrap(v << amount)
    } else if CONTROL.load(Ordering::Relaxed) {
        // The control's mistake: a logical shift for a signed type too.
        int.wrap(((v as u64 & (u64::MAX >> (64 - int.bits()))) >> amount) as i128)
    } else {
        // Arithmetic for signed types (the value is sign-extended), logical else.
        int.wrap(v >> amount)
    }
}

/// Rust requires aligned loads and stores through raw pointers (and aarch64's release
/// store faults on a misaligned one): the generator must never produce one.
fn check_aligned(address: u64, size: u64) -> Result<(), String> {
    if address.is_multiple_of(size) {
        Ok(())
    } else {
        Err(format!("misaligned {size}-byte access at {address:#x}"))
    }
}
