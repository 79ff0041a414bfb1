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
//!
//! Files: this one builds the section and its statements; `expr` builds expressions and
//! the pointers accesses go through; `fields` builds struct pointers and field places.

use crate::absint::*;
use crate::ast::*;
use crate::rng::Rng;
use crate::state::{ARENA, DATA_END, INTS as STATE_INTS, MAYBE_NULL, PTRS};
use crate::validate::validate;

mod expr;
mod fields;

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
        before: Vec::new(),
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
    /// Statements that the statement being generated needs right before it.
    before: Vec<Stmt>,
}

const COPY_LENGTHS: [u64; 14] = [1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 32, 64, 128, 256];
/// Bounds of `copy(.., max N)`: around the 8-byte loop's step and the tail's bits.
const COPY_BOUNDS: [u64; 12] = [1, 2, 3, 7, 8, 9, 15, 16, 17, 64, 255, 256];

impl Gen<'_> {
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
            let (ty, source, abs) = match self.rng.below(24) {
                20.. => self.struct_input(),
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
                    // What the statement needs before it (a guarded copy's length and guard).
                    stmts.append(&mut self.before);
                    stmts.push(stmt);
                    break;
                }
                self.before.clear();
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
                if !value.typed(Some(&ty)) {
                    return None;
                }
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
            6 if self.rng.chance(50) => self.copy_up_to(depth, exit_ty, lets),
            6 => {
                let len = *self.rng.pick(&COPY_LENGTHS);
                let dst_ty = Ty::ptr(true, Ty::Int(self.random_int()));
                let src_ty = self.random_ptr_ty();
                let dst = self.access_ptr(&dst_ty, true, len, DATA_END, depth)?;
                let src = self.access_ptr(&src_ty, false, len, ARENA, depth)?;
                if !dst.typed(None) || !src.typed(None) {
                    return None;
                }
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
                if !cond.typed() {
                    return None;
                }
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

    /// `copy(dst, src, len, max N)`, its accesses as long as `N` allows. A length above `N`
    /// exits without a value; in a section whose exits carry one, the length is bound with
    /// a `let` and guarded first, `if len > M { exit value; }` with `M <= N` (pushed to
    /// [`Gen::before`]), and the copy has no exit of its own.
    fn copy_up_to(
        &mut self,
        depth: usize,
        exit_ty: &mut Option<Option<Ty>>,
        lets: &mut usize,
    ) -> Option<Stmt> {
        let max = *self.rng.pick(&COPY_BOUNDS);
        let int = *self
            .rng
            .pick(&[Int::U8, Int::U16, Int::U32, Int::U64, Int::Usize]);
        let len = self.copy_length(int, max, depth);
        // With exits that carry a value: the guard's bound (the copy's, or tighter) and its
        // exit value, which may not load.
        let guard = match exit_ty.clone() {
            Some(Some(ty)) => {
                // At most what the length's type holds: `v > 255` guards a `u8` (never true).
                let bound = (max - self.rng.below(2) as u64 * (max / 2)).min(int.max() as u64);
                self.no_loads = true;
                let value = self.value(&ty, depth);
                self.no_loads = false;
                Some((bound, value))
            }
            _ => None,
        };
        let dst_ty = Ty::ptr(true, Ty::Int(self.random_int()));
        let src_ty = self.random_ptr_ty();
        let dst = self.access_ptr(&dst_ty, true, max, DATA_END, depth)?;
        let src = self.access_ptr(&src_ty, false, max, ARENA, depth)?;
        if !dst.typed(None) || !src.typed(None) || !len.typed(None) {
            return None;
        }
        let mut reads = Vec::new();
        let len_abs = self.env.abs(&len, &mut reads)?;
        if let Some((_, value)) = &guard {
            self.env.abs(value, &mut reads)?;
        }
        let d = access(self.env.abs(&dst, &mut reads)?, max, 1, DATA_END)?;
        let s = access(self.env.abs(&src, &mut reads)?, max, 1, ARENA)?;
        if overlaps(d, s) {
            return None;
        }
        reads.push(s);
        if !self.accept(reads, vec![d]) {
            return None;
        }
        // Nothing fails from here on: the name and the statements before the copy are kept.
        let Some((bound, value)) = guard else {
            exit_ty.get_or_insert(None);
            return Some(Stmt::CopyUpTo { dst, src, len, max });
        };
        let name = format!("v{lets}");
        *lets += 1;
        self.env.vars.push((name.clone(), Ty::Int(int), len_abs));
        let var = Expr::var(&name, Ty::Int(int));
        self.before.push(Stmt::Let { name, value: len });
        self.before.push(Stmt::ExitIf {
            cond: Cond::Cmp(CmpOp::Gt, var.clone(), Expr::lit(i128::from(bound), int)),
            value: Some(value),
        });
        Some(Stmt::CopyUpTo {
            dst,
            src,
            len: var,
            max,
        })
    }

    /// A run-time length for a copy bounded by `max`, never a bare literal (the checker
    /// wants those without a bound): 0, lengths at and around the bound, and past it.
    fn copy_length(&mut self, int: Int, max: u64, depth: usize) -> Expr {
        let x = self.int_expr(int, depth);
        let lit = |value: u64| Expr::lit(i128::from(value).min(int.max()), int);
        let bin = |op, l: Expr, r: Expr| Expr {
            kind: Kind::Bin(op, Box::new(l), Box::new(r)),
            ty: Ty::Int(int),
        };
        match self.rng.below(5) {
            // Across the bound: up to about twice it.
            0 => bin(BinOp::And, x, lit((2 * max).next_power_of_two() - 1)),
            // Short, 0 included.
            1 => bin(BinOp::And, x, lit(7)),
            // At and just below the bound (a bound below 7 wraps past it).
            2 => bin(BinOp::Sub, lit(max), bin(BinOp::And, x, lit(7))),
            // Just past it.
            3 => bin(BinOp::Add, bin(BinOp::And, x, lit(7)), lit(max + 1)),
            // Anything: mostly far past the bound.
            _ if !matches!(x.kind, Kind::Lit { .. }) => x,
            _ => bin(BinOp::And, x, lit(511)),
        }
    }

    /// A pointer and a value that may be stored through it.
    fn write(&mut self, depth: usize) -> Option<(Expr, Expr)> {
        let (slot, ptr) = match self.field_target(depth) {
            Some(target) => target,
            None => {
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
                (slot, ptr)
            }
        };
        let limit = if slot.is_ptr() { ARENA } else { DATA_END };
        let value = self.value(&slot, depth);
        let store = Stmt::Store {
            ptr: ptr.clone(),
            value: value.clone(),
        };
        if !store.typed(&mut None) {
            return None;
        }
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
            let (slot, ptr) = match self.field_target(depth) {
                Some(target) => target,
                None => {
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
                    (slot, ptr)
                }
            };
            let value = self.value(&slot, depth);
            let typed = Commit {
                ptr: ptr.clone(),
                value: value.clone(),
                add: false,
                release,
                relaxed_spelled,
            }
            .typed();
            if !typed {
                continue;
            }
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
