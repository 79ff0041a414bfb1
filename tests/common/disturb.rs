//! What moves the workers around during a stress run: injected delays and migrations.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::allowed_cpus;

/// Moves an injected delay from point to point of every section (point 0: no delay), so
/// that each stretch of the sequence gets its turn at being interrupted.
pub(super) struct Injector {
    loops: u32,
    point: usize,
    since: Instant,
}

impl Injector {
    const PERIOD: Duration = Duration::from_millis(10);

    pub(super) fn new(loops: u32) -> Injector {
        Injector {
            loops,
            point: 0,
            since: Instant::now(),
        }
    }

    #[cfg(rseq_dsl_delay_injection)]
    pub(super) fn rotate(&mut self) {
        use rseq_dsl::inject;
        if self.loops == 0 || self.since.elapsed() < Self::PERIOD {
            return;
        }
        self.since = Instant::now();
        self.point = (self.point + 1) % (inject::POINTS + 1);
        inject::clear_delays();
        inject::set_delay(self.point, self.loops);
    }

    #[cfg(rseq_dsl_delay_injection)]
    pub(super) fn stop(&mut self) {
        rseq_dsl::inject::clear_delays();
    }

    #[cfg(not(rseq_dsl_delay_injection))]
    pub(super) fn rotate(&mut self) {
        let _ = (self.loops, self.point, self.since);
    }

    #[cfg(not(rseq_dsl_delay_injection))]
    pub(super) fn stop(&mut self) {}
}

/// Pins every worker to one CPU, a different one each period, so that each gets migrated,
/// possibly between its read of the CPU number and the section's check of it.
pub(super) struct Migrator {
    cpus: Vec<usize>,
    round: usize,
    since: Instant,
    pub(super) moves: u64,
}

impl Migrator {
    const PERIOD: Duration = Duration::from_millis(1);

    pub(super) fn new(enabled: bool) -> Migrator {
        Migrator {
            cpus: if enabled { allowed_cpus() } else { Vec::new() },
            round: 0,
            since: Instant::now(),
            moves: 0,
        }
    }

    pub(super) fn rotate(&mut self, tids: &[AtomicI32]) {
        if self.cpus.len() < 2 || self.since.elapsed() < Self::PERIOD {
            return;
        }
        self.since = Instant::now();
        self.round += 1;
        for (i, tid) in tids.iter().enumerate() {
            let tid = tid.load(Ordering::Acquire);
            if tid == 0 {
                continue;
            }
            let cpu = self.cpus[(i + self.round) % self.cpus.len()];
            // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            // SAFETY: cpu came from sched_getaffinity, so it is below CPU_SETSIZE.
            unsafe { libc::CPU_SET(cpu, &mut set) };
            // SAFETY: tid is a live thread of this process (see the barrier); the set is ours.
            if unsafe { libc::sched_setaffinity(tid, std::mem::size_of_val(&set), &set) } == 0 {
                self.moves += 1;
            }
        }
    }
}
