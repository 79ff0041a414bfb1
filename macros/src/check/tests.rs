//! The checker's unit tests: one section per rule, and the messages it reports.

use super::*;
use crate::parse::parse_section;
use proc_macro2::TokenStream;
use quote::quote;

/// Every message the checker reports for `tokens`, in order; none for a valid section.
fn errors(tokens: TokenStream) -> Vec<String> {
    let section = parse_section(tokens).expect("the test sections parse");
    match check(section) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

/// Asserts exactly one error, containing every one of `needles`.
fn one_error(tokens: TokenStream, needles: &[&str]) {
    let errors = errors(tokens);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "{needle:?} not in {:?}",
            errors[0]
        );
    }
}

#[test]
fn the_examples_check() {
    for (name, tokens) in crate::golden::examples() {
        assert_eq!(errors(tokens), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn exit_value_cannot_load() {
    one_error(
        quote!(|cpu| {
            in top: *mut *mut u64 = q;
            let p: *mut u64 = *top;
            if p.is_null() { exit *p; }
            commit *top = p;
        }),
        &["cannot load from memory", "before the condition is tested"],
    );
    // A name loaded above the `if` is the explicit form, and is accepted.
    assert!(errors(quote!(|cpu| {
        in top: *mut u64 = q;
        let v: u64 = *top;
        if v > 9 { exit v; }
        commit *top = v + 1;
    }))
    .is_empty());
}

#[test]
fn missing_commit() {
    one_error(
        quote!(|cpu| { in p: *mut u64 = q; let v: u64 = *p; }),
        &["without a `commit`", "commit *pointer = value;"],
    );
}

#[test]
fn two_commits() {
    one_error(
        quote!(|cpu| { in p: *mut u64 = q; commit *p = 1; commit *p = 2; }),
        &["exactly one `commit`", "`store`"],
    );
}

#[test]
fn undeclared_local_suggests_the_in_line() {
    one_error(
        quote!(|cpu| { in p: *mut u64 = q; commit *p = step; }),
        &["`step` is not declared", "in step: u64 = step;"],
    );
}

#[test]
fn let_without_type_names_the_type_and_does_not_cascade() {
    one_error(
        quote!(|cpu| { in p: *mut u32 = q; let v = *p; commit *p = v + 1; }),
        &["explicit type", "let v: u32 = ...;"],
    );
}

#[test]
fn a_rejected_type_does_not_cascade() {
    one_error(
        quote!(|cpu| { in p: *mut u64 = q; in f: f64 = 1.5; commit *p = f; }),
        &["floating-point", "integer type"],
    );
}

#[test]
fn mixed_widths() {
    one_error(
        quote!(|cpu| { in p: *mut u64 = q; in a: u32 = 1; commit *p = a + 1u64; }),
        &["mismatched widths", "`u32` + `u64`", "`as`"],
    );
}

#[test]
fn use_before_declaration() {
    let errors = errors(quote!(|cpu| {
        in p: *mut u64 = q;
        let a: u64 = b;
        let b: u64 = 1;
        commit *p = a;
    }));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("`b` is used before it is declared"),
        "{errors:#?}"
    );
}

#[test]
fn write_after_commit_and_through_a_non_pointer() {
    let errors = errors(quote!(|cpu| {
        in p: *mut u64 = q;
        in n: u64 = 1;
        commit *p = 1;
        store *n = 2;
    }));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("`store` after the `commit`"),
        "{errors:#?}"
    );
    assert!(errors[1].contains("`n` is a `u64`"), "{errors:#?}");
}

#[test]
fn every_broken_rule_is_reported_at_once() {
    let errors = errors(quote!(mmcid, |cpu| {
        let v = 1u64;
        in p: *mut u64 = q;
        loop {}
        exit;
        store *p = compute(v);
    }));
    let expected = [
        "unknown option `mmcid`",
        "explicit type",
        "`in` inputs come first",
        "loops are not allowed",
        "`exit` must be the body of an `if`",
        "function calls are not allowed",
        "without a `commit`",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, needle) in errors.iter().zip(expected) {
        assert!(error.contains(needle), "{needle:?} not in {error:?}");
    }
}

#[test]
fn literals_wider_than_64_bits() {
    one_error(
        quote!(|cpu| { in p: *mut i64 = q; commit *p = 340282366920938463463374607431768211455; }),
        &["does not fit in 64 bits"],
    );
}

#[test]
fn wrapping_methods_point_to_the_operator() {
    one_error(
        quote!(|cpu| { in p: *mut u64 = q; let v: u64 = *p; commit *p = v.wrapping_add(1); }),
        &[
            "`wrapping_add` cannot be called",
            "already wraps",
            "`a + b`",
        ],
    );
}

#[test]
fn copy_length_rules() {
    one_error(
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; copy(p, p, n); commit *p = 1; }),
        &["integer literal", "copy(dst, src, 16);", "max 256"],
    );
    one_error(
        quote!(|cpu| { in p: *mut u8 = q; copy(p, p, 257); commit *p = 1; }),
        &["257 bytes", "1 to 256"],
    );
}

#[test]
fn copy_bound_rules() {
    one_error(
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; in m: usize = 8; copy(p, p, n, max m); commit *p = 1; }),
        &["after `max` must be an integer literal", "max 256"],
    );
    for bound in [quote!(0), quote!(257), quote!(99999999999)] {
        let errors = errors(
            quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; copy(p, p, n, max #bound); commit *p = 1; }),
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("is 1 to 256 bytes"), "{errors:#?}");
    }
    one_error(
        quote!(|cpu| { in p: *mut u8 = q; copy(p, p, 16, max 256); commit *p = 1; }),
        &["needs no bound", "copy(dst, src, 16);"],
    );
    one_error(
        quote!(|cpu| { in p: *mut u8 = q; in n: i32 = 4; copy(p, p, n, max 8); commit *p = 1; }),
        &["unsigned integer", "`i32`", "n as usize"],
    );
    one_error(
        quote!(|cpu| { in p: *mut u8 = q; copy(p, p, p, max 8); commit *p = 1; }),
        &["unsigned integer", "`*mut u8`"],
    );
    one_error(
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; copy(p, n, max 8); commit *p = 1; }),
        &["three arguments and the bound"],
    );
    one_error(
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; copy(p, p, n, max); commit *p = 1; }),
        &["`max` needs the bound after it", "max 256"],
    );
    // A bad bound and a bad length are both reported, in one pass.
    assert_eq!(
        errors(
            quote!(|cpu| { in p: *mut u8 = q; in n: i8 = 4; copy(p, p, n, max 0); commit *p = 1; })
        )
        .len(),
        2
    );
}

#[test]
fn copy_up_to_exits_without_a_value() {
    // The copy's own exit carries nothing: in a section whose exits carry a value, the
    // error says how to rule the long length out first, before or after the other exit.
    for tokens in [
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; if n == 3 { exit 7u8; } copy(p, p, n, max 8); commit *p = 1; }),
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; copy(p, p, n, max 8); if n == 3 { exit 7u8; } commit *p = 1; }),
    ] {
        one_error(
            tokens,
            &[
                "exits without a value",
                "`u8`",
                "`if n > 8 { exit value; }`",
            ],
        );
    }
}

/// Whether the section's one `copy(.., max N)` checks its own length.
fn copy_exits(tokens: TokenStream) -> bool {
    let checked = check(parse_section(tokens).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    let guarded = checked.ops.iter().find_map(|op| match op {
        Op::CopyUpTo { guarded, .. } => Some(*guarded),
        _ => None,
    });
    !guarded.expect("a copy with a bound")
}

#[test]
fn a_guard_on_the_length_replaces_the_copy_exit() {
    assert!(!copy_exits(
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; if n > 8 { exit 1u8; } copy(p, p, n, max 8); commit *p = 1; })
    ));
    // A tighter guard, `>=`, the literal on the left, a negated condition: all rule it out.
    for cond in [
        quote!(n > 4),
        quote!(n >= 9),
        quote!(8 < n),
        quote!(9 <= n),
        quote!(!(n <= 8)),
    ] {
        assert!(
            !copy_exits(
                quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; if #cond { exit; } copy(p, p, n, max 8); commit *p = 1; })
            ),
            "{cond}"
        );
    }
    // Not a guard: a looser bound, another relation, another name, a guard after the copy,
    // an expression rather than a name.
    for section in [
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; if n > 9 { exit; } copy(p, p, n, max 8); commit *p = 1; }),
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; if n >= 10 { exit; } copy(p, p, n, max 8); commit *p = 1; }),
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; if n == 9 { exit; } copy(p, p, n, max 8); commit *p = 1; }),
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; in m: usize = 4; if m > 8 { exit; } copy(p, p, n, max 8); commit *p = 1; }),
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; copy(p, p, n, max 8); if n > 8 { exit; } commit *p = 1; }),
        quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; if n > 8 { exit; } copy(p, p, n & 15, max 8); commit *p = 1; }),
    ] {
        assert!(copy_exits(section.clone()), "{section}");
    }
}

#[test]
fn fields_take_their_type_from_the_context() {
    // A `let`'s type, the other operand, the stored value: each gives a field its type.
    assert_eq!(
        errors(quote!(|cpu| {
            in slab: *mut Slab = q;
            in limit: u16 = 8;
            let cur: u16 = (*slab).hdr.current;
            if (*slab).hdr.end == limit { exit; }
            if (*slab).hdr.end != 1u16 { exit; }
            store (*slab).slots[cur as usize] = 7u64;
            commit (*slab).hdr.current = cur + 1;
        })),
        Vec::<String>::new()
    );
    // Without one, the field's type is unknown: a cast gives none (it converts).
    one_error(
        quote!(|cpu| { in slab: *mut Slab = q; let v: u64 = (*slab).a as u64; commit (*slab).b = v; }),
        &[
            "the type of `(*slab).a` is not known here",
            "let a: u16 = (*slab).a;",
        ],
    );
    one_error(
        quote!(|cpu| { in slab: *mut Slab = q; commit (*slab).count += 1; }),
        &["the type of `(*slab).count` is not known here", "`1u16`"],
    );
}

#[test]
fn field_places_and_their_pointers() {
    one_error(
        quote!(|cpu| { in slab: *const Slab = q; in v: u64 = 1; commit (*slab).a = v; }),
        &["const pointer", "`*mut`"],
    );
    one_error(
        quote!(|cpu| { in slab: *mut Slab = q; let v: u64 = (*slab).a[1][2]; commit (*slab).a = v; }),
        &["only the last step of a place may index"],
    );
    one_error(
        quote!(|cpu| { in slab: *mut Slab = q; let v: u64 = (*slab).a[1].b; commit (*slab).a = v; }),
        &["only the last step of a place may index"],
    );
    one_error(
        quote!(|cpu| { in slab: *mut Slab = q; let p: *mut u64 = &raw mut *slab; commit *p = 1; }),
        &["takes the address of a field"],
    );
    one_error(
        quote!(|cpu| { in slab: *mut Slab = q; let p: u64 = &raw mut (*slab).a; commit (*slab).a = p; }),
        &["`&raw mut` makes a pointer, but a `u64` is expected"],
    );
    one_error(
        quote!(|cpu| { in slab: *mut Slab = q; in i: u32 = 1; let v: u64 = (*slab).a[i]; commit (*slab).a = v; }),
        &["an array index has type `u32` but `usize` is expected"],
    );
}

#[test]
fn each_field_use_is_recorded_for_rustc() {
    let section = parse_section(quote!(|cpu| {
        in slab: *mut Slab = q;
        let cur: u16 = (*slab).hdr.current;
        let top: *mut u64 = &raw mut (*slab).slots[cur as usize];
        commit (*slab).hdr.current = cur + 1;
    }))
    .unwrap();
    let checked = check(section).unwrap_or_else(|e| panic!("{e}"));
    let uses: Vec<(String, bool, String)> = checked
        .fields
        .iter()
        .map(|f| (f.text.clone(), f.element, f.ty.to_string()))
        .collect();
    assert_eq!(
        uses,
        [
            ("(*slab).hdr.current".to_string(), false, "u16".to_string()),
            (
                "(*slab).slots[curasusize]".to_string(),
                true,
                "u64".to_string()
            ),
            ("(*slab).hdr.current".to_string(), false, "u16".to_string()),
        ]
    );
}

#[test]
fn a_field_address_takes_the_other_sides_type() {
    assert_eq!(
        errors(quote!(|cpu| {
            in slab: *mut Slab = q;
            in other: *const u16 = r;
            if &raw const (*slab).current == other { exit; }
            if other != &raw const (*slab).end { exit; }
            commit (*slab).current = 1u16;
        })),
        Vec::<String>::new()
    );
}
