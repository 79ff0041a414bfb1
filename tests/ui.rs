//! The compile-fail suite: every rule of the section language has a case in `ui-tests/`,
//! named after the rule, whose `.stderr` is the error a user sees. The `.stderr` files are
//! documentation, so they are compared exactly; another rustc may word or place errors
//! differently, so the suite runs only on the toolchain they were recorded with.
//!
//! trybuild builds the cases with this crate's features. The test instrumentation
//! (`delay-injection`, `compare-twice`) changes one message, the register count of
//! `too_many_registers`, so that case has a twin in `ui-tests/instrumented/` for builds with
//! both features, and is skipped with only one of them.
//!
//! Regenerate after a deliberate message change with
//! `TRYBUILD=overwrite cargo test --test ui` (and again with `--all-features`), then read
//! every changed `.stderr`.

use std::path::PathBuf;

/// Cases whose message depends on the test instrumentation.
const INSTRUMENTATION_DEPENDENT: &[&str] = &["too_many_registers.rs"];

#[test]
#[rustversion::attr(
    not(stable(1.95)),
    ignore = "ui-tests/*.stderr are recorded with stable 1.95"
)]
fn compile_fail() {
    let delays = cfg!(feature = "delay-injection");
    let compare_twice = cfg!(feature = "compare-twice");
    let cases = trybuild::TestCases::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir("ui-tests")
        .expect("ui-tests/ is readable")
        .map(|entry| entry.expect("ui-tests/ is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    paths.sort();
    assert!(paths.len() > 30, "the suite is where it should be");
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if (delays || compare_twice) && INSTRUMENTATION_DEPENDENT.contains(&name) {
            continue;
        }
        cases.compile_fail(path);
    }
    if delays && compare_twice {
        cases.compile_fail("ui-tests/instrumented/*.rs");
    }
}
