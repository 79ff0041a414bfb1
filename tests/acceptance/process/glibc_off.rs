//! The suite again in a child whose glibc does not register rseq (the crate's own areas).

use crate::{memory::*, process::*};

/// The suite again, in a child whose glibc does not register rseq: the crate's own
/// registration serves every thread.
pub(crate) fn glibc_off(size: &Size) -> Result<Report, String> {
    // Always the quick size: the full size in the child would double a long run.
    let quick = Size::quick(size.threads);
    let (text, success) = rerun_self("glibc-off", &quick, |cmd| {
        cmd.env("GLIBC_TUNABLES", "glibc.pthread.rseq=0");
    })?;
    print_child(&text);
    ensure(success, || "the child failed (output above)".into())?;
    let totals = text
        .lines()
        .find_map(|l| l.strip_prefix(TOTALS))
        .ok_or("the child printed no totals")?;
    let mut numbers = totals.split(' ').filter_map(|w| w.parse::<u64>().ok());
    Ok(Report {
        ops: numbers.next().unwrap_or(0),
        aborts: numbers.next().unwrap_or(0),
        note: "own registration".into(),
    })
}
