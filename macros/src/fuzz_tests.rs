//! The macro never panics: thousands of random and mutated token streams go through the
//! whole compiler (parse, check, lower and emit for every backend, with and without the
//! test instrumentation, then the expansion or its fallback), and each must come out as a
//! section or as an error, never as a panic.
//!
//! Four families of inputs, each `RSEQ_FUZZ_CASES` (default 2000) per seed:
//! - the golden examples with tokens deleted, duplicated, swapped, replaced, inserted,
//!   spliced from another example, wrapped in or unwrapped from groups, at any depth;
//! - streams of random tokens with nested groups, half of them inside `|index| { ... }`;
//! - sections written by a small type-directed generator, so that most reach lowering and
//!   the backends with unusual shapes (extreme literals, casts, address chains, many values);
//! - address chains whose displacements land on and next to every limit.
//!
//! A small seeded PRNG keeps every run the same, so a failure names the seed, the case and
//! the input that reproduce it.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

use crate::arch::BACKENDS;
use crate::expand::compile_section;
use crate::golden::examples;
use crate::lower::Instrumentation;

/// splitmix64: tiny, deterministic, and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }
}

/// A token tree whose groups can be edited in place.
#[derive(Clone)]
enum Tok {
    Leaf(TokenTree),
    Group(Delimiter, Vec<Tok>),
}

fn to_toks(stream: TokenStream) -> Vec<Tok> {
    stream
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => Tok::Group(group.delimiter(), to_toks(group.stream())),
            leaf => Tok::Leaf(leaf),
        })
        .collect()
}

fn to_stream(toks: &[Tok]) -> TokenStream {
    toks.iter()
        .map(|tok| match tok {
            Tok::Leaf(tree) => tree.clone(),
            Tok::Group(delimiter, inner) => {
                TokenTree::Group(Group::new(*delimiter, to_stream(inner)))
            }
        })
        .collect()
}

/// Words of the section language, of Rust around it, and a few that are neither.
const IDENTS: &[&str] = &[
    "in",
    "let",
    "commit",
    "store",
    "copy",
    "max",
    "exit",
    "if",
    "else",
    "mm_cid",
    "no_retry",
    "cpu",
    "cid",
    "slot",
    "v",
    "top",
    "head",
    "node",
    "len",
    "u8",
    "u16",
    "u32",
    "u64",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "isize",
    "f32",
    "f64",
    "bool",
    "mut",
    "const",
    "as",
    "add",
    "sub",
    "byte_add",
    "load_acquire",
    "is_null",
    "release",
    "relaxed",
    "loop",
    "while",
    "for",
    "return",
    "break",
    "continue",
    "unsafe",
    "async",
    "await",
    "move",
    "fn",
    "match",
    "struct",
    "impl",
    "Node",
    "self",
    "Self",
    "crate",
    "super",
    "true",
    "false",
    "_",
    "dyn",
    "static",
    "ref",
    "box",
    "where",
    "type",
    "use",
    "mod",
    "yield",
    "try",
    "Vec",
    "String",
    "Option",
    "r",
];

const PUNCTS: &[char] = &[
    '=', '<', '>', '!', '~', '+', '-', '*', '/', '%', '^', '&', '|', '@', '.', ',', ';', ':', '#',
    '$', '?',
];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "16",
    "256",
    "257",
    "1024",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211455",
    "0xff",
    "0b1010",
    "0o17",
    "1_000",
    "1u8",
    "255u8",
    "256u8",
    "1i8",
    "-1",
    "-128i8",
    "1usize",
    "1u128",
    "1i128",
    "1foo",
    "1.5",
    "2.0f32",
    "1e10",
    "\"text\"",
    "'c'",
    "b'c'",
    "b\"bytes\"",
    "0u64",
];

fn random_ident(rng: &mut Rng) -> Ident {
    if rng.chance(85) {
        return Ident::new(rng.word(IDENTS), Span::call_site());
    }
    let len = 1 + rng.below(6);
    let mut name = String::new();
    for i in 0..len {
        let alphabet: &[u8] = if i == 0 { b"abcxyz_" } else { b"abcxyz_019" };
        name.push(*rng.pick(alphabet) as char);
    }
    if name == "_" || rng.chance(10) {
        name.push('q');
        return Ident::new_raw(&name, Span::call_site());
    }
    Ident::new(&name, Span::call_site())
}

fn random_literal(rng: &mut Rng) -> Literal {
    match rng.below(4) {
        0 => Literal::u64_unsuffixed(rng.next() >> rng.below(64)),
        1 => Literal::i64_suffixed(rng.next() as i64 >> rng.below(64)),
        2 => Literal::u128_unsuffixed(u128::from(rng.next()) << rng.below(64)),
        _ => rng
            .pick(LITERALS)
            .parse()
            .expect("the literal table holds valid literals"),
    }
}

fn random_leaf(rng: &mut Rng) -> Vec<Tok> {
    match rng.below(10) {
        0..=4 => vec![Tok::Leaf(random_ident(rng).into())],
        5..=7 => {
            let spacing = if rng.chance(30) {
                Spacing::Joint
            } else {
                Spacing::Alone
            };
            vec![Tok::Leaf(Punct::new(*rng.pick(PUNCTS), spacing).into())]
        }
        8 => vec![Tok::Leaf(random_literal(rng).into())],
        // A lifetime: the only way `'` appears in a compiler-made token stream.
        _ => vec![
            Tok::Leaf(Punct::new('\'', Spacing::Joint).into()),
            Tok::Leaf(random_ident(rng).into()),
        ],
    }
}

fn random_delimiter(rng: &mut Rng) -> Delimiter {
    *rng.pick(&[
        Delimiter::Brace,
        Delimiter::Parenthesis,
        Delimiter::Bracket,
        Delimiter::None,
    ])
}

/// A random token sequence with groups nested up to `depth`.
fn random_toks(rng: &mut Rng, depth: usize, max_len: usize) -> Vec<Tok> {
    let len = rng.below(max_len + 1);
    let mut toks = Vec::new();
    while toks.len() < len {
        if depth > 0 && rng.chance(15) {
            let inner = random_toks(rng, depth - 1, max_len / 2);
            toks.push(Tok::Group(random_delimiter(rng), inner));
        } else {
            toks.extend(random_leaf(rng));
        }
    }
    toks
}

/// The token list of a randomly chosen group at any depth (the top level included).
fn random_list<'a>(rng: &mut Rng, toks: &'a mut Vec<Tok>) -> &'a mut Vec<Tok> {
    let groups = toks
        .iter()
        .enumerate()
        .filter(|(_, tok)| matches!(tok, Tok::Group(..)))
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    if groups.is_empty() || rng.chance(30) {
        return toks;
    }
    let chosen = *rng.pick(&groups);
    match &mut toks[chosen] {
        Tok::Group(_, inner) => random_list(rng, inner),
        Tok::Leaf(_) => unreachable!("only groups were chosen"),
    }
}

/// A token from anywhere in `toks`, groups included.
fn random_subtree(rng: &mut Rng, toks: &[Tok]) -> Option<Tok> {
    let tok = toks.get(rng.below(toks.len().max(1)))?;
    match tok {
        Tok::Group(_, inner) if !inner.is_empty() && rng.chance(60) => random_subtree(rng, inner),
        other => Some(other.clone()),
    }
}

fn mutate(rng: &mut Rng, toks: &mut Vec<Tok>, donors: &[Vec<Tok>]) {
    let donor = rng.pick(donors).clone();
    let list = random_list(rng, toks);
    let n = list.len();
    let at = rng.below(n + 1);
    match rng.below(10) {
        0 if n > 0 => {
            let len = 1 + rng.below(3.min(n));
            let start = rng.below(n - len + 1);
            list.drain(start..start + len);
        }
        1 if n > 0 => {
            let i = rng.below(n);
            let copy = list[i].clone();
            list.insert(i, copy);
        }
        2 if n > 1 => {
            let (i, j) = (rng.below(n), rng.below(n));
            list.swap(i, j);
        }
        3 if n > 0 => {
            let i = rng.below(n);
            let replacement = random_leaf(rng);
            list.splice(i..=i, replacement);
        }
        4 => {
            let new = random_leaf(rng);
            list.splice(at..at, new);
        }
        5 => {
            if let Some(tok) = random_subtree(rng, &donor) {
                list.insert(at, tok);
            }
        }
        6 if n > 0 => {
            let i = rng.below(n);
            if let Tok::Group(_, inner) = list[i].clone() {
                list.splice(i..=i, inner);
            } else {
                let end = i + 1 + rng.below(3.min(n - i));
                let wrapped: Vec<Tok> = list.drain(i..end).collect();
                list.insert(i, Tok::Group(random_delimiter(rng), wrapped));
            }
        }
        7 if n > 0 => {
            let i = rng.below(n);
            if let Tok::Group(delimiter, _) = &mut list[i] {
                *delimiter = random_delimiter(rng);
            } else {
                list.truncate(i);
            }
        }
        8 => {
            let inner = random_toks(rng, 2, 6);
            list.insert(at, Tok::Group(random_delimiter(rng), inner));
        }
        _ => {
            // Statements of the other examples, spliced whole: keeps inputs near-valid.
            if let Some(Tok::Group(_, body)) =
                donor.iter().rev().find(|t| matches!(t, Tok::Group(..)))
            {
                if !body.is_empty() {
                    let start = rng.below(body.len());
                    let len = 1 + rng.below(8.min(body.len() - start));
                    list.splice(at..at, body[start..start + len].iter().cloned());
                }
            }
        }
    }
}

#[derive(Default)]
struct Tally {
    sections: usize,
    errors: usize,
}

thread_local! {
    /// Set while this thread runs an input whose panic `run` catches and reports itself.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Keeps the panic hook from printing the panics that `run` catches (it would print each
/// one before `catch_unwind` sees it); other threads' panics print as usual.
fn install_quiet_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs one input through every stage; a panic becomes a test failure naming the input.
fn run(tokens: TokenStream, tally: &mut Tally, family: &str, seed: u64, case: usize) {
    let text = tokens.to_string();
    QUIET.with(|quiet| quiet.set(true));
    // Odd cases also get the test instrumentation, which adds instructions and registers.
    let instrumentation = Instrumentation {
        delays: case % 2 == 1,
        compare_twice: case % 2 == 1,
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut compiled = Vec::new();
        for (_, backend) in BACKENDS {
            let lowered = compile_section(tokens.clone(), backend, instrumentation);
            if let Ok((_, lowered)) = &lowered {
                backend.emit(lowered);
            }
            compiled.push(lowered.is_ok());
        }
        // The full macro too: the expansion on success, the fallback on error.
        crate::expand::rseq(tokens);
        compiled[0]
    }));
    QUIET.with(|quiet| quiet.set(false));
    match result {
        Ok(true) => tally.sections += 1,
        Ok(false) => tally.errors += 1,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            panic!(
                "the macro panicked ({message}) on {family} case {case} of seed {seed:#x}:\n{text}"
            );
        }
    }
}

fn cases() -> usize {
    std::env::var("RSEQ_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
}

#[test]
fn mutated_examples_never_panic() {
    let originals: Vec<Vec<Tok>> = examples().into_iter().map(|(_, t)| to_toks(t)).collect();
    let mut tally = Tally::default();
    install_quiet_hook();
    for seed in 1..=4u64 {
        let mut rng = Rng(seed);
        for case in 0..cases() {
            let mut toks = rng.pick(&originals).clone();
            // Mostly a few mutations, so that the checker and lowering see near-valid
            // sections; sometimes many, so that the parser sees wreckage.
            let rounds = if rng.chance(80) {
                1 + rng.below(3)
            } else {
                4 + rng.below(20)
            };
            for _ in 0..rounds {
                mutate(&mut rng, &mut toks, &originals);
            }
            run(to_stream(&toks), &mut tally, "mutated", seed, case);
        }
    }
    eprintln!(
        "mutated examples: {} sections, {} errors, no panic",
        tally.sections, tally.errors
    );
    assert!(
        tally.errors > 0 && tally.sections > 0,
        "the mutations reach both outcomes"
    );
}

#[test]
fn random_streams_never_panic() {
    let mut tally = Tally::default();
    install_quiet_hook();
    for seed in 1..=4u64 {
        let mut rng = Rng(seed.wrapping_mul(0xDEAD_BEEF));
        for case in 0..cases() {
            let mut toks = random_toks(&mut rng, 4, 24);
            // Half of them get the section's outer shape, so the body parser sees them.
            if rng.chance(50) {
                let body = Tok::Group(Delimiter::Brace, toks);
                let index = Tok::Leaf(random_ident(&mut rng).into());
                let bar = || Tok::Leaf(Punct::new('|', Spacing::Alone).into());
                toks = vec![bar(), index, bar(), body];
            }
            run(to_stream(&toks), &mut tally, "random", seed, case);
        }
    }
    eprintln!(
        "random streams: {} sections, {} errors, no panic",
        tally.sections, tally.errors
    );
}

/// A value type of the generated sections.
#[derive(Clone, PartialEq)]
enum GenTy {
    Int(&'static str),
    Ptr(bool, Box<GenTy>),
    /// A pointer to a user type: it can be moved, offset and compared, not loaded.
    Opaque(bool),
}

const INTS: &[&str] = &[
    "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
];

impl GenTy {
    fn text(&self) -> String {
        let qual = |mutable: bool| if mutable { "*mut" } else { "*const" };
        match self {
            GenTy::Int(name) => name.to_string(),
            GenTy::Ptr(mutable, inner) => format!("{} {}", qual(*mutable), inner.text()),
            GenTy::Opaque(mutable) => format!("{} Node", qual(*mutable)),
        }
    }

    fn random(rng: &mut Rng, depth: usize) -> GenTy {
        match rng.below(10) {
            0..=5 => GenTy::Int(rng.word(INTS)),
            6 => GenTy::Opaque(rng.chance(80)),
            _ if depth == 0 => GenTy::Int(rng.word(INTS)),
            _ => GenTy::Ptr(rng.chance(80), Box::new(GenTy::random(rng, depth - 1))),
        }
    }

    fn bits(&self) -> u32 {
        match self {
            GenTy::Int(name) => match *name {
                "u8" | "i8" => 8,
                "u16" | "i16" => 16,
                "u32" | "i32" => 32,
                _ => 64,
            },
            _ => 64,
        }
    }

    fn signed(&self) -> bool {
        matches!(self, GenTy::Int(name) if name.starts_with('i'))
    }
}

/// Writes random sections that mostly follow the language's types, so that most of them
/// pass the checker and reach lowering and the backend with unusual shapes: extreme
/// literals, deep casts, long address chains, many live values.
struct SectionGen<'a> {
    rng: &'a mut Rng,
    vars: Vec<(String, GenTy)>,
}

impl SectionGen<'_> {
    fn var_of(&mut self, ty: &GenTy) -> Option<String> {
        let matching: Vec<&String> = self
            .vars
            .iter()
            .filter(|(_, t)| t == ty)
            .map(|(name, _)| name)
            .collect();
        (!matching.is_empty()).then(|| rng_pick_string(self.rng, &matching))
    }

    fn literal(&mut self, ty: &GenTy) -> String {
        let bits = ty.bits();
        let value: i128 = match self.rng.below(7) {
            0 => 0,
            1 => 1,
            2 => (1i128 << (bits - u32::from(ty.signed()))) - 1,
            3 if ty.signed() => -(1i128 << (bits - 1)),
            4 => i128::from(self.rng.next() >> self.rng.below(64)),
            // Edges of immediates, displacements and widths, one off either way.
            5 => {
                let power = *self.rng.pick(&[7, 8, 15, 16, 31, 32, 63, 64]);
                (1i128 << power) + self.rng.below(3) as i128 - 1
            }
            _ => i128::from(self.rng.below(300) as u16),
        };
        let suffix = match ty {
            GenTy::Int(name) if self.rng.chance(20) => *name,
            _ => "",
        };
        format!("{value}{suffix}")
    }

    fn expr(&mut self, ty: &GenTy, depth: usize) -> String {
        // Now and then the wrong type, so the checker's errors are exercised too.
        if self.rng.chance(3) {
            let other = GenTy::random(self.rng, 2);
            return self.expr_exact(&other, depth);
        }
        self.expr_exact(ty, depth)
    }

    fn expr_exact(&mut self, ty: &GenTy, depth: usize) -> String {
        if depth == 0 || self.rng.chance(30) {
            if let Some(name) = self.var_of(ty) {
                return name;
            }
            if let GenTy::Int(_) = ty {
                return self.literal(ty);
            }
            if depth == 0 {
                return format!("(0usize as {})", ty.text());
            }
        }
        let d = depth - 1;
        if self.rng.chance(8) {
            return match ty {
                GenTy::Int(_) => self.field_place(d),
                _ => {
                    let kind = *self.rng.pick(&["mut", "const"]);
                    format!("&raw {kind} {}", self.field_place(d))
                }
            };
        }
        match ty {
            GenTy::Int(_) => match self.rng.below(9) {
                0 => self.literal(ty),
                1 => {
                    let op = *self.rng.pick(&["+", "-", "*", "&", "|", "^"]);
                    format!("({} {op} {})", self.expr(ty, d), self.expr(ty, d))
                }
                2 => {
                    let op = *self.rng.pick(&["<<", ">>"]);
                    let amount = self.rng.below(ty.bits() as usize + 2);
                    format!("({} {op} {amount})", self.expr(ty, d))
                }
                3 => format!("!{}", self.expr(ty, d)),
                4 if ty.signed() => format!("-{}", self.expr(ty, d)),
                5 | 6 => {
                    let ptr = GenTy::Ptr(self.rng.chance(70), Box::new(ty.clone()));
                    self.load(&ptr, d)
                }
                _ => {
                    let from = GenTy::random(self.rng, 1);
                    format!("({} as {})", self.expr(&from, d), ty.text())
                }
            },
            GenTy::Ptr(..) | GenTy::Opaque(_) => match self.rng.below(6) {
                0 | 1 => {
                    let method = *self.rng.pick(&["add", "sub", "byte_add"]);
                    let count = self.expr(&GenTy::Int("usize"), d);
                    format!("{}.{method}({count})", self.expr(ty, d))
                }
                2 => {
                    let from = GenTy::random(self.rng, 2);
                    format!("({} as {})", self.expr(&from, d), ty.text())
                }
                3 => {
                    let outer = GenTy::Ptr(self.rng.chance(70), Box::new(ty.clone()));
                    self.load(&outer, d)
                }
                _ => format!("({} as {})", self.expr(&GenTy::Int("usize"), d), ty.text()),
            },
        }
    }

    /// A load through a pointer of type `ptr`: `*p`, or `p.load_acquire()`.
    fn load(&mut self, ptr: &GenTy, depth: usize) -> String {
        let address = self.expr(ptr, depth);
        if self.rng.chance(30) {
            format!("({address}).load_acquire()")
        } else {
            format!("*{address}")
        }
    }

    /// A struct field through a pointer to a user type: named, nested, or an indexed
    /// array field (its type comes from the context, or is missing).
    fn field_place(&mut self, depth: usize) -> String {
        let mutable = self.rng.chance(85);
        let ptr = self.expr(&GenTy::Opaque(mutable), depth);
        let path = *self.rng.pick(&["a", "a.b", "0", "a.0.c", "hdr.current"]);
        match self.rng.below(3) {
            0 => {
                let index = self.expr(&GenTy::Int("usize"), depth);
                format!("(*{ptr}).{path}[{index}]")
            }
            _ => format!("(*{ptr}).{path}"),
        }
    }

    fn cond(&mut self, depth: usize) -> String {
        match self.rng.below(5) {
            0 => {
                let ty = GenTy::Ptr(true, Box::new(GenTy::random(self.rng, 1)));
                format!("{}.is_null()", self.expr(&ty, depth))
            }
            1 => format!("!({})", self.cond(depth)),
            _ => {
                let ty = GenTy::random(self.rng, 1);
                let op = *self.rng.pick(&["==", "!=", "<", "<=", ">", ">="]);
                format!("{} {op} {}", self.expr(&ty, depth), self.expr(&ty, depth))
            }
        }
    }

    fn writable_ptr(&mut self, depth: usize) -> (String, GenTy) {
        let pointee = match self.rng.below(4) {
            0 => GenTy::Ptr(true, Box::new(GenTy::Int("u64"))),
            _ => GenTy::Int(self.rng.word(INTS)),
        };
        let ptr = GenTy::Ptr(self.rng.chance(95), Box::new(pointee.clone()));
        (self.expr(&ptr, depth), pointee)
    }

    fn section(&mut self) -> String {
        let mut text = String::new();
        let options: Vec<&str> = ["mm_cid", "no_retry"]
            .into_iter()
            .filter(|_| self.rng.chance(20))
            .collect();
        for option in options {
            text += &format!("{option}, ");
        }
        text += "|cpu| {\n";
        self.vars = vec![("cpu".to_string(), GenTy::Int("usize"))];
        for i in 0..1 + self.rng.below(6) {
            let ty = GenTy::random(self.rng, 2);
            text += &format!("in in{i}: {} = whatever;\n", ty.text());
            self.vars.push((format!("in{i}"), ty));
        }
        let depth = 1 + self.rng.below(4);
        let mut exit_ty: Option<Option<GenTy>> = None;
        for i in 0..self.rng.below(9) {
            match self.rng.below(5) {
                0 | 1 => {
                    let ty = GenTy::random(self.rng, 2);
                    text += &format!("let v{i}: {} = {};\n", ty.text(), self.expr(&ty, depth));
                    self.vars.push((format!("v{i}"), ty));
                }
                2 if self.rng.chance(25) => {
                    let place = self.field_place(depth);
                    let ty = GenTy::random(self.rng, 1);
                    text += &format!("store {place} = {};\n", self.expr(&ty, depth));
                }
                2 => {
                    let (ptr, pointee) = self.writable_ptr(depth);
                    text += &format!("store *{ptr} = {};\n", self.expr(&pointee, depth));
                }
                3 => {
                    let byte = GenTy::Ptr(true, Box::new(GenTy::Int("u8")));
                    let len = *self.rng.pick(&[1, 2, 3, 7, 8, 15, 16, 17, 64, 255, 256]);
                    let (dst, src) = (self.expr(&byte, depth), self.expr(&byte, depth));
                    if self.rng.chance(50) {
                        text += &format!("copy({dst}, {src}, {len});\n");
                    } else {
                        // A run-time length and its bound; an unsigned length of any width,
                        // or now and then a signed one, which the checker refuses.
                        let int = *self.rng.pick(&["u8", "u16", "u32", "u64", "usize", "i32"]);
                        let n = self.expr(&GenTy::Int(int), depth);
                        text += &format!("copy({dst}, {src}, {n}, max {len});\n");
                    }
                }
                _ => {
                    let ty = exit_ty.get_or_insert_with(|| {
                        self.rng.chance(50).then(|| GenTy::random(self.rng, 1))
                    });
                    let value = match ty.clone() {
                        Some(ty) => format!(" {}", self.expr(&ty, depth)),
                        None => String::new(),
                    };
                    text += &format!("if {} {{ exit{value}; }}\n", self.cond(depth));
                }
            }
        }
        let (ptr, pointee) = self.writable_ptr(depth);
        let ordering = *self.rng.pick(&["", "", "(release)", "(relaxed)"]);
        let op = if self.rng.chance(25) { "+=" } else { "=" };
        let (place, pointee) = if self.rng.chance(20) {
            (self.field_place(depth), GenTy::random(self.rng, 1))
        } else {
            (format!("*{ptr}"), pointee)
        };
        text += &format!(
            "commit{ordering} {place} {op} {};\n",
            self.expr(&pointee, depth)
        );
        if self.rng.chance(30) {
            let (name, _) = rng_pick_pair(self.rng, &self.vars).clone();
            text += &name;
        }
        text += "}";
        text
    }
}

fn rng_pick_string(rng: &mut Rng, items: &[&String]) -> String {
    items[rng.below(items.len())].clone()
}

fn rng_pick_pair<'a>(rng: &mut Rng, items: &'a [(String, GenTy)]) -> &'a (String, GenTy) {
    &items[rng.below(items.len())]
}

#[test]
fn generated_sections_never_panic() {
    let mut tally = Tally::default();
    let mut acquiring = Tally::default();
    install_quiet_hook();
    for seed in 1..=4u64 {
        let mut rng = Rng(seed.wrapping_mul(0x5EC7_1011));
        for case in 0..cases() {
            let text = SectionGen {
                rng: &mut rng,
                vars: Vec::new(),
            }
            .section();
            let tokens: TokenStream = text.parse().expect("generated sections lex");
            let tally = match text.contains("load_acquire") {
                true => &mut acquiring,
                false => &mut tally,
            };
            run(tokens, tally, "generated", seed, case);
        }
    }
    eprintln!(
        "generated sections: {} sections, {} errors; with load_acquire: {} sections, {} errors; no panic",
        tally.sections, tally.errors, acquiring.sections, acquiring.errors
    );
    assert!(tally.sections > 0, "the generator reaches lowering");
    assert!(
        acquiring.sections > 0,
        "the generator reaches lowering with load_acquire"
    );
}

/// Address folding at the edges: chains of `.add`/`.sub`/`.byte_add` with counts near
/// powers of two, divided by the element size, so that displacements land on and just
/// past every limit (32-bit displacements, `i64`, `u64`), for a commit or an acquire load.
#[test]
fn offset_chains_never_panic() {
    let mut tally = Tally::default();
    install_quiet_hook();
    let mut rng = Rng(0x0FF5E7);
    for case in 0..cases() {
        let pointee = *rng.pick(&["u8", "u16", "u32", "u64", "*mut u8"]);
        let size: u128 = match pointee {
            "u8" => 1,
            "u16" => 2,
            "u32" => 4,
            _ => 8,
        };
        let mut place = "p".to_string();
        for _ in 0..1 + rng.below(3) {
            let method = *rng.pick(&["add", "sub", "byte_add"]);
            let scale = if method == "byte_add" { 1 } else { size };
            let power = *rng.pick(&[0u32, 12, 31, 32, 62, 63, 64]);
            let count = ((1u128 << power) / scale) as i128 + rng.below(3) as i128 - 1;
            let count = count.clamp(0, i128::from(u64::MAX));
            place = format!("{place}.{method}({count})");
        }
        // Half of them load there with acquire (a bare register on aarch64) instead.
        let text = if rng.chance(50) {
            format!("|cpu| {{ in p: *mut {pointee} = p; let v: {pointee} = {place}.load_acquire(); commit *p = v; }}")
        } else {
            format!("|cpu| {{ in p: *mut {pointee} = p; commit *{place} = 0 as {pointee}; }}")
        };
        let tokens: TokenStream = text.parse().expect("offset chains lex");
        run(tokens, &mut tally, "offset chain", 0x0FF5E7, case);
    }
    eprintln!(
        "offset chains: {} sections, {} errors, no panic",
        tally.sections, tally.errors
    );
}
