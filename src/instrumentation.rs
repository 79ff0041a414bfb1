//! The test instrumentation's selector: `rseq!` expands to `__rseq_select!([section]
//! { plain expansion })`, and the one definition below that this build compiled decides.
//!
//! The cfgs are read here, where rseq-dsl is compiled (its `[lints.rust]` declares them),
//! rather than in the crate that calls `rseq!`, which never heard of them; and in the same
//! build as the runtime, whose delay table exists under the same cfg. Set them for a whole
//! build with `RUSTFLAGS` (`scripts/instrumented.sh`); no crate of a build graph can set
//! them for another, as it could a cargo feature. The macro crate's `gate` module says why
//! the choice is made here.

/// No instrumentation: the plain expansion, as is.
#[cfg(not(any(rseq_dsl_delay_injection, rseq_dsl_compare_twice)))]
#[doc(hidden)]
#[macro_export]
macro_rules! __rseq_select {
    ([$($section:tt)*] $plain:tt) => {
        $plain
    };
}

/// `--cfg rseq_dsl_delay_injection`: the section again, with delay loops.
#[cfg(all(rseq_dsl_delay_injection, not(rseq_dsl_compare_twice)))]
#[doc(hidden)]
#[macro_export]
macro_rules! __rseq_select {
    ([$($section:tt)*] $plain:tt) => {
        $crate::__rseq_instrumented!([delays] $($section)*)
    };
}

/// `--cfg rseq_dsl_compare_twice`: the section again, with the re-checks before the commit.
#[cfg(all(not(rseq_dsl_delay_injection), rseq_dsl_compare_twice))]
#[doc(hidden)]
#[macro_export]
macro_rules! __rseq_select {
    ([$($section:tt)*] $plain:tt) => {
        $crate::__rseq_instrumented!([compare_twice] $($section)*)
    };
}

/// Both cfgs: the section again, with both.
#[cfg(all(rseq_dsl_delay_injection, rseq_dsl_compare_twice))]
#[doc(hidden)]
#[macro_export]
macro_rules! __rseq_select {
    ([$($section:tt)*] $plain:tt) => {
        $crate::__rseq_instrumented!([delays compare_twice] $($section)*)
    };
}
