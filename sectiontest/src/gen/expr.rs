//! Expressions: integers, pointers, counts and offsets kept in bounds, the pointers that
//! loads and stores go through, and conditions.

use super::Gen;
use crate::absint::*;
use crate::ast::*;
use crate::state::{ARENA, MAYBE_NULL};

impl Gen<'_> {
    pub(super) fn random_int(&mut self) -> Int {
        *self.rng.pick(&INTS)
    }

    /// A type for a value: mostly integers, sometimes pointers (to integers, to pointers,
    /// to `Rec`).
    pub(super) fn random_ty(&mut self, depth: usize) -> Ty {
        match self.rng.below(10) {
            0..=6 => Ty::Int(self.random_int()),
            7 => Ty::rec(self.rng.chance(70)),
            _ if depth == 0 => Ty::ptr(true, Ty::Int(self.random_int())),
            _ => {
                let inner = self.random_ty(depth - 1);
                Ty::ptr(self.rng.chance(70), inner)
            }
        }
    }

    pub(super) fn abs(&self, e: &Expr) -> Option<Abs> {
        self.env.abs(e, &mut Vec::new())
    }

    pub(super) fn literal(&mut self, int: Int) -> Expr {
        let value = match self.rng.below(8) {
            0 => 0,
            1 => 1,
            2 => int.max(),
            3 => int.min(),
            4 => int.value(self.rng.next_u64()),
            5 => {
                let bits = *self.rng.pick(&[7u32, 8, 15, 16, 31, 32, 63]);
                let v = (1i128 << bits) + self.rng.below(3) as i128 - 1;
                if v <= int.max() {
                    v
                } else {
                    int.max()
                }
            }
            6 if int.signed() => (-(self.rng.below(300) as i128)).max(int.min()),
            _ => self.rng.below(300) as i128 & int.max(),
        };
        let mut e = Expr::lit(value, int);
        if let Kind::Lit { suffix, .. } = &mut e.kind {
            *suffix = self.rng.chance(15);
        }
        e
    }

    pub(super) fn var_of(&mut self, ty: &Ty) -> Option<Expr> {
        let names: Vec<String> = self
            .env
            .vars
            .iter()
            .filter(|(_, t, _)| t == ty)
            .map(|(n, _, _)| n.clone())
            .filter(|n| !(self.idempotent && n == INDEX))
            .collect();
        (!names.is_empty()).then(|| {
            let name = self.rng.pick(&names).clone();
            Expr::var(&name, ty.clone())
        })
    }

    pub(super) fn int_expr(&mut self, int: Int, depth: usize) -> Expr {
        for _ in 0..8 {
            let e = self.try_int_expr(int, depth);
            if self.abs(&e).is_some() {
                return e;
            }
        }
        self.literal(int)
    }

    pub(super) fn try_int_expr(&mut self, int: Int, depth: usize) -> Expr {
        let ty = Ty::Int(int);
        if depth == 0 || self.rng.chance(25) {
            if self.rng.chance(50) {
                if let Some(v) = self.var_of(&ty) {
                    return v;
                }
            }
            if self.rng.chance(60) {
                // Another integer name, cast: values from memory and inputs, not constants.
                let ints: Vec<(String, Ty)> = self
                    .env
                    .vars
                    .iter()
                    .filter(|(n, t, _)| !(t.is_ptr() || self.idempotent && n == INDEX))
                    .map(|(n, t, _)| (n.clone(), t.clone()))
                    .collect();
                if !ints.is_empty() {
                    let (name, t) = self.rng.pick(&ints).clone();
                    let v = Expr::var(&name, t);
                    if v.ty == ty {
                        return v;
                    }
                    return Expr {
                        kind: Kind::Cast(Box::new(v)),
                        ty,
                    };
                }
            }
            return self.literal(int);
        }
        let d = depth - 1;
        let un = |kind: fn(Box<Expr>) -> Kind, e: Expr| Expr {
            kind: kind(Box::new(e)),
            ty: Ty::Int(int),
        };
        match self.rng.below(13) {
            0 => self.literal(int),
            1..=3 => {
                let op = *self.rng.pick(&[
                    BinOp::Add,
                    BinOp::Sub,
                    BinOp::Mul,
                    BinOp::And,
                    BinOp::Or,
                    BinOp::Xor,
                ]);
                let (l, r) = (self.int_expr(int, d), self.int_expr(int, d));
                Expr {
                    kind: Kind::Bin(op, Box::new(l), Box::new(r)),
                    ty,
                }
            }
            4 if self.rng.chance(40) => {
                // By a value of any integer type (a literal would be the case below).
                let count_int = self.random_int();
                let count = self.int_expr(count_int, d);
                let value = Box::new(self.int_expr(int, d));
                let left = self.rng.chance(50);
                let literal = match &count.kind {
                    Kind::Lit { .. } => true,
                    Kind::Neg(inner) => matches!(inner.kind, Kind::Lit { .. }),
                    _ => false,
                };
                if literal {
                    return self.literal(int);
                }
                Expr {
                    kind: Kind::ShiftBy {
                        value,
                        left,
                        count: Box::new(count),
                    },
                    ty,
                }
            }
            4 => {
                let amount = self.rng.below(int.bits() as usize) as u32;
                Expr {
                    kind: Kind::Shift {
                        value: Box::new(self.int_expr(int, d)),
                        left: self.rng.chance(50),
                        amount,
                    },
                    ty,
                }
            }
            5 => un(Kind::Not, self.int_expr(int, d)),
            6 if int.signed() => un(Kind::Neg, self.int_expr(int, d)),
            6..=9 if !self.no_loads => {
                let field = match self.rng.chance(35) {
                    true => self.field_place(&ty, false, d),
                    false => None,
                };
                match field.or_else(|| self.access_ptr(&ty, false, int.bytes(), ARENA, d)) {
                    Some(p) if self.rng.chance(40) => un(Kind::LoadAcquire, p),
                    Some(p) => un(Kind::Load, p),
                    None => self.literal(int),
                }
            }
            10 if self.rng.chance(30) => {
                // An address as an integer.
                let pty = self.random_ptr_ty();
                let p = self.ptr_expr(&pty, d);
                un(Kind::Cast, p)
            }
            _ => {
                let from = self.random_int();
                un(Kind::Cast, self.int_expr(from, d))
            }
        }
    }

    pub(super) fn random_ptr_ty(&mut self) -> Ty {
        loop {
            let ty = self.random_ty(2);
            if ty.is_ptr() {
                return ty;
            }
        }
    }

    /// Any pointer of type `ty`: it may be null or point anywhere, so it is only compared,
    /// tested, cast, or stored where garbage is allowed.
    pub(super) fn ptr_expr(&mut self, ty: &Ty, depth: usize) -> Expr {
        if depth > 0 && self.rng.chance(40) {
            match self.rng.below(3) {
                0 => {
                    let count = self.int_expr(Int::Usize, depth - 1);
                    let inner = self.ptr_expr(ty, depth - 1);
                    let kind =
                        *self
                            .rng
                            .pick(&[OffsetKind::Add, OffsetKind::Sub, OffsetKind::ByteAdd]);
                    let e = Expr {
                        kind: Kind::Offset {
                            ptr: Box::new(inner),
                            count: Box::new(count),
                            kind,
                        },
                        ty: ty.clone(),
                    };
                    if self.abs(&e).is_some() {
                        return e;
                    }
                }
                1 if !self.no_loads => {
                    let pp = Ty::ptr(self.rng.chance(50), ty.clone());
                    if let Some(p) = self.access_ptr(&pp, false, 8, ARENA, depth - 1) {
                        let p = Box::new(p);
                        let kind = match self.rng.chance(25) {
                            true => Kind::LoadAcquire(p),
                            false => Kind::Load(p),
                        };
                        return Expr {
                            kind,
                            ty: ty.clone(),
                        };
                    }
                }
                _ => {
                    let int = *self.rng.pick(&[Int::Usize, Int::U64, Int::Isize, Int::I64]);
                    return Expr {
                        kind: Kind::Cast(Box::new(self.int_expr(int, depth - 1))),
                        ty: ty.clone(),
                    };
                }
            }
        }
        if let Some(v) = self.var_of(ty) {
            return v;
        }
        let pointers: Vec<(String, Ty)> = self
            .env
            .vars
            .iter()
            .filter(|(_, t, _)| t.is_ptr())
            .map(|(n, t, _)| (n.clone(), t.clone()))
            .collect();
        let inner = if pointers.is_empty() || self.rng.chance(10) {
            Expr::lit(0, Int::Usize)
        } else {
            let (name, t) = self.rng.pick(&pointers).clone();
            Expr::var(&name, t)
        };
        Expr {
            kind: Kind::Cast(Box::new(inner)),
            ty: ty.clone(),
        }
    }

    /// A usize count in `0..=max`, a multiple of `align`.
    pub(super) fn count(&mut self, max: i128, align: u64, depth: usize) -> Expr {
        let align = align.max(1) as i128;
        if max < align {
            return Expr::lit(0, Int::Usize);
        }
        for _ in 0..6 {
            let e = match self.rng.below(6) {
                0 | 1 => Expr::lit(
                    align * self.rng.below((max / align + 1) as usize) as i128,
                    Int::Usize,
                ),
                2 => match self.var_of(&Ty::Int(Int::Usize)) {
                    Some(v) => v,
                    None => continue,
                },
                _ => {
                    // `(x & mask) as usize`, the mask as wide as the room allows.
                    let mut bits = 0;
                    while (1i128 << (bits + 1)) - 1 <= max {
                        bits += 1;
                    }
                    let bits = self.rng.below(bits + 1);
                    let mask = ((1i128 << bits) - 1) & !(align - 1);
                    let int = self.random_int();
                    if mask > int.max() {
                        continue;
                    }
                    let x = if self.idempotent || self.rng.chance(80) {
                        self.int_expr(int, depth)
                    } else {
                        Expr::var(INDEX, Ty::Int(Int::Usize))
                    };
                    let int = x.ty.scalar();
                    let masked = Expr {
                        kind: Kind::Bin(BinOp::And, Box::new(x), Box::new(Expr::lit(mask, int))),
                        ty: Ty::Int(int),
                    };
                    if int == Int::Usize {
                        masked
                    } else {
                        Expr {
                            kind: Kind::Cast(Box::new(masked)),
                            ty: Ty::Int(Int::Usize),
                        }
                    }
                }
            };
            if let Some(Abs::Range { lo, hi, align: a }) = self.abs(&e) {
                if lo >= 0 && hi <= max && a as i128 >= align {
                    return e;
                }
            }
        }
        Expr::lit(0, Int::Usize)
    }

    /// Applies a random in-bounds offset to `e` (abstract value `Addr`).
    pub(super) fn offset(
        &mut self,
        e: Expr,
        width: u64,
        align: u64,
        limit: u64,
        depth: usize,
    ) -> Expr {
        let Some(Abs::Addr { lo, hi, .. }) = self.abs(&e) else {
            return e;
        };
        if e.ty.struct_pointee().is_some() {
            // Struct pointers are only ever reached through their fields.
            return e;
        }
        let kind = *self
            .rng
            .pick(&[OffsetKind::Add, OffsetKind::Sub, OffsetKind::ByteAdd]);
        let step = if kind == OffsetKind::ByteAdd {
            1
        } else {
            e.ty.elem_size()
        };
        // The count times the step must keep the access aligned.
        let count_align = (align / pow2_of(step as i128)).max(1);
        let room = if kind == OffsetKind::Sub {
            lo
        } else {
            limit as i128 - width as i128 - hi
        };
        if room < 0 {
            return e;
        }
        let count = self.count(room / step as i128, count_align, depth);
        let ty = e.ty.clone();
        Expr {
            kind: Kind::Offset {
                ptr: Box::new(e),
                count: Box::new(count),
                kind,
            },
            ty,
        }
    }

    /// A pointer of type `ty` through which `width` bytes can be accessed, aligned to the
    /// pointee, within `0..limit` of the arena, for every memory state.
    pub(super) fn access_ptr(
        &mut self,
        ty: &Ty,
        mutable: bool,
        width: u64,
        limit: u64,
        depth: usize,
    ) -> Option<Expr> {
        let align = match ty.pointee() {
            Some(p) => p.size(),
            None => 1,
        }
        .min(width);
        let Ty::Ptr { pointee, .. } = ty else {
            return None;
        };
        let target = Ty::Ptr {
            mutable: if mutable { true } else { self.rng.chance(60) },
            pointee: pointee.clone(),
        };
        for _ in 0..6 {
            let roots: Vec<Expr> = self
                .env
                .vars
                .iter()
                .filter(|(_, t, a)| t.is_ptr() && matches!(a, Abs::Addr { .. }))
                .map(|(n, t, _)| Expr::var(n, t.clone()))
                .collect();
            let mut e = if depth > 0 && !self.no_loads && (roots.is_empty() || self.rng.chance(20))
            {
                // A pointer loaded from the pointer region.
                let inner = self.random_ty(1);
                let pp = Ty::ptr(self.rng.chance(50), Ty::ptr(true, inner));
                match self.access_ptr(&pp, false, 8, MAYBE_NULL, depth - 1) {
                    Some(p) => {
                        let ty = p.ty.pointee().expect("a pointer to a pointer").clone();
                        let p = Box::new(p);
                        let kind = match self.rng.chance(25) {
                            true => Kind::LoadAcquire(p),
                            false => Kind::Load(p),
                        };
                        Expr { kind, ty }
                    }
                    None => continue,
                }
            } else if roots.is_empty() {
                return None;
            } else {
                self.rng.pick(&roots).clone()
            };
            if depth > 0 && self.rng.chance(35) {
                e = self.offset(e, width, align, limit, depth - 1);
            }
            if e.ty != target {
                e = Expr {
                    kind: Kind::Cast(Box::new(e)),
                    ty: target.clone(),
                };
            }
            if depth > 0 && self.rng.chance(40) {
                e = self.offset(e, width, align, limit, depth - 1);
            }
            if let Some(p) = self.abs(&e) {
                if access(p, width, align, limit).is_some() {
                    return Some(e);
                }
            }
        }
        None
    }

    pub(super) fn cond(&mut self, depth: usize) -> Cond {
        match self.rng.below(8) {
            0 => Cond::Not(Box::new(self.cond(depth))),
            1 => {
                let ty = self.random_ptr_ty();
                Cond::IsNull(self.ptr_expr(&ty, depth))
            }
            2 => {
                let ty = self.random_ptr_ty();
                let op = *self.rng.pick(&CMP_OPS);
                Cond::Cmp(op, self.ptr_expr(&ty, depth), self.ptr_expr(&ty, depth))
            }
            _ => {
                let int = self.random_int();
                let op = *self.rng.pick(&CMP_OPS);
                Cond::Cmp(op, self.int_expr(int, depth), self.int_expr(int, depth))
            }
        }
    }

    pub(super) fn value(&mut self, ty: &Ty, depth: usize) -> Expr {
        match ty {
            Ty::Int(int) => self.int_expr(*int, depth),
            Ty::Ptr {
                mutable, pointee, ..
            } => {
                // A field's address (never in an exit value: the first one is printed
                // where no type is expected, and a field needs one).
                if let (Pointee::Val(elem), false) = (&**pointee, self.no_loads) {
                    if self.rng.chance(15) {
                        if let Some(address) = self.field_place(elem, *mutable, depth) {
                            return address;
                        }
                    }
                }
                if self.rng.chance(60) {
                    if let Some(p) = self.access_ptr(ty, false, ty.size(), ARENA, depth) {
                        if p.ty == *ty {
                            return p;
                        }
                        return Expr {
                            kind: Kind::Cast(Box::new(p)),
                            ty: ty.clone(),
                        };
                    }
                }
                self.ptr_expr(ty, depth)
            }
        }
    }
}
