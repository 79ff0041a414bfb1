//! The matrix: every data structure with the modes that apply to it, and librseq's
//! "percpu ops" crowds of 200 threads.

use crate::{
    buffer::*, increment::*, list::*, membarrier::*, modes::*, records::*, runner::*, spinlock::*,
};

/// The data structures, each with the modes that apply to it.
pub(crate) fn matrix() -> Vec<Scenario> {
    type Ds = fn(&Size, Mode) -> Result<Report, String>;
    // (name, function, whether its sections store before the commit)
    let structures: [(&str, Ds, bool); 5] = [
        ("increment", increment, false),
        ("spinlock", spinlock, false),
        ("list", list, true),
        ("buffer", buffer, true),
        ("records", records, true),
    ];
    let mut all = Vec::new();
    for (name, run, has_stores) in structures {
        for index in Index::ALL {
            let commits: &[Commit] = if has_stores {
                &Commit::ALL
            } else {
                &[Commit::Relaxed]
            };
            for &commit in commits {
                for disturb in Disturb::all(has_stores) {
                    let mode = Mode {
                        index,
                        commit,
                        disturb,
                    };
                    let label = if has_stores {
                        format!(
                            "{name} {} {} {}",
                            index.name(),
                            commit.name(),
                            disturb.name()
                        )
                    } else {
                        format!("{name} {} {}", index.name(), disturb.name())
                    };
                    all.push(scenario(label, mode, move |size| run(size, mode)));
                }
            }
        }
    }
    for index in Index::ALL {
        for kind in [FenceKind::All, FenceKind::EachCpu] {
            for disturb in Disturb::all(false) {
                let mode = Mode {
                    index,
                    commit: Commit::Relaxed,
                    disturb,
                };
                let fence = match kind {
                    FenceKind::All => "fence_all",
                    FenceKind::EachCpu => "fence_cpu",
                };
                let label = format!("membarrier {} {fence} {}", index.name(), disturb.name());
                all.push(scenario(label, mode, move |size| {
                    membarrier(size, mode, kind)
                }));
            }
        }
    }
    // librseq's "percpu ops" tests: 200 threads on the spinlock, and on the list with a
    // yield between pop and push.
    let crowd = |size: &Size| Size {
        threads: CROWD,
        reps: size.crowd_reps,
        ..*size
    };
    let mode = |disturb| Mode {
        index: Index::CpuId,
        commit: Commit::Relaxed,
        disturb,
    };
    let (lock_mode, list_mode) = (mode(Disturb::Plain), mode(Disturb::Yield(1)));
    all.push(scenario(
        format!("spinlock cpu_id {CROWD} threads"),
        lock_mode,
        move |size| spinlock(&crowd(size), lock_mode),
    ));
    all.push(scenario(
        format!("list cpu_id {CROWD} threads yield/1"),
        list_mode,
        move |size| list(&crowd(size), list_mode),
    ));
    all
}

/// Threads of librseq's percpu-ops tests.
pub(crate) const CROWD: usize = 200;
