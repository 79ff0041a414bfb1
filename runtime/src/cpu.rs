//! Reads of the CPU number, concurrency id and NUMA node, and the bound for per-CPU arrays.

use core::ptr;

use crate::abi::{RseqArea, MM_CID_OFFSET, NODE_ID_OFFSET};
use crate::once::OnceWord;
use crate::registration::{area, area_or_unregistered, feature_size};

/// The CPU the calling thread runs on (it may migrate right after the read).
///
/// One thread-local load of the area's `cpu_id` once the thread is registered; where rseq
/// is unavailable, `sched_getcpu()`.
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
    sched_getcpu_fallback()
}

fn sched_getcpu_fallback() -> usize {
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    if cpu >= 0 {
        return cpu as usize;
    }
    // getcpu cannot fail on Linux for the calling thread; if a sandbox refuses it anyway,
    // CPU 0 is a valid index for every per-CPU array (the answer is only ever a hint).
    0
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
/// so it bounds per-CPU arrays (CPUs that come online later included).
///
/// ```
/// assert!(rseq_dsl_runtime::possible_cpus() >= 1);
/// ```
pub fn possible_cpus() -> usize {
    // Computed without allocating or locking (open, read, parse on the stack), so that a
    // first use in a forked child or a signal handler cannot block; the file is the same
    // for every thread, so racing first uses agree.
    static POSSIBLE: OnceWord<usize> = OnceWord::new();
    POSSIBLE.get_or_compute(|| {
        read_possible_list().unwrap_or_else(|| {
            // SAFETY: sysconf has no preconditions.
            let configured = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
            configured.max(1) as usize
        })
    })
}

/// The bound from `/sys/devices/system/cpu/possible`, read with plain system calls.
fn read_possible_list() -> Option<usize> {
    // The list is short ("0-4095" at most a few ranges); a longer one is cut and falls back.
    let mut buf = [0u8; 256];
    // SAFETY: a NUL-terminated path and no pointer kept.
    let fd = unsafe {
        libc::open(
            c"/sys/devices/system/cpu/possible".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    let mut len = 0;
    while len < buf.len() {
        // SAFETY: reads into the unused tail of `buf`, within its bounds.
        let n = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
        if n < 0 && crate::error::last_errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            break;
        }
        len += n as usize;
    }
    // SAFETY: closes the descriptor opened above, once.
    unsafe { libc::close(fd) };
    if len == buf.len() {
        return None;
    }
    parse_cpu_list_bound(core::str::from_utf8(&buf[..len]).ok()?)
}

/// One past the highest CPU number in a kernel CPU list such as `0-3,8-11`.
fn parse_cpu_list_bound(list: &str) -> Option<usize> {
    let mut bound = None;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let last = part.rsplit('-').next()?;
        let last: usize = last.trim().parse().ok()?;
        bound = Some(bound.unwrap_or(0).max(last + 1));
    }
    bound
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list_bound;

    #[test]
    fn cpu_lists_parse_to_one_past_the_highest_cpu() {
        assert_eq!(parse_cpu_list_bound("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list_bound("0"), Some(1));
        assert_eq!(parse_cpu_list_bound("0-3,8-11"), Some(12));
        assert_eq!(parse_cpu_list_bound("0,5"), Some(6));
        assert_eq!(parse_cpu_list_bound(""), None);
        assert_eq!(parse_cpu_list_bound("x-y"), None);
    }
}
