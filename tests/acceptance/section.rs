//! `section!`: a section dispatched on its mode (index, commit ordering) at run time, and
//! what a scenario accepts as its outcome.

use rseq_dsl::{Outcome, Unavailable};

/// Runs a section indexed as `$index` says; with `$commit`, the body is written as
/// `{ statements } commit { *place = value; [yielded] }` and committed with that ordering.
macro_rules! section {
    ($index:expr, |$i:ident| $body:tt) => {
        match $index {
            $crate::modes::Index::CpuId => ::rseq_dsl::rseq!(|$i| $body),
            $crate::modes::Index::MmCid => ::rseq_dsl::rseq!(mm_cid, |$i| $body),
        }
    };
    ($index:expr, $commit:expr, |$i:ident| { $($pre:tt)* } commit { $($post:tt)* }) => {
        match $commit {
            $crate::modes::Commit::Relaxed => section!($index, |$i| { $($pre)* commit(relaxed) $($post)* }),
            $crate::modes::Commit::Release => section!($index, |$i| { $($pre)* commit(release) $($post)* }),
        }
    };
}

pub(crate) type Section<T, E = ()> = Result<Outcome<T, E>, Unavailable>;

/// The value of a committed section; anything else is a failure of the scenario.
pub(crate) fn committed<T, E: std::fmt::Debug>(out: Section<T, E>, what: &str) -> T {
    match out {
        Ok(Outcome::Committed { value, .. }) => value,
        Ok(Outcome::Exited { value, .. }) => panic!("{what}: unexpected exit ({value:?})"),
        Ok(Outcome::Aborted) => panic!("{what}: aborted without no_retry"),
        Err(e) => panic!("{what}: {e}"),
    }
}

/// `Some(value)` if committed, `None` if it left through its exit.
pub(crate) fn committed_or_exited<T, E>(out: Section<T, E>, what: &str) -> Option<(usize, T)> {
    match out {
        Ok(Outcome::Committed { index, value }) => Some((index, value)),
        Ok(Outcome::Exited { .. }) => None,
        Ok(Outcome::Aborted) => panic!("{what}: aborted without no_retry"),
        Err(e) => panic!("{what}: {e}"),
    }
}
