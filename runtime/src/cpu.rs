//! Reads of the CPU number, concurrency id and NUMA node, and the bound for per-CPU arrays.

use core::cell::Cell;
use core::ptr;

use crate::abi::{RseqArea, MM_CID_OFFSET, NODE_ID_OFFSET};
use crate::once::OnceWord;
use crate::registration::{area, area_or_unregistered, feature_size};

/// The CPU the calling thread runs on (it may migrate right after the read).
///
/// One thread-local load of the area's `cpu_id` once the thread is registered; where rseq
/// is unavailable, the operating system's answer: `sched_getcpu()` on Linux and FreeBSD,
/// `GetCurrentProcessorNumberEx` on Windows. Where the system has no such call (macOS,
/// among others) it is a stable per-thread shard index below [`possible_cpus`], spread
/// round-robin over the threads: **not a CPU number**, but what per-CPU arrays need there
/// (threads spread over the slots, each staying on its own).
///
/// ```
/// let cpu = rseq_dsl_runtime::current_cpu();
/// assert!(cpu < rseq_dsl_runtime::possible_cpus());
/// ```
#[inline]
pub fn current_cpu() -> usize {
    let area = area_or_unregistered();
    // SAFETY: a registered area stays valid while the thread runs, and the placeholder for
    // "no area" is a static; volatile because the kernel rewrites cpu_id behind the
    // compiler's back. The placeholder reads -1, so one sign check covers both cases.
    let cpu = unsafe { ptr::addr_of!((*area).cpu_id).read_volatile() } as i32;
    if cpu >= 0 {
        return cpu as usize;
    }
    current_cpu_slow()
}

#[cold]
#[inline(never)]
fn current_cpu_slow() -> usize {
    if let Ok(area) = area() {
        // SAFETY: as in current_cpu.
        let cpu = unsafe { ptr::addr_of!((*area.as_ptr()).cpu_id).read_volatile() } as i32;
        if cpu >= 0 {
            return cpu as usize;
        }
    }
    os_cpu_fallback()
}

/// The operating system's answer, kept below [`possible_cpus`] (a system that refuses to
/// say gets CPU 0: a valid index for every per-CPU array, and the answer is only a hint).
pub(crate) fn os_cpu_fallback() -> usize {
    crate::os::cpu().map_or(0, |cpu| cpu.min(possible_cpus() - 1))
}

/// How many calls of [`cpu_hint`] reuse one answer of the operating system.
const HINT_REUSE: u32 = 64;

/// The operating system's CPU for the calling thread, asked once every [`HINT_REUSE`]
/// calls: for fallback paths, where any slot is correct and the slot only spreads threads
/// over cache lines. Asking every time (a vDSO call on Linux, 6 of the 8 ns a fallback add
/// cost on x86_64) would make the fallback slower than the one shared atomic it replaces;
/// a thread that migrates keeps its old slot for at most that many calls.
#[inline]
pub(crate) fn cpu_hint() -> usize {
    thread_local! {
        // (cpu, calls left before asking again); no destructor, usable at any point.
        static HINT: Cell<(u32, u32)> = const { Cell::new((0, 0)) };
    }
    HINT.try_with(|hint| {
        let (cpu, left) = hint.get();
        if left > 0 {
            hint.set((cpu, left - 1));
            return cpu as usize;
        }
        let cpu = os_cpu_fallback();
        hint.set((cpu as u32, HINT_REUSE - 1));
        cpu
    })
    .unwrap_or_else(|_| os_cpu_fallback())
}

fn read_u32_field(area: *mut RseqArea, offset: usize) -> u32 {
    // SAFETY: offset is a field offset inside the 32-byte area, checked in abi.rs.
    unsafe {
        (area as *const u8)
            .add(offset)
            .cast::<u32>()
            .read_volatile()
    }
}

/// The calling thread's memory-map concurrency id: a compact index below
/// min(threads, allowed CPUs), good for arrays smaller than the CPU count.
///
/// `None` where rseq is unavailable or the kernel predates mm_cid (Linux 6.3).
///
/// ```
/// if let Some(cid) = rseq_dsl_runtime::mm_cid() {
///     assert!(cid < rseq_dsl_runtime::possible_cpus());
/// }
/// ```
pub fn mm_cid() -> Option<usize> {
    if feature_size() < (MM_CID_OFFSET + 4) as u32 {
        return None;
    }
    area()
        .ok()
        .map(|a| read_u32_field(a.as_ptr(), MM_CID_OFFSET) as usize)
}

/// The NUMA node of the CPU the thread runs on; `None` where rseq is unavailable or the
/// kernel predates `node_id` (Linux 6.3).
///
/// ```
/// if let Some(node) = rseq_dsl_runtime::node_id() {
///     assert!(node < 1024);
/// }
/// ```
pub fn node_id() -> Option<usize> {
    if feature_size() < (NODE_ID_OFFSET + 4) as u32 {
        return None;
    }
    area()
        .ok()
        .map(|a| read_u32_field(a.as_ptr(), NODE_ID_OFFSET) as usize)
}

/// The number of possible CPUs: every CPU number the kernel may ever report is below it,
/// so it bounds per-CPU arrays (CPUs that come online later included). On Windows, the
/// processors of every processor group; where [`current_cpu`] is a shard index, the number
/// of shards (the processors the system reports).
///
/// ```
/// assert!(rseq_dsl_runtime::possible_cpus() >= 1);
/// ```
pub fn possible_cpus() -> usize {
    // Computed without allocating or locking (open, read, parse on the stack), so that a
    // first use in a forked child or a signal handler cannot block; the file is the same
    // for every thread, so racing first uses agree.
    static POSSIBLE: OnceWord<usize> = OnceWord::new();
    POSSIBLE.get_or_compute(|| crate::os::possible_cpus().max(1))
}
