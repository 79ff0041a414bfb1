//! The shrinker: every section one step smaller than a failing one that the analysis still
//! accepts. The harness compiles and runs the candidates and keeps the first that still
//! fails, until none does.

use crate::ast::*;
use crate::validate::validate;

/// Candidates one step simpler than `s`, valid ones only, smallest changes last.
pub fn candidates(s: &Section) -> Vec<Section> {
    let mut out = Vec::new();
    // Whole statements first: the biggest steps.
    for i in 0..s.stmts.len() {
        let mut c = s.clone();
        c.stmts.remove(i);
        out.push(c);
    }
    for i in 0..s.inputs.len() {
        let mut c = s.clone();
        c.inputs.remove(i);
        out.push(c);
    }
    if s.yielded.is_some() {
        let mut c = s.clone();
        c.yielded = None;
        out.push(c);
    }
    if s.stmts
        .iter()
        .any(|st| matches!(st, Stmt::ExitIf { value: Some(_), .. }))
    {
        let mut c = s.clone();
        for st in &mut c.stmts {
            if let Stmt::ExitIf { value, .. } = st {
                *value = None;
            }
        }
        out.push(c);
    }
    for flag in 0..5 {
        let mut c = s.clone();
        let changed = match flag {
            0 => std::mem::take(&mut c.mm_cid),
            1 => std::mem::take(&mut c.no_retry),
            2 => std::mem::take(&mut c.commit.release),
            3 => std::mem::take(&mut c.commit.add),
            _ => std::mem::take(&mut c.commit.relaxed_spelled),
        };
        if changed {
            out.push(c);
        }
    }
    // Expressions: each replaced by a simpler one of its type.
    let mut all = Vec::new();
    visit_exprs(&mut s.clone(), &mut |e| all.push(e.clone()));
    for (k, e) in all.iter().enumerate() {
        for r in simpler(e) {
            let mut c = s.clone();
            let mut at = 0;
            visit_exprs(&mut c, &mut |x| {
                if at == k {
                    *x = r.clone();
                }
                at += 1;
            });
            out.push(c);
        }
    }
    // Some steps change nothing visible (a suffix the context needs anyway): drop those
    // and duplicates, so each candidate costs its compile for a reason.
    let mut seen = vec![s.print()];
    out.retain(|c| {
        let text = c.print();
        let new = !seen.contains(&text);
        seen.push(text);
        new && validate(c).is_ok()
    });
    out
}

/// Expressions one step simpler than `e`, of the same type.
fn simpler(e: &Expr) -> Vec<Expr> {
    let mut out = Vec::new();
    let same = |x: &Expr| x.ty == e.ty;
    match &e.kind {
        Kind::Var(_) => {}
        Kind::Lit { value, suffix } => {
            if *value != 0 {
                out.push(Expr::lit(0, e.ty.scalar()));
                if *value != 1 {
                    out.push(Expr::lit(1, e.ty.scalar()));
                }
            }
            if *suffix {
                out.push(Expr::lit(*value, e.ty.scalar()));
            }
        }
        Kind::Offset { ptr, count, .. } => {
            out.push((**ptr).clone());
            if !matches!(count.kind, Kind::Lit { value: 0, .. }) {
                let mut z = e.clone();
                if let Kind::Offset { count, .. } = &mut z.kind {
                    **count = Expr::lit(0, Int::Usize);
                }
                out.push(z);
            }
        }
        Kind::Cast(inner) => {
            if same(inner) {
                out.push((**inner).clone());
            }
        }
        Kind::Bin(_, l, r) => {
            out.push((**l).clone());
            out.push((**r).clone());
        }
        Kind::ShiftBy { value, .. } => out.push((**value).clone()),
        Kind::Shift { value, .. } | Kind::Not(value) | Kind::Neg(value) => {
            out.push((**value).clone())
        }
        // An acquire load shrinks to a plain one: the rest of the section is unchanged.
        Kind::LoadAcquire(ptr) => out.push(Expr {
            kind: Kind::Load(ptr.clone()),
            ty: e.ty.clone(),
        }),
        Kind::Load(_) => {}
        Kind::Field { index, .. } => {
            if index
                .as_ref()
                .is_some_and(|i| !matches!(i.kind, Kind::Lit { value: 0, .. }))
            {
                let mut z = e.clone();
                if let Kind::Field { index: Some(i), .. } = &mut z.kind {
                    **i = Expr::lit(0, Int::Usize);
                }
                out.push(z);
            }
        }
    }
    if let (Ty::Int(int), false) = (&e.ty, matches!(e.kind, Kind::Lit { .. })) {
        out.push(Expr::lit(0, *int));
    }
    out.retain(same);
    out
}

/// Calls `f` on every expression of the section, outer before inner, in a fixed order.
pub(crate) fn visit_exprs(s: &mut Section, f: &mut dyn FnMut(&mut Expr)) {
    for st in &mut s.stmts {
        match st {
            Stmt::Let { value, .. } => visit(value, f),
            Stmt::Store { ptr, value } => {
                visit(ptr, f);
                visit(value, f);
            }
            Stmt::Copy { dst, src, .. } => {
                visit(dst, f);
                visit(src, f);
            }
            Stmt::CopyUpTo { dst, src, len, .. } => {
                visit(dst, f);
                visit(src, f);
                visit(len, f);
            }
            Stmt::ExitIf { cond, value } => {
                visit_cond(cond, f);
                if let Some(v) = value {
                    visit(v, f);
                }
            }
        }
    }
    visit(&mut s.commit.ptr, f);
    visit(&mut s.commit.value, f);
}

fn visit_cond(c: &mut Cond, f: &mut dyn FnMut(&mut Expr)) {
    match c {
        Cond::Cmp(_, l, r) => {
            visit(l, f);
            visit(r, f);
        }
        Cond::IsNull(p) => visit(p, f),
        Cond::Not(inner) => visit_cond(inner, f),
    }
}

fn visit(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    f(e);
    match &mut e.kind {
        Kind::Var(_) | Kind::Lit { .. } => {}
        Kind::Offset { ptr, count, .. } => {
            visit(ptr, f);
            visit(count, f);
        }
        Kind::Load(x) | Kind::LoadAcquire(x) | Kind::Cast(x) | Kind::Not(x) | Kind::Neg(x) => {
            visit(x, f)
        }
        Kind::Shift { value, .. } => visit(value, f),
        Kind::ShiftBy { value, count, .. } => {
            visit(value, f);
            visit(count, f);
        }
        Kind::Bin(_, l, r) => {
            visit(l, f);
            visit(r, f);
        }
        Kind::Field { base, index, .. } => {
            visit(base, f);
            if let Some(i) = index {
                visit(i, f);
            }
        }
    }
}
