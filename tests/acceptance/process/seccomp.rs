//! A child where seccomp makes `rseq` fail with ENOSYS: every section is refused, nothing
//! is half-done.

use std::process::ExitCode;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use crate::{buffer::*, increment::*, list::*, membarrier::*, memory::*, process::*};
use rseq_dsl::{Reason, Unavailable};

/// A child whose `rseq` system call fails with ENOSYS from exec on (glibc too starts
/// without rseq): every section must return Unavailable and leave memory untouched.
pub(crate) fn seccomp(size: &Size) -> Result<Report, String> {
    let (text, success) = rerun_self("seccomp", size, |cmd| {
        crate::seccomp::refuse_rseq_with_enosys(cmd, rseq_dsl::abi::SYS_RSEQ)
    })?;
    print_child(&text);
    ensure(success, || "the child failed (output above)".into())?;
    let refused = text
        .lines()
        .find_map(|l| l.strip_prefix("refused: "))
        .and_then(|n| n.split(' ').next()?.parse().ok())
        .ok_or("the child did not report its checks")?;
    ensure(rseq_dsl::is_available(), || {
        "the filter leaked into the parent".into()
    })?;
    Ok(Report {
        ops: refused,
        aborts: 0,
        note: "sections refused, state intact".into(),
    })
}

/// In the seccomp child, on one thread: every section is refused, nothing is half-done.
pub(crate) fn refused_everywhere(who: &str) -> Result<u64, String> {
    let not_implemented = |what: &str, e: Option<Unavailable>| -> Result<(), String> {
        match e {
            Some(e) if e.reason() == Reason::NotImplemented => Ok(()),
            Some(e) => Err(format!("{who}: {what}: {e}, expected ENOSYS")),
            None => Err(format!("{who}: {what}: ran, though rseq returns ENOSYS")),
        }
    };
    not_implemented("registration()", rseq_dsl::registration().err())?;
    ensure(!rseq_dsl::is_available(), || {
        format!("{who}: is_available()")
    })?;
    ensure(rseq_dsl::mm_cid().is_none(), || {
        format!("{who}: mm_cid() is Some")
    })?;
    ensure(rseq_dsl::current_cpu() < rseq_dsl::possible_cpus(), || {
        format!("{who}: current_cpu()")
    })?;
    let mut refused = 0;
    for index in Index::ALL {
        for commit in Commit::ALL {
            let counters = PerCpu::new();
            not_implemented("increment", increment_section(index, &counters).err())?;
            not_implemented("lock", lock_section(index, &counters).err())?;
            ensure(counters.sum() == 0, || {
                format!("{who}: {:?} changed", counters.values())
            })?;

            let nodes = new_nodes(2);
            let heads = PerCpu::new();
            let first = nodes_base(&nodes);
            heads.word(0).store(first as u64, Ordering::Relaxed);
            not_implemented("list pop", list_pop_section(index, &heads).err())?;
            // SAFETY: nodes has 2 elements.
            let second = unsafe { first.add(1) };
            not_implemented(
                "list push",
                list_push_section(index, commit, &heads, second).err(),
            )?;
            ensure(
                heads.word(0).load(Ordering::Relaxed) == first as u64,
                || format!("{who}: list head moved"),
            )?;
            ensure(
                nodes
                    .iter()
                    .all(|n| n.next.load(Ordering::Relaxed).is_null()),
                || format!("{who}: a node's next was written"),
            )?;

            let buf = PtrBuffer {
                lens: PerCpu::new(),
                slots: (0..rseq_dsl::possible_cpus() * 2)
                    .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                    .collect(),
                cap: 2,
            };
            not_implemented(
                "buffer push",
                buffer_push_section(index, commit, &buf, first).err(),
            )?;
            not_implemented("buffer pop", buffer_pop_section(index, &buf).err())?;
            ensure(buf.lens.sum() == 0, || {
                format!("{who}: buffer length changed")
            })?;
            ensure(
                buf.slots
                    .iter()
                    .all(|s| s.load(Ordering::Relaxed).is_null()),
                || format!("{who}: a buffer slot was written"),
            )?;

            let recs = RecordBuffer {
                lens: PerCpu::new(),
                words: (0..rseq_dsl::possible_cpus() * 4)
                    .map(|_| AtomicU64::new(7))
                    .collect(),
                cap: 2,
            };
            recs.lens.word(0).store(1, Ordering::Relaxed);
            let mut out = [1u64, 2];
            not_implemented(
                "record push",
                record_push_section(index, commit, &recs, &[5, 6]).err(),
            )?;
            not_implemented(
                "record pop",
                record_pop_section(index, &recs, &mut out).err(),
            )?;
            ensure(out == [1, 2], || {
                format!("{who}: the record copy-out wrote {out:?}")
            })?;
            ensure(
                recs.words.iter().all(|w| w.load(Ordering::Relaxed) == 7),
                || format!("{who}: a record slot was written"),
            )?;
            ensure(recs.lens.values()[0] == 1, || {
                format!("{who}: a record length changed")
            })?;

            let lists = [PerCpu::new(), PerCpu::new()];
            let active = AtomicPtr::new(lists[0].base());
            not_implemented(
                "membarrier add",
                membarrier_add_section(index, &active).err(),
            )?;
            ensure(lists[0].sum() + lists[1].sum() == 0, || {
                format!("{who}: a list changed")
            })?;
            refused += 10;
        }
    }
    // The fence may or may not work without rseq; it must answer without crashing.
    let _ = rseq_dsl::fence_all();
    Ok(refused)
}

pub(crate) fn seccomp_child() -> ExitCode {
    let main = refused_everywhere("main thread");
    let spawned = std::thread::spawn(|| refused_everywhere("spawned thread"))
        .join()
        .unwrap_or_else(|_| Err("spawned thread panicked".into()));
    match (main, spawned) {
        (Ok(a), Ok(b)) => {
            println!("refused: {} sections on 2 threads, all returned Unavailable(ENOSYS), memory untouched", a + b);
            ExitCode::SUCCESS
        }
        (Err(e), _) | (_, Err(e)) => {
            println!("FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
