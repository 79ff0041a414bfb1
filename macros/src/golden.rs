//! Golden tests of the generated asm: every example of the language, for every backend.
//! A codegen change shows up in review as a diff of `macros/golden/<arch>/<example>.s`.
//! Regenerate with `RSEQ_BLESS=1 cargo test -p rseq-dsl-macros golden`.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::arch::{x86_64::X86_64, Backend, BACKENDS};
use crate::expand::compile_section;
use crate::lower::{Const, Instrumentation, Source};

/// The examples of the language reference (the compiler issue), one per name.
pub fn examples() -> Vec<(&'static str, TokenStream)> {
    vec![
        (
            "counter_load_add_store",
            quote!(|cpu| {
                in slot: *mut u64 = counters.add(cpu * STRIDE);
                let v: u64 = *slot;
                commit *slot = v + 1;
            }),
        ),
        (
            "counter_add_commit",
            quote!(|cpu| {
                in slot: *mut u64 = counters.add(cpu * STRIDE);
                commit *slot += 1;
            }),
        ),
        (
            "lock",
            quote!(|cpu| {
                in lock: *mut usize = locks.add(cpu * STRIDE);
                let held: usize = *lock;
                if held != 0 { exit; }
                commit *lock = 1;
            }),
        ),
        (
            "stack_push",
            quote!(|cpu| {
                in head: *mut *mut Node = heads.add(cpu * STRIDE) as *mut *mut Node;
                in node: *mut Node = node;
                let top: *mut Node = *head;
                store *(node as *mut *mut Node) = top;
                commit *head = node;
            }),
        ),
        (
            "stack_pop",
            quote!(|cpu| {
                in head: *mut *mut Node = heads.add(cpu * STRIDE) as *mut *mut Node;
                let top: *mut Node = *head;
                if top.is_null() { exit; }
                let next: *mut Node = *(top as *mut *mut Node);
                commit *head = next;
                top
            }),
        ),
        (
            "buffer_push_release",
            quote!(|cpu| {
                in len_p: *mut usize = lens.add(cpu * STRIDE);
                in slots: *mut u64 = items.add(cpu * CAP);
                in cap: usize = CAP;
                in item: u64 = item;
                let len: usize = *len_p;
                if len == cap { exit len; }
                store *slots.add(len) = item;
                commit(release) *len_p = len + 1;
            }),
        ),
        (
            "record_copy",
            quote!(|cpu| {
                in len_p: *mut usize = lens.add(cpu * STRIDE);
                in slots: *mut u8 = records.add(cpu * CAP * 16);
                in src: *const u8 = record.as_ptr();
                let len: usize = *len_p;
                if len == 64 { exit; }
                copy(slots.byte_add(len * 16), src, 16);
                commit(release) *len_p = len + 1;
            }),
        ),
        (
            "record_copy_up_to",
            quote!(|cpu| {
                in len_p: *mut usize = lens.add(cpu * STRIDE);
                in slots: *mut u8 = records.add(cpu * CAP * 256);
                in src: *const u8 = record.as_ptr();
                in n: usize = record.len();
                let len: usize = *len_p;
                if len == 64 { exit; }
                copy(slots.byte_add(len * 256), src, n, max 256);
                commit(release) *len_p = len + 1;
            }),
        ),
        (
            // An exit of its own rules out a length above the bound, with a value: the copy
            // then has no exit, and the loop moves the names' values, which are used later.
            "copy_up_to_guarded",
            quote!(|cpu| {
                in buf: *mut u8 = bufs.add(cpu * 64);
                in len_p: *mut u32 = lens.add(cpu);
                in src: *const u8 = msg.as_ptr();
                in n: u32 = msg.len() as u32;
                if n > 64 { exit n; }
                copy(buf, src, n, max 64);
                store *buf.add(63) = 0u8;
                commit *len_p = n;
            }),
        ),
        (
            "mm_cid_counter",
            quote!(mm_cid, |cid| {
                in slot: *mut u64 = counters.add(cid * STRIDE);
                commit *slot += 1;
            }),
        ),
        (
            "no_retry_counter",
            quote!(no_retry, |cpu| {
                in slot: *mut u64 = counters.add(cpu * STRIDE);
                commit *slot += 1;
            }),
        ),
        (
            "load_acquire",
            quote!(|cpu| {
                in hdr: *mut Header = headers.add(cpu);
                in flags: *const i8 = flags;
                in seq: *const u64 = seqs;
                let stopped_p: *const u32 = &raw const (*hdr).stopped;
                let stopped: u32 = stopped_p.load_acquire();
                if stopped != 0 { exit; }
                let f: i8 = flags.add(cpu).load_acquire();
                let s: u64 = seq.add(1).load_acquire();
                let n: u64 = (*hdr).count;
                commit (*hdr).count = n + s + f as u64;
            }),
        ),
        (
            "narrow_signed",
            quote!(|cpu| {
                in b: *mut u8 = b;
                in w: *mut i16 = w;
                let x: u8 = *b;
                store *b.add(1) = x + 10;
                let s: i16 = *w;
                if s >= 0 { exit; }
                let t: i16 = s * 3;
                commit *w = t - 1;
            }),
        ),
        (
            "shift_by_value",
            quote!(|cpu| {
                in slot: *mut u64 = slots.add(cpu);
                in half: *mut i16 = halves.add(cpu);
                in n: u32 = n;
                let v: u64 = *slot;
                let h: i16 = *half;
                store *half = h >> n;
                commit *slot = v << n;
            }),
        ),
        (
            "slab_push_fields",
            quote!(|cpu| {
                in slab: *mut Slab = slabs.add(cpu);
                in item: u64 = item;
                let cur: u16 = (*slab).hdr.current;
                let end: u16 = (*slab).hdr.end;
                if cur == end { exit; }
                store (*slab).slots[cur as usize] = item;
                commit (*slab).hdr.current = cur + 1;
            }),
        ),
        (
            "slab_pop_field_address",
            quote!(|cpu| {
                in slab: *mut Slab = slabs.add(cpu);
                let current: *mut u16 = &raw mut (*slab).hdr.current;
                let cur: u16 = *current;
                let begin: u16 = (*slab).hdr.begin;
                if cur == begin { exit; }
                let item: u64 = (*slab).slots[(cur - 1) as usize];
                commit(release) (*slab).hdr.current = cur - 1;
                item
            }),
        ),
    ]
}

/// The template and the operands' sources, as reviewed text.
pub fn render(
    backend: &dyn Backend,
    tokens: TokenStream,
    instrumentation: Instrumentation,
) -> String {
    let mut text = String::new();
    // A 32-bit backend takes no section holding 64-bit integers (`lower::wide_value`): it
    // shows each example with `u64`/`i64` read as `usize`/`isize`, the form that runs there.
    let tokens = if backend.word_bits() < 64 {
        let narrowed: TokenStream = tokens
            .to_string()
            .replace("u64", "usize")
            .replace("i64", "isize")
            .parse()
            .expect("tokens");
        if narrowed.to_string() != tokens.to_string() {
            text.push_str("# u64/i64 read as usize/isize: 64-bit values take no section here\n");
        }
        narrowed
    } else {
        tokens
    };
    let (checked, lowered) = match compile_section(tokens, backend, instrumentation) {
        Ok(compiled) => compiled,
        // The register budget of a small register file: the error is the golden text.
        Err(e) if backend.registers() < 8 => {
            text.push_str(&format!("# does not compile for {}:\n", backend.name()));
            for line in e.to_string().lines() {
                text.push_str(&format!("#   {line}\n"));
            }
            return text;
        }
        Err(e) => panic!("example does not compile: {e}"),
    };
    for slot in 0..lowered.alloc.slot_count {
        let source = lowered
            .sources
            .iter()
            .find(|(vreg, _)| lowered.alloc.slot_of[*vreg] == slot)
            .map(|(_, source)| match source {
                Source::Area => "area".to_string(),
                Source::Index => "index".to_string(),
                Source::Var(var) => checked.vars[*var].name.to_string(),
                Source::Delays => "delay table".to_string(),
            });
        let kind = match (&source, lowered.alloc.written[slot]) {
            (Some(_), false) => "in",
            (Some(_), true) => "inout",
            (None, _) => "out",
        };
        text.push_str(&format!(
            "# s{slot}: {kind} {}\n",
            source.unwrap_or_default()
        ));
    }
    for (n, value) in lowered.consts.iter().enumerate() {
        let value = match value {
            Const::SizeOf(ty) => format!("size_of::<{ty}>()"),
            Const::FieldOffset(field) => {
                let field = &checked.fields[*field];
                let members: Vec<String> = field
                    .members
                    .iter()
                    .map(|m| m.to_token_stream().to_string())
                    .collect();
                format!(
                    "offset_of!({}, {})",
                    field.strukt.to_token_stream(),
                    members.join(".")
                )
            }
        };
        let limits: Vec<String> = lowered
            .field_limits
            .iter()
            .filter(|(konst, _)| *konst == n)
            .map(|(_, limit)| format!("<= {} (multiple of {})", limit.max, limit.multiple))
            .fold(Vec::new(), |mut unique, limit| {
                if !unique.contains(&limit) {
                    unique.push(limit);
                }
                unique
            });
        text.push_str(&format!("# c{n}: const {value} {}\n", limits.join(", ")));
    }
    for register in &lowered.clobbers {
        text.push_str(&format!("# {register}: clobbered\n"));
    }
    for line in backend.emit(&lowered) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[test]
fn golden_asm_matches() {
    let bless = std::env::var_os("RSEQ_BLESS").is_some();
    let mut mismatches = Vec::new();
    for (arch, backend) in BACKENDS {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("golden")
            .join(arch);
        let instrumented = [
            ("", Instrumentation::default()),
            (
                ".delays",
                Instrumentation {
                    delays: true,
                    compare_twice: false,
                },
            ),
            (
                ".compare_twice",
                Instrumentation {
                    delays: false,
                    compare_twice: true,
                },
            ),
        ];
        for ((name, tokens), (suffix, instrumentation)) in examples()
            .into_iter()
            .flat_map(|example| instrumented.iter().map(move |i| (example.clone(), *i)))
            // Instrumented variants of three examples are enough to review that codegen.
            .filter(|((name, _), (suffix, _))| {
                suffix.is_empty()
                    || matches!(
                        *name,
                        "buffer_push_release" | "stack_pop" | "load_acquire" | "record_copy_up_to"
                    )
            })
        {
            let actual = render(backend, tokens, instrumentation);
            let name = format!("{name}{suffix}");
            let path = dir.join(format!("{name}.s"));
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &actual).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&path).unwrap_or_default();
            if expected != actual {
                mismatches.push(format!("{}:\n{actual}", path.display()));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "generated asm differs from the golden files (RSEQ_BLESS=1 to accept):\n{}",
        mismatches.join("\n")
    );
}

/// The default build carries no test instrumentation: no delay loops, no delay table
/// operand, no compare-twice checks (the golden files show the same in text).
#[test]
fn default_build_has_no_instrumentation() {
    use crate::lower::Inst;
    for (name, tokens) in examples() {
        let (_, lowered) = compile_section(tokens, &X86_64, Instrumentation::default()).unwrap();
        let instrumented = lowered.insts.iter().any(|inst| {
            matches!(
                inst,
                Inst::Spin { .. } | Inst::VerifyIndex { .. } | Inst::VerifyLoad { .. }
            )
        });
        assert!(
            !instrumented,
            "{name}: instrumentation instructions in the default build"
        );
        assert!(
            lowered.sources.iter().all(|(_, s)| *s != Source::Delays),
            "{name}: delay table operand"
        );
        assert!(lowered.checks.is_empty(), "{name}: compare-twice checks");
        let (_, delayed) = compile_section(
            examples().remove(0).1,
            &X86_64,
            Instrumentation {
                delays: true,
                compare_twice: false,
            },
        )
        .unwrap();
        assert!(
            delayed
                .insts
                .iter()
                .any(|inst| matches!(inst, Inst::Spin { .. })),
            "instrumented build lacks delays"
        );
    }
}
