//! One broken fixture per rule: each must produce exactly its own finding, on both
//! architectures, as an executable and as a shared object (whose pointers only
//! relocations give), and the valid baseline none.

mod fixtures;

use fixtures::{Fixture, Machine, Pointer, ABORT, EXIT, LEN, START};
use rseq_verify::{check, ElfImage, Report, Rule, Severity};

const VARIANTS: [(Machine, bool); 4] = [
    (Machine::X86_64, false),
    (Machine::X86_64, true),
    (Machine::Aarch64, false),
    (Machine::Aarch64, true),
];

/// Keeps a copy of a fixture for scripts/verify-ci.sh, which runs the tool on each: named
/// `pass-*` where it must exit 0 (valid, or warnings only), `fail-*` where it must exit 1.
fn keep(name: &str, fixture: &Fixture, passes: bool) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("rseq-verify-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let (prefix, other) = if passes {
        ("pass", "fail")
    } else {
        ("fail", "pass")
    };
    // A copy left by an older build under the other verdict would be checked against it.
    let _ = std::fs::remove_file(dir.join(format!("{other}-{name}")));
    std::fs::write(dir.join(format!("{prefix}-{name}")), fixture.build()).unwrap();
}

fn variant(machine: Machine, shared: bool) -> String {
    let arch = match machine {
        Machine::X86_64 => "x86_64",
        Machine::Aarch64 => "aarch64",
    };
    format!("{arch}-{}", if shared { "so" } else { "exec" })
}

fn verify(fixture: &Fixture) -> (ElfImage, Report) {
    let image = ElfImage::parse(fixture.build()).expect("the fixture parses");
    let report = check(&image, &image.tables());
    (image, report)
}

#[test]
fn the_valid_baseline_has_no_finding() {
    for (machine, shared) in VARIANTS {
        let fixture = Fixture::valid(machine, shared);
        let (image, report) = verify(&fixture);
        let findings: Vec<_> = report.all_findings().collect();
        assert!(
            findings.is_empty(),
            "{machine:?} shared={shared}: {findings:#?}"
        );
        assert_eq!(
            image.kind(),
            if shared {
                "shared object"
            } else {
                "executable"
            }
        );
        assert_eq!(report.descriptors.len(), 1);
        assert_eq!(report.exit_points.len(), 1);
        let d = &report.descriptors[0];
        // The relocated values, not the zeros a shared object holds in place.
        assert_eq!(d.start_ip, fixture.text_at(START));
        assert_eq!(d.abort_ip, fixture.text_at(ABORT));
        assert_eq!(d.symbol.as_deref(), Some("fixture::main+0x10"));
        assert_eq!(d.section.as_deref(), Some(".text"));
        assert_eq!(
            report.exit_points[0].symbol.as_deref(),
            Some("fixture::main+0x40")
        );
    }
}

/// A rule, the change to the baseline that breaks it, and a piece of its message.
struct Case {
    rule: Rule,
    severity: Severity,
    message: &'static str,
    /// Cases that need relocations run only on shared objects.
    shared_only: bool,
    breaks: fn(&mut Fixture),
}

const fn case(rule: Rule, message: &'static str, breaks: fn(&mut Fixture)) -> Case {
    Case {
        rule,
        severity: Severity::Violation,
        message,
        shared_only: false,
        breaks,
    }
}

const CASES: &[Case] = &[
    case(
        Rule::Version,
        "version is 1, the kernel accepts only 0",
        |f| f.descriptors[0].version = 1,
    ),
    case(Rule::Flags, "has unknown bits 0x10", |f| {
        f.descriptors[0].flags = 0x10
    }),
    case(
        Rule::LegacyFlags,
        "legacy flags 0x5 (NO_RESTART_ON_PREEMPT | NO_RESTART_ON_MIGRATE)",
        |f| f.descriptors[0].flags = 0b101,
    ),
    case(Rule::Alignment, "is not 32-byte aligned (8 past", |f| {
        f.misalign = 8
    }),
    case(
        Rule::Start,
        "is not in an executable section (it is in __rseq_cs)",
        |f| {
            let data = f.data_address();
            let d = &mut f.descriptors[0];
            (d.start_ip, f.exits[0].0) = (data, data);
        },
    ),
    case(Rule::Empty, "post_commit_offset is 0", |f| {
        f.descriptors[0].post_commit_offset = 0
    }),
    case(Rule::End, "is past the end of .text", |f| {
        // Ends in the next page; the abort handler and exit (at 0x80, 0x40) stay outside
        // by moving the section's start past them.
        let start = f.text_at(0xf0);
        f.descriptors[0].start_ip = start;
        f.descriptors[0].post_commit_offset = 0x20;
        f.exits[0].0 = start;
    }),
    case(Rule::AbortInside, "lies inside the section", |f| {
        let abort = f.text_at(START + 8);
        f.descriptors[0].abort_ip = abort;
        let sig = f.machine.signature();
        f.patch_text(START + 4, &sig);
    }),
    case(Rule::AbortCode, "is not in an executable section", |f| {
        f.descriptors[0].abort_ip = f.data_address() + 0x204
    }),
    case(Rule::Signature, "no signature before abort_ip", |f| {
        f.patch_text(ABORT - 4, &[0xcc; 4])
    }),
    case(Rule::SignatureByteOrder, "in the wrong byte order", |f| {
        let mut sig = f.machine.signature();
        sig.reverse();
        f.patch_text(ABORT - 4, &sig);
    }),
    Case {
        severity: Severity::Warning,
        ..case(Rule::Duplicate, "is listed twice", |f| {
            f.pointers.push(Pointer::Descriptor(0))
        })
    },
    case(Rule::ExitUnknownSection, "no descriptor starts at", |f| {
        f.exits[0].0 += 1
    }),
    case(
        Rule::ExitTarget,
        "the target is not in an executable section",
        |f| f.exits[0].1 = f.data_address() + 0x208,
    ),
    case(Rule::ExitInside, "lies inside its section", |f| {
        f.exits[0].1 = f.exits[0].0 + LEN - 1
    }),
    Case {
        severity: Severity::Warning,
        ..case(Rule::ExitAbort, "is the abort handler", |f| {
            f.exits[0].1 = f.descriptors[0].abort_ip
        })
    },
    case(Rule::Table, "does not point to 32 readable bytes", |f| {
        // The exit point would name a section no descriptor describes, and the descriptor,
        // no longer listed, would be found in __rseq_cs: drop both.
        f.pointers[0] = Pointer::Address(0xdead_0000);
        f.exits.clear();
        f.descriptors.clear();
    }),
    Case {
        shared_only: true,
        ..case(
            Rule::Table,
            "entry at 0x2400 has no value in the file",
            |f| {
                f.pointers[0] = Pointer::Undefined;
                f.exits.clear();
                f.descriptors.clear();
            },
        )
    },
];

#[test]
fn each_broken_fixture_fails_with_its_own_finding() {
    for (machine, shared) in VARIANTS {
        let mut messages = Vec::new();
        for (i, case) in CASES.iter().enumerate() {
            if case.shared_only && !shared {
                continue;
            }
            let mut fixture = Fixture::valid(machine, shared);
            (case.breaks)(&mut fixture);
            let name = format!("{}-{i:02}-{}", variant(machine, shared), case.rule.id());
            keep(&name, &fixture, case.severity == Severity::Warning);
            let (_, report) = verify(&fixture);
            let findings: Vec<_> = report.all_findings().collect();
            let what = format!("{machine:?} shared={shared} {}", case.rule.id());
            assert_eq!(findings.len(), 1, "{what}: {findings:#?}");
            let finding = findings[0];
            assert_eq!(finding.rule, case.rule, "{what}: {finding}");
            assert_eq!(finding.severity, case.severity, "{what}: {finding}");
            assert!(
                finding.message.contains(case.message),
                "{what}: {finding:?} lacks {:?}",
                case.message
            );
            assert_eq!(
                report.violations() > 0,
                case.severity == Severity::Violation
            );
            messages.push(finding.message.clone());
        }
        let count = messages.len();
        messages.sort();
        messages.dedup();
        assert_eq!(messages.len(), count, "two rules with one message");
    }
}

#[test]
fn the_signature_is_checked_in_memory_order() {
    // The bytes, not a u32 read in the wrong order: x86's `.long` and aarch64's `.inst`.
    assert_eq!(Machine::X86_64.signature(), [0x53, 0x30, 0x05, 0x53]);
    assert_eq!(Machine::Aarch64.signature(), [0x00, 0xbc, 0x28, 0xd4]);
    assert_eq!(
        rseq_verify::Arch::Aarch64.signature_bytes(),
        Machine::Aarch64.signature()
    );
    // s390x's `.long` is big-endian: `trap4 4095(%r0)` in glibc's bits/rseq.h.
    assert_eq!(
        rseq_verify::Arch::S390x.signature_bytes(),
        [0xb2, 0xff, 0x0f, 0xff]
    );
}

#[test]
fn without_the_pointer_array_descriptors_are_found_in_rseq_cs() {
    for (machine, shared) in VARIANTS {
        let mut fixture = Fixture::valid(machine, shared);
        fixture.pointers.clear();
        let first = fixture.descriptors[0];
        fixture.descriptors.push(fixtures::Descriptor {
            start_ip: fixture.text_at(EXIT + 8),
            post_commit_offset: 4,
            ..first
        });
        let (_, report) = verify(&fixture);
        let starts: Vec<u64> = report.descriptors.iter().map(|d| d.start_ip).collect();
        assert_eq!(starts, [fixture.text_at(START), fixture.text_at(EXIT + 8)]);
        assert_eq!((report.violations(), report.warnings()), (0, 1));
        assert_eq!(report.findings[0].rule, Rule::Table);
    }
}

/// A second descriptor in `__rseq_cs` that `__rseq_cs_ptr_array` does not list (hand-written
/// asm linked beside `rseq!` code), over `[EXIT + 8, EXIT + 12)`; the baseline's stays listed.
fn with_unlisted(machine: Machine, shared: bool, version: u32) -> Fixture {
    let mut fixture = Fixture::valid(machine, shared);
    let first = fixture.descriptors[0];
    fixture.descriptors.push(fixtures::Descriptor {
        version,
        start_ip: fixture.text_at(EXIT + 8),
        post_commit_offset: 4,
        ..first
    });
    assert_eq!(fixture.pointers.len(), 1, "only the first is listed");
    fixture
}

#[test]
fn an_unlisted_descriptor_in_rseq_cs_is_checked() {
    for (machine, shared) in VARIANTS {
        let what = format!("{machine:?} shared={shared}");
        let fixture = with_unlisted(machine, shared, 1);
        keep(
            &format!("{}-unlisted-version", variant(machine, shared)),
            &fixture,
            false,
        );
        let (_, report) = verify(&fixture);
        let (listed, unlisted) = (fixture.descriptor_at(0), fixture.descriptor_at(1));
        // Both are checked: the listed one first, in table order, then the one found only
        // by scanning __rseq_cs.
        let addresses: Vec<u64> = report.descriptors.iter().map(|d| d.address).collect();
        assert_eq!(addresses, [listed, unlisted], "{what}: {report:#?}");
        assert!(report.descriptors[0].findings.is_empty(), "{what}");
        assert!(report.findings.is_empty(), "{what}: {:#?}", report.findings);
        let d = &report.descriptors[1];
        assert_eq!(d.start_ip, fixture.text_at(EXIT + 8), "{what}: relocated");
        assert_eq!(d.symbol.as_deref(), Some("fixture::main+0x48"), "{what}");
        // Its own findings: the broken version, and that debuggers will not see it.
        let found: Vec<(&str, Severity, &str)> = d
            .findings
            .iter()
            .map(|f| (f.rule.id(), f.severity, f.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "version",
                    Severity::Violation,
                    "version is 1, the kernel accepts only 0"
                ),
                (
                    "unlisted",
                    Severity::Warning,
                    "found in __rseq_cs but not listed in __rseq_cs_ptr_array: debuggers and tools that read the array do not see it"
                ),
            ],
            "{what}"
        );
        assert_eq!((report.violations(), report.warnings()), (1, 1), "{what}");
        // The exit point of the listed one still resolves.
        assert!(report.exit_points[0].findings.is_empty(), "{what}");

        // A valid unlisted descriptor: only the warning, the tool exits 0.
        let fixture = with_unlisted(machine, shared, 0);
        keep(
            &format!("{}-unlisted-valid", variant(machine, shared)),
            &fixture,
            true,
        );
        let (_, report) = verify(&fixture);
        assert_eq!(report.descriptors.len(), 2, "{what}");
        assert_eq!((report.violations(), report.warnings()), (0, 1), "{what}");
    }
}

#[test]
fn listed_descriptors_are_not_found_twice_by_the_scan() {
    for (machine, shared) in VARIANTS {
        let what = format!("{machine:?} shared={shared}");
        // Both listed, the second twice: two descriptors, one duplicate-entry warning.
        let mut fixture = with_unlisted(machine, shared, 0);
        fixture.pointers = vec![
            Pointer::Descriptor(0),
            Pointer::Descriptor(1),
            Pointer::Descriptor(1),
        ];
        let (_, report) = verify(&fixture);
        assert_eq!(report.descriptors.len(), 2, "{what}");
        let findings: Vec<String> = report.all_findings().map(|f| f.to_string()).collect();
        assert_eq!(findings.len(), 1, "{what}: {findings:#?}");
        assert!(findings[0].contains("is listed twice"), "{what}");
        // A misaligned listed descriptor: the 32-byte slots it straddles are not read as
        // descriptors of their own.
        let mut fixture = Fixture::valid(machine, shared);
        fixture.misalign = 8;
        let (_, report) = verify(&fixture);
        assert_eq!(report.descriptors.len(), 1, "{what}: {report:#?}");
    }
}

#[test]
fn legacy_flags_are_a_violation_by_default() {
    for (machine, shared) in VARIANTS {
        for flags in [1, 2, 4, 7] {
            let what = format!("{machine:?} shared={shared} flags={flags}");
            let mut fixture = Fixture::valid(machine, shared);
            fixture.descriptors[0].flags = flags;
            let (_, report) = verify(&fixture);
            let findings: Vec<_> = report.all_findings().collect();
            assert_eq!(findings.len(), 1, "{what}: {findings:#?}");
            let finding = findings[0];
            assert_eq!(finding.rule, Rule::LegacyFlags, "{what}");
            assert_eq!(finding.severity, Severity::Violation, "{what}: {finding}");
            for part in [
                "kernels 6.0 to 6.18 (and 6.19, 7.x and later booted with rseq_debug=1) kill the process with SIGSEGV",
                "an error by default",
            ] {
                assert!(finding.message.contains(part), "{what}: {finding} lacks {part:?}");
            }
            assert_eq!(report.violations(), 1, "{what}");
        }
    }
}
