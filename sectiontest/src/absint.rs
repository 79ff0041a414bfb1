//! The abstract domain the generator and the validator share: each value is an interval
//! (with a known power-of-two alignment) of integers, or of arena offsets for pointers and
//! addresses, or unknown; [`Env`] tracks the names of a section with their abstract values.

use crate::ast::*;
use crate::fields::{BOUND, FIELDS};
use crate::state::{ARENA, DATA_END, MAYBE_NULL, PTRS, WINDOW};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abs {
    /// Anything the type holds.
    Top,
    /// An integer in `lo..=hi`, a multiple of `align`.
    Range { lo: i128, hi: i128, align: u64 },
    /// The arena's base plus an offset in `lo..=hi`, a multiple of `align` (the base is
    /// 8-aligned): a pointer, or a 64-bit integer cast from one.
    Addr { lo: i128, hi: i128, align: u64 },
}

pub(crate) const MAX_ALIGN: u64 = 1 << 12;

pub(crate) fn pow2_of(v: i128) -> u64 {
    if v == 0 {
        MAX_ALIGN
    } else {
        (1u64 << v.trailing_zeros().min(12)).min(MAX_ALIGN)
    }
}

/// A byte range `lo..hi` of the arena that a statement may read or write.
pub type Bytes = (i128, i128);

pub(crate) fn overlaps(a: Bytes, b: Bytes) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// The analysis state: names with their types and abstract values.
#[derive(Clone, Default)]
pub struct Env {
    pub vars: Vec<(String, Ty, Abs)>,
}

impl Env {
    pub(crate) fn get(&self, name: &str) -> Option<&(String, Ty, Abs)> {
        self.vars.iter().find(|(n, _, _)| n == name)
    }

    /// The abstract value of `e`, recording the bytes it loads; `None` when it may load
    /// outside the arena or misaligned, or names something unbound.
    pub fn abs(&self, e: &Expr, reads: &mut Vec<Bytes>) -> Option<Abs> {
        Some(match &e.kind {
            Kind::Var(name) => self.get(name)?.2,
            Kind::Lit { value, .. } => Abs::Range {
                lo: *value,
                hi: *value,
                align: pow2_of(*value),
            },
            Kind::Load(ptr) | Kind::LoadAcquire(ptr) => {
                let p = self.abs(ptr, reads)?;
                let w = e.ty.size();
                let bytes = access(p, w, w, ARENA)?;
                reads.push(bytes);
                // Only the pointer region promises dereferenceable pointers.
                if e.ty.is_ptr() && bytes.0 >= PTRS as i128 && bytes.1 <= MAYBE_NULL as i128 {
                    Abs::Addr {
                        lo: 0,
                        hi: WINDOW as i128,
                        align: 8,
                    }
                } else {
                    Abs::Top
                }
            }
            Kind::Offset { ptr, count, kind } => {
                let p = self.abs(ptr, reads)?;
                let c = self.abs(count, reads)?;
                let s = match kind {
                    OffsetKind::ByteAdd => 1,
                    _ => ptr.ty.elem_size() as i128,
                };
                match (p, range_of(c, Int::Usize)) {
                    (
                        Abs::Addr { lo, hi, align },
                        Abs::Range {
                            lo: clo,
                            hi: chi,
                            align: calign,
                        },
                    ) if chi <= 4096 => {
                        let align = align.min(pow2_of(s).saturating_mul(calign).min(MAX_ALIGN));
                        if *kind == OffsetKind::Sub {
                            Abs::Addr {
                                lo: lo - chi * s,
                                hi: hi - clo * s,
                                align,
                            }
                        } else {
                            Abs::Addr {
                                lo: lo + clo * s,
                                hi: hi + chi * s,
                                align,
                            }
                        }
                    }
                    _ => Abs::Top,
                }
            }
            Kind::Cast(inner) => {
                let a = self.abs(inner, reads)?;
                let wide = e.ty.scalar().bits() == 64 && inner.ty.scalar().bits() == 64;
                match a {
                    Abs::Addr { .. } if wide => a,
                    Abs::Range { lo, hi, .. } if !e.ty.is_ptr() && !inner.ty.is_ptr() => {
                        let to = e.ty.scalar();
                        if lo >= to.min() && hi <= to.max() {
                            a
                        } else {
                            Abs::Top
                        }
                    }
                    _ => Abs::Top,
                }
            }
            Kind::Bin(op, l, r) => {
                let int = e.ty.scalar();
                let (a, b) = (self.abs(l, reads)?, self.abs(r, reads)?);
                bin(*op, int, a, b)
            }
            Kind::Shift {
                value,
                left,
                amount,
            } => {
                let int = e.ty.scalar();
                let a = range_of(self.abs(value, reads)?, int);
                match a {
                    Abs::Range { lo, hi, align } if lo >= 0 => {
                        if *left {
                            fit(int, lo << amount, hi << amount, align << amount)
                        } else {
                            Abs::Range {
                                lo: lo >> amount,
                                hi: hi >> amount,
                                align: (align >> amount).max(1),
                            }
                        }
                    }
                    _ => Abs::Top,
                }
            }
            Kind::ShiftBy { value, left, count } => {
                let int = e.ty.scalar();
                let a = range_of(self.abs(value, reads)?, int);
                self.abs(count, reads)?;
                match a {
                    // Right by any count: between 0 and the value.
                    Abs::Range { hi, lo, .. } if lo >= 0 && !*left => Abs::Range {
                        lo: 0,
                        hi,
                        align: 1,
                    },
                    _ => Abs::Top,
                }
            }
            Kind::Not(inner) | Kind::Neg(inner) => {
                self.abs(inner, reads)?;
                Abs::Top
            }
            Kind::Field { base, field, index } => {
                let def = &FIELDS[*field];
                let elem = def.ty.ty().size();
                let Abs::Addr { lo, hi, align } = self.abs(base, reads)? else {
                    return None;
                };
                if align < 8 {
                    // The structs are 8-aligned: a field place needs an aligned pointer.
                    return None;
                }
                if let Some(index) = index {
                    let len = def.len? as i128;
                    match range_of(self.abs(index, reads)?, Int::Usize) {
                        Abs::Range { lo, hi, .. } if lo >= 0 && hi < len => {}
                        _ => return None,
                    }
                }
                // Wherever rustc puts it: an element-aligned place in the struct's first
                // `BOUND` bytes.
                Abs::Addr {
                    lo,
                    hi: hi + (BOUND - elem) as i128,
                    align: elem.min(align),
                }
            }
        })
    }

    pub fn cond_reads(&self, c: &Cond, reads: &mut Vec<Bytes>) -> Option<()> {
        match c {
            Cond::Cmp(_, l, r) => {
                self.abs(l, reads)?;
                self.abs(r, reads)?;
            }
            Cond::IsNull(p) => {
                self.abs(p, reads)?;
            }
            Cond::Not(inner) => self.cond_reads(inner, reads)?,
        }
        Some(())
    }
}

/// `Top` of an integer type as the interval it is, where that helps.
pub(crate) fn range_of(a: Abs, int: Int) -> Abs {
    match a {
        Abs::Top => Abs::Range {
            lo: int.min(),
            hi: int.max(),
            align: 1,
        },
        other => other,
    }
}

pub(crate) fn fit(int: Int, lo: i128, hi: i128, align: u64) -> Abs {
    if lo >= int.min() && hi <= int.max() {
        Abs::Range {
            lo,
            hi,
            align: align.min(MAX_ALIGN),
        }
    } else {
        Abs::Top
    }
}

pub(crate) fn bin(op: BinOp, int: Int, a: Abs, b: Abs) -> Abs {
    use Abs::*;
    let align = |x: Abs| match x {
        Range { align, .. } | Addr { align, .. } => align,
        Top => 1,
    };
    match op {
        BinOp::And => {
            // A non-negative side bounds the result (and its zero low bits stay zero).
            let bound = [a, b]
                .iter()
                .filter_map(|x| match x {
                    Range { lo, hi, .. } if *lo >= 0 => Some(*hi),
                    _ => None,
                })
                .min();
            match bound {
                Some(hi) => Range {
                    lo: 0,
                    hi,
                    align: align(a).max(align(b)),
                },
                None => Top,
            }
        }
        BinOp::Add => match (a, b) {
            (Range { lo, hi, .. }, Range { lo: l2, hi: h2, .. }) => {
                fit(int, lo + l2, hi + h2, align(a).min(align(b)))
            }
            (Addr { lo, hi, .. }, Range { lo: l2, hi: h2, .. })
            | (Range { lo: l2, hi: h2, .. }, Addr { lo, hi, .. })
                if int.bits() == 64 && l2 >= 0 && h2 <= 4096 =>
            {
                Addr {
                    lo: lo + l2,
                    hi: hi + h2,
                    align: align(a).min(align(b)),
                }
            }
            _ => Top,
        },
        BinOp::Sub => match (a, b) {
            (Range { lo, hi, .. }, Range { lo: l2, hi: h2, .. }) => {
                fit(int, lo - h2, hi - l2, align(a).min(align(b)))
            }
            (Addr { lo, hi, .. }, Range { lo: l2, hi: h2, .. })
                if int.bits() == 64 && l2 >= 0 && h2 <= 4096 =>
            {
                Addr {
                    lo: lo - h2,
                    hi: hi - l2,
                    align: align(a).min(align(b)),
                }
            }
            _ => Top,
        },
        BinOp::Mul => match (a, b) {
            (Range { lo, hi, align: al }, Range { lo: c, hi: c2, .. })
            | (Range { lo: c, hi: c2, .. }, Range { lo, hi, align: al })
                if c == c2 && c >= 0 && lo >= 0 =>
            {
                // Products of 64-bit bounds can leave i128: then nothing is known.
                match (lo.checked_mul(c), hi.checked_mul(c)) {
                    (Some(lo), Some(hi)) => fit(int, lo, hi, al.saturating_mul(pow2_of(c))),
                    _ => Top,
                }
            }
            _ => Top,
        },
        BinOp::Or | BinOp::Xor => Top,
    }
}

/// The bytes an access of `width` through `p` may touch, if they all lie in `0..limit` and
/// every address is a multiple of `align`.
pub fn access(p: Abs, width: u64, align: u64, limit: u64) -> Option<Bytes> {
    match p {
        Abs::Addr { lo, hi, align: a }
            if lo >= 0 && hi + width as i128 <= limit as i128 && a >= align =>
        {
            Some((lo, hi + width as i128))
        }
        _ => None,
    }
}

/// Whether a store of `value_ty` with abstract value `value` may go to `bytes`: integers
/// only into the data region, pointers into the data region, valid window pointers into
/// the pointer region, anything into the maybe-null region.
pub(crate) fn write_ok(bytes: Bytes, value_ty: &Ty, value: Abs) -> bool {
    let within = |lo: u64, hi: u64| bytes.0 >= lo as i128 && bytes.1 <= hi as i128;
    if within(0, DATA_END) {
        return true;
    }
    if !value_ty.is_ptr() {
        return false;
    }
    if within(PTRS, MAYBE_NULL) {
        return access(value, 0, 8, WINDOW).is_some();
    }
    within(MAYBE_NULL, ARENA)
}
