//! Linux (and Android): `sched_getcpu`, and the possible-CPU list from `/sys`.

/// The calling thread's CPU from `getcpu` (a vDSO call on most architectures).
pub(crate) fn cpu() -> Option<usize> {
    // SAFETY: sched_getcpu has no preconditions.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

/// One past the highest possible CPU: `/sys/devices/system/cpu/possible`, or where that
/// cannot be read, the highest allowed CPU and the configured count.
pub(crate) fn possible_cpus() -> usize {
    read_possible_list().unwrap_or_else(fallback_bound)
}

/// Where `/sys` cannot be read (a sandbox, a container without it): CPU numbers can be
/// sparse, so a CPU *count* is not a bound. Take the highest CPU the thread may run on,
/// plus one, and never less than the configured count.
fn fallback_bound() -> usize {
    // SAFETY: sysconf has no preconditions.
    let configured = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    // SAFETY: cpu_set_t is plain data (all zeroes is the empty set); the call gets its size.
    let allowed = unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        let size = core::mem::size_of::<libc::cpu_set_t>();
        (libc::sched_getaffinity(0, size, &mut set) == 0).then_some(set)
    };
    let highest_allowed = allowed.and_then(|set| {
        // SAFETY: CPU_ISSET reads the set within its CPU_SETSIZE bits.
        (0..libc::CPU_SETSIZE as usize)
            .rev()
            .find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
    });
    bound_from(usize::try_from(configured).ok(), highest_allowed)
}

/// One past the highest known CPU number, at least the configured count, at least 1.
fn bound_from(configured: Option<usize>, highest_allowed: Option<usize>) -> usize {
    let by_id = highest_allowed.map_or(0, |cpu| cpu + 1);
    by_id.max(configured.unwrap_or(0)).max(1)
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
        if n < 0 && std::io::Error::last_os_error().raw_os_error().unwrap_or(0) == libc::EINTR {
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
///
/// Ranges and single CPUs may be mixed and sparse (`0,2,4-7`); the highest number decides,
/// not how many there are. Anything malformed is `None`, so the caller falls back.
fn parse_cpu_list_bound(list: &str) -> Option<usize> {
    let mut bound = None;
    for part in list
        .trim()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let first: usize = first.trim().parse().ok()?;
        let last: usize = last.trim().parse().ok()?;
        if last < first {
            return None;
        }
        bound = Some(bound.unwrap_or(0).max(last.checked_add(1)?));
    }
    bound
}

#[cfg(test)]
mod tests {
    use super::{bound_from, parse_cpu_list_bound};

    #[test]
    fn cpu_lists_parse_to_one_past_the_highest_cpu() {
        assert_eq!(parse_cpu_list_bound("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list_bound("0"), Some(1));
        assert_eq!(parse_cpu_list_bound("0-3,8-11"), Some(12));
        assert_eq!(parse_cpu_list_bound("0,5"), Some(6));
        assert_eq!(parse_cpu_list_bound(""), None);
        assert_eq!(parse_cpu_list_bound("x-y"), None);
    }

    /// Sparse lists: the bound is the highest id + 1, never the number of CPUs listed.
    #[test]
    fn sparse_cpu_lists_bound_by_the_highest_id() {
        assert_eq!(parse_cpu_list_bound("0,2,4,6\n"), Some(7));
        assert_eq!(parse_cpu_list_bound("0-1,64-127\n"), Some(128));
        assert_eq!(parse_cpu_list_bound("8-11,0-3"), Some(12));
        assert_eq!(parse_cpu_list_bound("3"), Some(4));
        assert_eq!(parse_cpu_list_bound("0-3, 6"), Some(7));
        assert_eq!(parse_cpu_list_bound("0-4095"), Some(4096));
        // Malformed: fall back rather than guess.
        assert_eq!(parse_cpu_list_bound("3-1"), None);
        assert_eq!(parse_cpu_list_bound("0-"), None);
        assert_eq!(parse_cpu_list_bound("-3"), None);
        assert_eq!(parse_cpu_list_bound("0-1-2"), None);
        assert_eq!(parse_cpu_list_bound("18446744073709551615"), None);
    }

    /// Without the list: two CPUs allowed, numbered 0 and 5, are a bound of 6, not 2.
    #[test]
    fn the_fallback_bound_is_the_highest_allowed_id_plus_one() {
        assert_eq!(bound_from(Some(2), Some(5)), 6);
        assert_eq!(bound_from(Some(8), Some(3)), 8);
        assert_eq!(bound_from(None, Some(0)), 1);
        assert_eq!(bound_from(None, None), 1);
        assert!(super::fallback_bound() >= 1);
    }
}
