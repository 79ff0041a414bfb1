//! The `rseq-verify` binary end to end, on fixture files: exit status, table, summary line,
//! `--summary` and `--json`.

mod fixtures;

use fixtures::{Descriptor, Fixture, Machine, Pointer, ABORT};
use std::path::PathBuf;
use std::process::{Command, Output};

fn write(name: &str, fixture: &Fixture) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rseq-verify-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, fixture.build()).unwrap();
    path
}

fn run(args: &[&str], files: &[&PathBuf]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_rseq-verify"))
        .args(args)
        .args(files)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (status.code().unwrap(), text(stdout), text(stderr))
}

fn broken_signature() -> Fixture {
    let mut fixture = Fixture::valid(Machine::X86_64, true);
    fixture.patch_text(ABORT - 4, &[0; 4]);
    fixture
}

#[test]
fn a_valid_file_passes_with_a_table_and_a_summary() {
    let valid = write("valid-x86_64", &Fixture::valid(Machine::X86_64, false));
    let (code, out, err) = run(&[], &[&valid]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("fixture::main+0x10"), "{out}");
    let summary = out.lines().last().unwrap();
    assert_eq!(
        summary,
        format!(
            "summary: {} (x86_64 executable): 1 descriptors, 1 exit points, 0 violations, 0 warnings: OK",
            valid.display()
        )
    );
}

#[test]
fn a_violation_fails_and_names_its_rule() {
    let valid = write("valid-aarch64.so", &Fixture::valid(Machine::Aarch64, true));
    let broken = write("no-signature-x86_64.so", &broken_signature());
    let (code, out, _) = run(&["--summary"], &[&valid, &broken]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].ends_with("0 violations, 0 warnings: OK"), "{out}");
    assert!(
        lines[1].contains("violation[signature]: no signature before abort_ip 0x1080: bytes 00 00 00 00, x86_64 expects 53 30 05 53 (0x53053053)"),
        "{out}"
    );
    assert!(
        lines[2].ends_with("1 violations, 0 warnings: FAIL"),
        "{out}"
    );
}

#[test]
fn a_warning_fails_only_under_strict() {
    let mut fixture = Fixture::valid(Machine::X86_64, false);
    fixture.pointers.push(Pointer::Descriptor(0));
    let listed_twice = write("listed-twice", &fixture);
    let (code, out, _) = run(&[], &[&listed_twice]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning[duplicate]"), "{out}");
    let (code, _, _) = run(&["--strict"], &[&listed_twice]);
    assert_eq!(code, 1);
}

#[test]
fn legacy_flags_fail_unless_allowed() {
    let mut fixture = Fixture::valid(Machine::Aarch64, true);
    fixture.descriptors[0].flags = 1;
    let legacy = write("legacy-flags", &fixture);
    let (code, out, err) = run(&["--summary"], &[&legacy]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains(
            "descriptor 0x2000: violation[legacy-flags]: legacy flags 0x1 (NO_RESTART_ON_PREEMPT)"
        ),
        "{out}"
    );
    assert!(lines[0].contains("an error by default"), "{out}");
    assert!(
        lines[1].ends_with("1 violations, 0 warnings: FAIL"),
        "{out}"
    );
    // For code that only ever runs where the flags are honoured or ignored: a warning.
    let (code, out, err) = run(&["--summary", "--allow-legacy-flags"], &[&legacy]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("warning[legacy-flags]"), "{out}");
    assert!(out.ends_with("0 violations, 1 warnings: OK\n"), "{out}");
    let (code, _, _) = run(&["--allow-legacy-flags", "--strict"], &[&legacy]);
    assert_eq!(code, 1);
}

#[test]
fn an_unlisted_descriptor_fails_with_its_own_findings() {
    // A second descriptor, version 1, in __rseq_cs but not in __rseq_cs_ptr_array.
    let mut fixture = Fixture::valid(Machine::X86_64, false);
    let first = fixture.descriptors[0];
    fixture.descriptors.push(Descriptor {
        version: 1,
        start_ip: fixture.text_at(0x48),
        post_commit_offset: 4,
        ..first
    });
    let unlisted = write("unlisted-version", &fixture);
    let (code, out, err) = run(&["--summary"], &[&unlisted]);
    assert_eq!(code, 1, "{out}{err}");
    let path = unlisted.display();
    assert_eq!(
        out,
        format!(
            "{path}: descriptor 0x402020: violation[version]: version is 1, the kernel accepts only 0\n\
             {path}: descriptor 0x402020: warning[unlisted]: found in __rseq_cs but not listed in __rseq_cs_ptr_array: debuggers and tools that read the array do not see it\n\
             summary: {path} (x86_64 executable): 2 descriptors, 1 exit points, 1 violations, 1 warnings: FAIL\n"
        )
    );
}

#[test]
fn json_lists_every_descriptor_and_finding() {
    let broken = write("no-signature-json.so", &broken_signature());
    let (code, out, _) = run(&["--json"], &[&broken]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let report = &json[0];
    assert_eq!(report["arch"], "x86_64");
    assert_eq!(report["kind"], "shared object");
    assert_eq!(report["violations"], 1);
    let descriptor = &report["descriptors"][0];
    assert_eq!(descriptor["start_ip"], 0x1010);
    assert_eq!(descriptor["symbol"], "fixture::main+0x10");
    assert_eq!(descriptor["findings"][0]["rule"], "signature");
    assert_eq!(descriptor["findings"][0]["severity"], "violation");
    assert_eq!(report["exit_points"][0]["exit_ip"], 0x1040);
}

#[test]
fn unreadable_files_exit_2() {
    let text = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let (code, _, err) = run(&[], &[&text]);
    assert_eq!(code, 2);
    assert!(err.contains("not an ELF file"), "{err}");
    let (code, _, err) = run(&["--bogus"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown option --bogus"), "{err}");
}
