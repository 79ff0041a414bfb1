//! The generator: random sections that are valid (the checker accepts them) and safe (every
//! access stays in the arena, aligned, and integer stores stay in the data region) for
//! *every* memory state, not just one.
//!
//! Safety comes from an abstract interpretation that the generator runs on what it builds:
//! each value is an interval (with a known power-of-two alignment) of integers, or of
//! arena offsets for pointers and addresses, or unknown. A load or store is only generated
//! through a pointer whose whole interval fits; offsets get counts masked to the room left.
//! [`validate`] runs the same analysis on a finished section, which is how the shrinker
//! knows that a smaller section is still one the harness may run.

use crate::absint::*;
use crate::ast::*;
use crate::rng::Rng;
use crate::state::{ARENA, DATA_END, INTS as STATE_INTS, MAYBE_NULL, PTRS};
use crate::validate::validate;

#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only sections a restart cannot change (for the signal storm).
    pub idempotent: bool,
}

pub fn generate(seed: u64, config: Config) -> Section {
    let mut rng = Rng(seed);
    let mut g = Gen {
        rng: &mut rng,
        env: Env::default(),
        idempotent: config.idempotent,
        no_loads: false,
        reads: Vec::new(),
        writes: Vec::new(),
    };
    let mut section = if g.rng.chance(8) {
        g.near_budget()
    } else {
        g.section()
    };
    if !config.idempotent && !section.idempotent {
        // Sections that happen to be idempotent are rerun without restoring memory
        // after an abort, which checks their idempotence too.
        section.idempotent = true;
        section.idempotent = validate(&section).is_ok();
    }
    section
}

struct Gen<'r> {
    rng: &'r mut Rng,
    env: Env,
    idempotent: bool,
    /// Set while generating an exit value, which may not load.
    no_loads: bool,
    reads: Vec<Bytes>,
    writes: Vec<Bytes>,
}

const COPY_LENGTHS: [u64; 14] = [1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 32, 64, 128, 256];

impl Gen<'_> {
    fn random_int(&mut self) -> Int {
        *self.rng.pick(&INTS)
    }

    /// A type for a value: mostly integers, sometimes pointers (to integers, to pointers,
    /// to `Rec`).
    fn random_ty(&mut self, depth: usize) -> Ty {
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

    fn abs(&self, e: &Expr) -> Option<Abs> {
        self.env.abs(e, &mut Vec::new())
    }

    fn literal(&mut self, int: Int) -> Expr {
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

    fn var_of(&mut self, ty: &Ty) -> Option<Expr> {
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

    fn int_expr(&mut self, int: Int, depth: usize) -> Expr {
        for _ in 0..8 {
            let e = self.try_int_expr(int, depth);
            if self.abs(&e).is_some() {
                return e;
            }
        }
        self.literal(int)
    }

    fn try_int_expr(&mut self, int: Int, depth: usize) -> Expr {
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
            6..=9 if !self.no_loads => match self.access_ptr(&ty, false, int.bytes(), ARENA, d) {
                Some(p) => un(Kind::Load, p),
                None => self.literal(int),
            },
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

    fn random_ptr_ty(&mut self) -> Ty {
        loop {
            let ty = self.random_ty(2);
            if ty.is_ptr() {
                return ty;
            }
        }
    }

    /// Any pointer of type `ty`: it may be null or point anywhere, so it is only compared,
    /// tested, cast, or stored where garbage is allowed.
    fn ptr_expr(&mut self, ty: &Ty, depth: usize) -> Expr {
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
                        return Expr {
                            kind: Kind::Load(Box::new(p)),
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
    fn count(&mut self, max: i128, align: u64, depth: usize) -> Expr {
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
    fn offset(&mut self, e: Expr, width: u64, align: u64, limit: u64, depth: usize) -> Expr {
        let Some(Abs::Addr { lo, hi, .. }) = self.abs(&e) else {
            return e;
        };
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
    fn access_ptr(
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
                        Expr {
                            kind: Kind::Load(Box::new(p)),
                            ty,
                        }
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

    fn cond(&mut self, depth: usize) -> Cond {
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

    fn value(&mut self, ty: &Ty, depth: usize) -> Expr {
        match ty {
            Ty::Int(int) => self.int_expr(*int, depth),
            Ty::Ptr { .. } => {
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

    /// Accepts a statement if, in idempotent mode, what it reads and writes keeps every
    /// read apart from every write.
    fn accept(&mut self, reads: Vec<Bytes>, writes: Vec<Bytes>) -> bool {
        if self.idempotent {
            let all_writes: Vec<Bytes> = self.writes.iter().chain(&writes).copied().collect();
            let all_reads: Vec<Bytes> = self.reads.iter().chain(&reads).copied().collect();
            if all_reads
                .iter()
                .any(|r| all_writes.iter().any(|w| overlaps(*r, *w)))
            {
                return false;
            }
        }
        self.reads.extend(reads);
        self.writes.extend(writes);
        true
    }

    fn inputs(&mut self, count: usize) -> Vec<Input> {
        let mut inputs = Vec::new();
        for i in 0..count {
            let name = format!("i{i}");
            let (ty, source, abs) = match self.rng.below(20) {
                0..=7 => {
                    let int = self.random_int();
                    (
                        Ty::Int(int),
                        Source::Int(self.rng.below(STATE_INTS)),
                        Abs::Top,
                    )
                }
                8 => (self.random_ptr_ty(), Source::Null, Abs::Top),
                _ => {
                    let ty = self.random_ptr_ty();
                    // Data, the pointer region, or the maybe-null region.
                    let (lo, hi) = match self.rng.below(6) {
                        0 => (PTRS, MAYBE_NULL),
                        1 => (MAYBE_NULL, ARENA),
                        _ => (0, DATA_END),
                    };
                    let stride = if !self.idempotent && self.rng.chance(20) {
                        8
                    } else {
                        0
                    };
                    let slots = (hi - lo - 3 * stride) / 8;
                    let offset = lo + 8 * self.rng.below(slots as usize) as u64;
                    let abs = Abs::Addr {
                        lo: offset as i128,
                        hi: (offset + 3 * stride) as i128,
                        align: 8,
                    };
                    (ty, Source::Arena { offset, stride }, abs)
                }
            };
            self.env.vars.push((name.clone(), ty.clone(), abs));
            inputs.push(Input { name, ty, source });
        }
        inputs
    }

    fn section(&mut self) -> Section {
        self.env.vars = vec![(INDEX.to_string(), Ty::Int(Int::Usize), Abs::Top)];
        let mm_cid = self.rng.chance(10);
        let no_retry = self.rng.chance(20);
        let count = 1 + self.rng.below(6);
        let inputs = self.inputs(count);
        let depth = 1 + self.rng.below(3);
        let mut stmts = Vec::new();
        let mut exit_ty: Option<Option<Ty>> = None;
        let mut lets = 0;
        for _ in 0..self.rng.below(9) {
            for _attempt in 0..4 {
                if let Some(stmt) = self.stmt(depth, &mut exit_ty, &mut lets) {
                    stmts.push(stmt);
                    break;
                }
            }
        }
        let (commit, extra) = self.commit(depth);
        let mut inputs = inputs;
        inputs.extend(extra);
        let yielded = self.rng.chance(40).then(|| {
            let names: Vec<String> = self
                .env
                .vars
                .iter()
                .map(|(n, _, _)| n.clone())
                .filter(|n| !(self.idempotent && n == INDEX))
                .collect();
            self.rng.pick(&names).clone()
        });
        Section {
            mm_cid,
            no_retry,
            inputs,
            stmts,
            commit,
            yielded,
            idempotent: self.idempotent,
        }
    }

    fn stmt(
        &mut self,
        depth: usize,
        exit_ty: &mut Option<Option<Ty>>,
        lets: &mut usize,
    ) -> Option<Stmt> {
        match self.rng.below(10) {
            0..=3 => {
                let ty = self.random_ty(2);
                let value = self.value(&ty, depth);
                let mut reads = Vec::new();
                let abs = self.env.abs(&value, &mut reads)?;
                if !self.accept(reads, Vec::new()) {
                    return None;
                }
                let name = format!("v{lets}");
                *lets += 1;
                self.env.vars.push((name.clone(), ty, abs));
                Some(Stmt::Let { name, value })
            }
            4 | 5 => {
                let (ptr, value) = self.write(depth)?;
                Some(Stmt::Store { ptr, value })
            }
            6 => {
                let len = *self.rng.pick(&COPY_LENGTHS);
                let dst_ty = Ty::ptr(true, Ty::Int(self.random_int()));
                let src_ty = self.random_ptr_ty();
                let dst = self.access_ptr(&dst_ty, true, len, DATA_END, depth)?;
                let src = self.access_ptr(&src_ty, false, len, ARENA, depth)?;
                let mut reads = Vec::new();
                let d = access(self.env.abs(&dst, &mut reads)?, len, 1, DATA_END)?;
                let s = access(self.env.abs(&src, &mut reads)?, len, 1, ARENA)?;
                if overlaps(d, s) {
                    return None;
                }
                reads.push(s);
                if !self.accept(reads, vec![d]) {
                    return None;
                }
                Some(Stmt::Copy { dst, src, len })
            }
            _ => {
                let ty = exit_ty
                    .get_or_insert_with(|| self.rng.chance(50).then(|| self.random_ty(1)))
                    .clone();
                let cond = self.cond(depth);
                let value = ty.map(|ty| {
                    self.no_loads = true;
                    let v = self.value(&ty, depth);
                    self.no_loads = false;
                    v
                });
                let mut reads = Vec::new();
                self.env.cond_reads(&cond, &mut reads)?;
                if let Some(v) = &value {
                    self.env.abs(v, &mut reads)?;
                }
                if !self.accept(reads, Vec::new()) {
                    return None;
                }
                Some(Stmt::ExitIf { cond, value })
            }
        }
    }

    /// A pointer and a value that may be stored through it.
    fn write(&mut self, depth: usize) -> Option<(Expr, Expr)> {
        let slot = if self.rng.chance(75) {
            Ty::Int(self.random_int())
        } else {
            Ty::ptr(self.rng.chance(50), self.random_ty(1))
        };
        let limit = if slot.is_ptr() { ARENA } else { DATA_END };
        let ptr = self.access_ptr(
            &Ty::ptr(true, slot.clone()),
            true,
            slot.size(),
            limit,
            depth,
        )?;
        let value = self.value(&slot, depth);
        let mut reads = Vec::new();
        let p = self.env.abs(&ptr, &mut reads)?;
        let v = self.env.abs(&value, &mut reads)?;
        let bytes = access(p, slot.size(), slot.size(), limit)?;
        if !write_ok(bytes, &slot, v) || !self.accept(reads, vec![bytes]) {
            return None;
        }
        Some((ptr, value))
    }

    /// The commit, and the input it needed if no existing pointer would do.
    fn commit(&mut self, depth: usize) -> (Commit, Option<Input>) {
        let release = self.rng.chance(25);
        let relaxed_spelled = !release && self.rng.chance(15);
        for _ in 0..20 {
            let slot = if self.rng.chance(85) {
                Ty::Int(self.random_int())
            } else {
                Ty::ptr(true, Ty::Int(self.random_int()))
            };
            let Some(ptr) = self.access_ptr(
                &Ty::ptr(true, slot.clone()),
                true,
                slot.size(),
                DATA_END,
                depth,
            ) else {
                continue;
            };
            let value = self.value(&slot, depth);
            let mut reads = Vec::new();
            if self.env.abs(&ptr, &mut reads).is_none()
                || self.env.abs(&value, &mut reads).is_none()
            {
                continue;
            }
            // The commit writes once, after every read: only its reads must avoid the stores.
            if !self.accept(reads, Vec::new()) {
                continue;
            }
            let add = !slot.is_ptr() && self.rng.chance(30);
            let commit = Commit {
                ptr,
                value,
                add,
                release,
                relaxed_spelled,
            };
            return (commit, None);
        }
        // Always possible: the first data word through an input of its own.
        let name = "i_commit";
        let ty = Ty::ptr(true, Ty::Int(Int::U64));
        let input = Input {
            name: name.to_string(),
            ty: ty.clone(),
            source: Source::Arena {
                offset: 0,
                stride: 0,
            },
        };
        let commit = Commit {
            ptr: Expr::var(name, ty),
            value: Expr::lit(1, Int::U64),
            add: false,
            release,
            relaxed_spelled: false,
        };
        (commit, Some(input))
    }

    /// Many values live at once: integer inputs all combined by the commit, so that the
    /// allocator works near the register budget (or past it, which the macro must refuse).
    fn near_budget(&mut self) -> Section {
        self.env.vars = vec![(INDEX.to_string(), Ty::Int(Int::Usize), Abs::Top)];
        let int = self.random_int();
        let n = 6 + self.rng.below(8);
        let mut inputs: Vec<Input> = (0..n)
            .map(|i| Input {
                name: format!("i{i}"),
                ty: Ty::Int(int),
                source: Source::Int(i % STATE_INTS),
            })
            .collect();
        let slot = Ty::ptr(true, Ty::Int(int));
        let offset = 8 * self.rng.below((DATA_END / 8) as usize) as u64;
        inputs.push(Input {
            name: "out".to_string(),
            ty: slot.clone(),
            source: Source::Arena { offset, stride: 0 },
        });
        for input in &inputs {
            self.env
                .vars
                .push((input.name.clone(), input.ty.clone(), Abs::Top));
        }
        // A load first, so the inputs are live across it too.
        let load = Expr {
            kind: Kind::Load(Box::new(Expr::var("out", slot.clone()))),
            ty: Ty::Int(int),
        };
        let mut value = load.clone();
        for i in (0..n).rev() {
            let op = *self
                .rng
                .pick(&[BinOp::Add, BinOp::Xor, BinOp::Sub, BinOp::Or]);
            value = Expr {
                kind: Kind::Bin(
                    op,
                    Box::new(Expr::var(&format!("i{i}"), Ty::Int(int))),
                    Box::new(value),
                ),
                ty: Ty::Int(int),
            };
        }
        let stmts = vec![Stmt::Let {
            name: "v0".to_string(),
            value: load,
        }];
        let value = Expr {
            kind: Kind::Bin(
                BinOp::Add,
                Box::new(value),
                Box::new(Expr::var("v0", Ty::Int(int))),
            ),
            ty: Ty::Int(int),
        };
        Section {
            mm_cid: false,
            no_retry: false,
            inputs,
            stmts,
            commit: Commit {
                ptr: Expr::var("out", slot),
                value,
                add: self.rng.chance(30),
                release: self.rng.chance(25),
                relaxed_spelled: false,
            },
            yielded: self.rng.chance(50).then(|| "v0".to_string()),
            // `out` is read and written by the commit only, and by the one load before it.
            idempotent: true,
        }
    }
}
