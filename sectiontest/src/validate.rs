//! The validator: whether a finished section is one the harness may run, by the same
//! analysis the generator builds with (see [`crate::absint`]).

use crate::absint::*;
use crate::ast::*;
use crate::state::{ARENA, DATA_END};

/// Whether `section` is one the harness may run: every name bound before use, every
/// access in bounds and aligned for every state, integer writes in the data region, no
/// load in an exit value, and (if it claims to be) idempotent. The shrinker's filter.
pub fn validate(section: &Section) -> Result<(), String> {
    if !section.fields_typed() {
        return Err("a field gets no type from its context".into());
    }
    let mut env = Env::default();
    env.vars
        .push((INDEX.to_string(), Ty::Int(Int::Usize), Abs::Top));
    for input in &section.inputs {
        let abs = match input.source {
            Source::Arena { offset, stride } => Abs::Addr {
                lo: offset as i128,
                hi: (offset + 3 * stride) as i128,
                align: 8,
            },
            _ => Abs::Top,
        };
        if section.idempotent && matches!(input.source, Source::Arena { stride, .. } if stride > 0)
        {
            return Err("an idempotent section's addresses do not depend on the index".into());
        }
        env.vars.push((input.name.clone(), input.ty.clone(), abs));
    }
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    let bad = |what: &str| Err(format!("{what} may be out of bounds or misaligned"));
    for stmt in &section.stmts {
        match stmt {
            Stmt::Let { name, value } => {
                let Some(abs) = env.abs(value, &mut reads) else {
                    return bad("a let");
                };
                env.vars.push((name.clone(), value.ty.clone(), abs));
            }
            Stmt::Store { ptr, value } => {
                let (Some(p), Some(v)) = (env.abs(ptr, &mut reads), env.abs(value, &mut reads))
                else {
                    return bad("a store");
                };
                let size = value.ty.size();
                match access(p, size, size, ARENA) {
                    Some(bytes) if write_ok(bytes, &value.ty, v) => writes.push(bytes),
                    _ => return bad("a store"),
                }
            }
            Stmt::Copy { dst, src, len } => {
                let (Some(d), Some(s)) = (env.abs(dst, &mut reads), env.abs(src, &mut reads))
                else {
                    return bad("a copy");
                };
                let (Some(d), Some(s)) = (access(d, *len, 1, DATA_END), access(s, *len, 1, ARENA))
                else {
                    return bad("a copy");
                };
                if overlaps(d, s) {
                    return Err("a copy's source and destination may overlap".into());
                }
                reads.push(s);
                writes.push(d);
            }
            Stmt::CopyUpTo { dst, src, len, max } => {
                // What the checker refuses: a literal length, a signed one, and an exit
                // without a value beside exits with one.
                if matches!(len.kind, Kind::Lit { .. }) {
                    return Err("a run-time copy's length is a literal".into());
                }
                if len.ty.int().is_none_or(Int::signed) {
                    return Err("a run-time copy's length is not unsigned".into());
                }
                if section.exit_ty().is_some() && !guarded(&section.stmts, stmt, len, *max) {
                    return Err(
                        "a run-time copy exits without a value beside exits with one".into(),
                    );
                }
                let (Some(d), Some(s), Some(_)) = (
                    env.abs(dst, &mut reads),
                    env.abs(src, &mut reads),
                    env.abs(len, &mut reads),
                ) else {
                    return bad("a copy");
                };
                // Up to `max` bytes: what a length at the bound moves.
                let (Some(d), Some(s)) = (access(d, *max, 1, DATA_END), access(s, *max, 1, ARENA))
                else {
                    return bad("a copy");
                };
                if overlaps(d, s) {
                    return Err("a copy's source and destination may overlap".into());
                }
                reads.push(s);
                writes.push(d);
            }
            Stmt::ExitIf { cond, value } => {
                if env.cond_reads(cond, &mut reads).is_none() {
                    return bad("a condition");
                }
                if let Some(v) = value {
                    if v.loads() {
                        return Err("an exit value loads".into());
                    }
                    if env.abs(v, &mut reads).is_none() {
                        return bad("an exit value");
                    }
                }
            }
        }
    }
    let c = &section.commit;
    let (Some(p), Some(_)) = (env.abs(&c.ptr, &mut reads), env.abs(&c.value, &mut reads)) else {
        return bad("the commit");
    };
    let size = c.value.ty.size();
    if access(p, size, size, DATA_END).is_none() {
        return bad("the commit");
    }
    if let Some(name) = &section.yielded {
        if env.get(name).is_none() {
            return Err(format!("yields unbound `{name}`"));
        }
    }
    if section.idempotent {
        if reads
            .iter()
            .any(|r| writes.iter().any(|w| overlaps(*r, *w)))
        {
            return Err("a read may see a speculative write".into());
        }
        if uses_index(section) {
            return Err("an idempotent section does not use the index".into());
        }
    }
    Ok(())
}

/// Whether an exit before `copy` already leaves when `len`, a name, is above `max`: an
/// `if len > M { exit ...; }` with `M <= max`, the one form the generator writes (the
/// checker knows a few more).
fn guarded(stmts: &[Stmt], copy: &Stmt, len: &Expr, max: u64) -> bool {
    let Kind::Var(name) = &len.kind else {
        return false;
    };
    stmts
        .iter()
        .take_while(|stmt| !std::ptr::eq(*stmt, copy))
        .any(|stmt| match stmt {
            Stmt::ExitIf {
                cond: Cond::Cmp(CmpOp::Gt, lhs, rhs),
                ..
            } => {
                matches!(&lhs.kind, Kind::Var(n) if n == name)
                    && matches!(rhs.kind, Kind::Lit { value, .. } if value <= i128::from(max))
            }
            _ => false,
        })
}

fn uses_index(section: &Section) -> bool {
    fn expr(e: &Expr) -> bool {
        match &e.kind {
            Kind::Var(n) => n == INDEX,
            Kind::Lit { .. } => false,
            Kind::Offset { ptr, count, .. } => expr(ptr) || expr(count),
            Kind::Load(e) | Kind::LoadAcquire(e) | Kind::Cast(e) | Kind::Not(e) | Kind::Neg(e) => {
                expr(e)
            }
            Kind::Shift { value, .. } => expr(value),
            Kind::ShiftBy { value, count, .. } => expr(value) || expr(count),
            Kind::Bin(_, l, r) => expr(l) || expr(r),
            Kind::Field { base, index, .. } => expr(base) || index.as_deref().is_some_and(expr),
        }
    }
    fn cond(c: &Cond) -> bool {
        match c {
            Cond::Cmp(_, l, r) => expr(l) || expr(r),
            Cond::IsNull(p) => expr(p),
            Cond::Not(inner) => cond(inner),
        }
    }
    section.stmts.iter().any(|s| match s {
        Stmt::Let { value, .. } => expr(value),
        Stmt::Store { ptr, value } => expr(ptr) || expr(value),
        Stmt::Copy { dst, src, .. } => expr(dst) || expr(src),
        Stmt::CopyUpTo { dst, src, len, .. } => expr(dst) || expr(src) || expr(len),
        Stmt::ExitIf { cond: c, value } => cond(c) || value.as_ref().is_some_and(expr),
    }) || expr(&section.commit.ptr)
        || expr(&section.commit.value)
        || section.yielded.as_deref() == Some(INDEX)
}
