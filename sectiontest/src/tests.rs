//! Checks of the parts that need no compiler: the generator's sections pass its own
//! validation and run in the interpreter on every state without leaving the arena, the
//! interpreter follows Rust's semantics on known cases, the shrinker only shrinks.

use crate::ast::*;
use crate::fields::{self, Layout};
use crate::gen::{generate, Config};
use crate::interp::{self, Status};
use crate::rng::derive;
use crate::state::StateSpec;
use crate::validate::validate;

const BASE: u64 = 0x7f00_1234_5000;

/// A layout as the test binary would print it: `Hdr` by C's rules, and `HdrR` with every
/// field as far into the struct as [`fields::BOUND`] allows (where a bound that is too
/// loose would show).
fn layout() -> Layout {
    let c = [
        ("a", 0),
        ("b", 2),
        ("c", 4),
        ("d", 8),
        ("e", 16),
        ("f", 18),
        ("g", 20),
        ("h", 24),
        ("u", 32),
        ("s", 40),
        ("inner.x", 48),
        ("inner.y", 52),
        ("inner.z", 56),
        ("arr", 64),
        ("words", 80),
        ("p", 96),
    ];
    let mut layout = Layout::default();
    for (path, offset) in c {
        layout.parse(&format!("LAYOUT Hdr {path} {offset}"));
        let def = fields::FIELDS.iter().find(|f| f.path == path).unwrap();
        let bytes = def.ty.ty().size() * def.len.unwrap_or(1);
        layout.parse(&format!("LAYOUT HdrR {path} {}", fields::BOUND - bytes));
    }
    layout
}

#[test]
fn generated_sections_are_valid_and_stay_in_the_arena() {
    for idempotent in [false, true] {
        for i in 0..2000 {
            let section = generate(derive(0xC0FFEE, i), Config { idempotent });
            validate(&section).unwrap_or_else(|e| panic!("{e}:\n{}", section.print()));
            for k in 0..4 {
                let spec = StateSpec::generate(derive(i, k));
                let mut mem = spec.realize(BASE);
                interp::run(&section, BASE, &mut mem, &layout(), &spec.ints, k)
                    .unwrap_or_else(|e| panic!("{e}:\n{}", section.print()));
            }
        }
    }
}

#[test]
fn run_time_copy_lengths_reach_zero_the_bound_and_past_it() {
    interp::COPY_LENGTHS.with(|seen| seen.borrow_mut().clear());
    for i in 0..1000 {
        let section = generate(derive(0xC0B1, i), Config { idempotent: false });
        for k in 0..8 {
            let spec = StateSpec::generate(derive(i, k));
            let mut mem = spec.realize(BASE);
            let _ = interp::run(&section, BASE, &mut mem, &layout(), &spec.ints, k);
        }
    }
    let seen = interp::COPY_LENGTHS.with(|seen| seen.take());
    // Some copies sit in sections whose exits carry a value, behind a guard of their own.
    let guarded = (0..1000)
        .map(|i| generate(derive(0xC0B1, i), Config { idempotent: false }))
        .filter(|s| {
            s.exit_ty().is_some() && s.stmts.iter().any(|st| matches!(st, Stmt::CopyUpTo { .. }))
        })
        .count();
    assert!(guarded >= 10, "{guarded} guarded copies");
    let count = |f: &dyn Fn(u64, u64) -> bool| seen.iter().filter(|(n, max)| f(*n, *max)).count();
    let (zero, at, between, past) = (
        count(&|n, _| n == 0),
        count(&|n, max| n == max),
        count(&|n, max| 0 < n && n < max),
        count(&|n, max| n > max),
    );
    // Each kind of length is a good share of the runs, not a fluke.
    for (what, runs) in [
        ("0", zero),
        ("max", at),
        ("between", between),
        ("past", past),
    ] {
        assert!(runs * 50 > seen.len(), "{what}: {runs} of {}", seen.len());
    }
}

#[test]
fn every_statement_kind_and_option_is_generated() {
    let sections: Vec<Section> = (0..500)
        .map(|i| generate(derive(7, i), Config { idempotent: false }))
        .collect();
    let text: String = sections.iter().map(Section::print).collect();
    for needle in [
        "let ",
        "store *",
        "copy(",
        ", max ",
        "exit;",
        "exit ",
        "commit *",
        "commit(release)",
        "commit(relaxed)",
        "+=",
        "mm_cid",
        "no_retry",
        ".add(",
        ".sub(",
        ".byte_add(",
        ".is_null()",
        " >> ",
        " << ",
        "*mut Rec",
        "*const",
        "(*",
        " as ",
        "(!",
        "(-",
        "*mut Hdr",
        "*mut HdrR",
        "(*i",
        ".inner.",
        ".arr[",
        ".words[",
        "&raw mut",
        "&raw const",
        "store (*",
        "commit (*",
        ".load_acquire()",
    ] {
        assert!(
            text.contains(needle),
            "no generated section contains `{needle}`"
        );
    }
    assert!(
        sections.iter().any(|s| s.inputs.len() >= 12),
        "near the register budget"
    );
}

#[test]
fn every_integer_and_a_pointer_are_loaded_with_acquire() {
    let mut acquired: Vec<Ty> = Vec::new();
    for i in 0..2000 {
        let mut section = generate(derive(11, i), Config { idempotent: false });
        crate::shrink::visit_exprs(&mut section, &mut |e| {
            if matches!(e.kind, Kind::LoadAcquire(_)) && !acquired.contains(&e.ty) {
                acquired.push(e.ty.clone());
            }
        });
    }
    for int in INTS {
        assert!(
            acquired.contains(&Ty::Int(int)),
            "no `{}` is loaded with `load_acquire`",
            int.name()
        );
    }
    assert!(
        acquired.iter().any(Ty::is_ptr),
        "no pointer is loaded with `load_acquire`"
    );
}

fn var(name: &str, int: Int) -> Expr {
    Expr::var(name, Ty::Int(int))
}

fn section(
    inputs: Vec<Input>,
    stmts: Vec<Stmt>,
    commit_value: Expr,
    yielded: Option<&str>,
) -> Section {
    let slot = Ty::ptr(true, commit_value.ty.clone());
    let mut inputs = inputs;
    inputs.push(Input {
        name: "out".into(),
        ty: slot.clone(),
        source: Source::Arena {
            offset: 0,
            stride: 0,
        },
    });
    Section {
        mm_cid: false,
        no_retry: false,
        inputs,
        stmts,
        commit: Commit {
            ptr: Expr::var("out", slot),
            value: commit_value,
            add: false,
            release: false,
            relaxed_spelled: false,
        },
        yielded: yielded.map(String::from),
        idempotent: false,
    }
}

#[test]
fn interpreter_follows_rust() {
    // i8 input from 0xf0 (-16): `>> 2` is arithmetic, `as u16` sign-extends.
    let x = Input {
        name: "x".into(),
        ty: Ty::Int(Int::I8),
        source: Source::Int(0),
    };
    let shifted = Expr {
        kind: Kind::Shift {
            value: Box::new(var("x", Int::I8)),
            left: false,
            amount: 2,
        },
        ty: Ty::Int(Int::I8),
    };
    let widened = Expr {
        kind: Kind::Cast(Box::new(shifted)),
        ty: Ty::Int(Int::U16),
    };
    let s = section(vec![x], vec![], widened, Some("x"));
    let mut mem = vec![0xAA; 640];
    let out = interp::run(&s, BASE, &mut mem, &layout(), &[0xf0], 0).unwrap();
    assert_eq!(out.status, Status::Committed);
    assert_eq!(out.value, 0xf0, "the yielded i8, canonical");
    assert_eq!((-16i8 >> 2) as u16, 0xfffc);
    assert_eq!(
        &mem[..3],
        &[0xfc, 0xff, 0xaa],
        "a 2-byte store, little-endian"
    );
}

#[test]
fn printer_leaves_literals_bare_where_the_context_types_them() {
    let one = Expr::lit(1, Int::U8);
    let sum = Expr {
        kind: Kind::Bin(
            BinOp::Add,
            Box::new(one.clone()),
            Box::new(var("x", Int::U8)),
        ),
        ty: Ty::Int(Int::U8),
    };
    assert_eq!(sum.print(None), "(1 + x)");
    let cast = Expr {
        kind: Kind::Cast(Box::new(one)),
        ty: Ty::Int(Int::U64),
    };
    assert_eq!(
        cast.print(None),
        "(1u8 as u64)",
        "a cast gives its operand no type"
    );
    assert_eq!(
        Expr::lit(-5, Int::I8).print(Some(&Ty::Int(Int::I8))),
        "(-5)"
    );
}

#[test]
fn shrink_candidates_are_valid_and_different() {
    for i in 0..200 {
        let s = generate(
            derive(3, i),
            Config {
                idempotent: i % 2 == 0,
            },
        );
        for c in crate::shrink::candidates(&s) {
            assert!(validate(&c).is_ok());
            assert_ne!(c.print(), s.print(), "a candidate that changes nothing");
        }
    }
}

#[test]
fn a_shift_by_a_value_wraps_at_the_width() {
    // u8 0x81 << (i8 -1): the count's low 3 bits, 7, as `0x81u8.wrapping_shl(-1i8 as u32)`.
    let inputs = vec![
        Input {
            name: "x".into(),
            ty: Ty::Int(Int::U8),
            source: Source::Int(0),
        },
        Input {
            name: "n".into(),
            ty: Ty::Int(Int::I8),
            source: Source::Int(1),
        },
    ];
    let shifted = Expr {
        kind: Kind::ShiftBy {
            value: Box::new(var("x", Int::U8)),
            left: true,
            count: Box::new(var("n", Int::I8)),
        },
        ty: Ty::Int(Int::U8),
    };
    let s = section(inputs, vec![], shifted, None);
    let text = s.print();
    assert!(text.contains("commit *out = (x << n);"), "{text}");
    let mut mem = vec![0; 640];
    interp::run(&s, BASE, &mut mem, &layout(), &[0x81, 0xff], 0).unwrap();
    assert_eq!(mem[0], 0x81u8.wrapping_shl(-1i8 as u32));
    assert_eq!(mem[0], 0x80);
}
