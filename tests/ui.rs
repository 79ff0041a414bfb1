//! The compile-fail suite: every rule of the section language has a case in `ui-tests/`,
//! named after the rule, whose `.stderr` is the error a user sees. The `.stderr` files are
//! documentation, so they are compared exactly; another rustc may word or place errors
//! differently, so the suite runs only on the toolchain they were recorded with.
//!
//! trybuild builds the cases with this crate's features, but never with the test
//! instrumentation, whatever the outer build had: it replaces `RUSTFLAGS`, where the
//! instrumentation's cfgs are. The instrumentation changes one message, the register count
//! of `too_many_registers`; its twin in `ui-tests/instrumented/` calls what `rseq!` expands
//! to in a build with both cfgs (`__rseq_instrumented!`), so both messages are always
//! checked.
//!
//! Regenerate after a deliberate message change with
//! `TRYBUILD=overwrite cargo test --all-features --test ui`, then read every changed
//! `.stderr`.

use std::path::PathBuf;

#[test]
#[rustversion::attr(
    not(stable(1.95)),
    ignore = "ui-tests/*.stderr are recorded with stable 1.95"
)]
fn compile_fail() {
    let cases = trybuild::TestCases::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir("ui-tests")
        .expect("ui-tests/ is readable")
        .map(|entry| entry.expect("ui-tests/ is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    paths.sort();
    assert!(paths.len() > 30, "the suite is where it should be");
    for path in paths {
        cases.compile_fail(path);
    }
    cases.compile_fail("ui-tests/instrumented/*.rs");
}
