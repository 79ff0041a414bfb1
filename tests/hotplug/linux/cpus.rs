//! CPU lists, sysfs and affinity, and the per-CPU hit counts the scenarios compare.

use super::*;

// -----------------------------------------------------------------------------------
// CPU lists, sysfs and affinity
// -----------------------------------------------------------------------------------

/// "0-3,5,7-8" -> [0, 1, 2, 3, 5, 7, 8].
pub(super) fn parse_list(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

pub(super) fn show_list(cpus: &[usize]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    if out.is_empty() {
        "(none)".into()
    } else {
        out.join(",")
    }
}

pub(super) fn list(name: &str) -> Vec<usize> {
    let text = std::fs::read_to_string(format!("{SYS_CPU}/{name}"))
        .unwrap_or_else(|e| panic!("{SYS_CPU}/{name}: {e}"));
    parse_list(&text)
}

pub(super) fn online() -> Vec<usize> {
    list("online")
}

pub(super) fn online_file(cpu: usize) -> String {
    format!("{SYS_CPU}/cpu{cpu}/online")
}

/// Whether `cpu` can be taken offline and back by this process.
pub(super) fn hotpluggable(cpu: usize) -> bool {
    let path = std::ffi::CString::new(online_file(cpu)).unwrap();
    // SAFETY: a NUL-terminated path; access reads nothing else.
    unsafe { libc::access(path.as_ptr(), libc::W_OK) == 0 }
}

/// CPUs this process took offline, and brought online, for `restore`.
pub(super) static OFFLINED: Mutex<Vec<usize>> = Mutex::new(Vec::new());
pub(super) static ONLINED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

pub(super) fn set_online(cpu: usize, on: bool) {
    let (mine, undo) = if on {
        (&ONLINED, &OFFLINED)
    } else {
        (&OFFLINED, &ONLINED)
    };
    let mut undo = undo.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = undo.iter().position(|&c| c == cpu) {
        undo.remove(i); // back as it was
    } else {
        mine.lock().unwrap_or_else(|e| e.into_inner()).push(cpu);
    }
    drop(undo);
    std::fs::write(online_file(cpu), if on { "1" } else { "0" })
        .unwrap_or_else(|e| panic!("cpu{cpu} {}: {e}", if on { "online" } else { "offline" }));
    ensure!(
        online().contains(&cpu) == on,
        "cpu{cpu}: the online list {} after writing {}",
        show_list(&online()),
        on as u8
    );
}

/// Brings every CPU this process took offline back online, takes those it brought
/// online offline again, and sets the calling thread's affinity back to every possible
/// CPU; reports what it could not.
pub(super) fn restore() -> Result<(), String> {
    let offlined = std::mem::take(&mut *OFFLINED.lock().unwrap_or_else(|e| e.into_inner()));
    let onlined = std::mem::take(&mut *ONLINED.lock().unwrap_or_else(|e| e.into_inner()));
    let mut errors = Vec::new();
    for (cpus, on) in [(offlined, true), (onlined, false)] {
        for cpu in cpus {
            if online().contains(&cpu) != on {
                if let Err(e) = std::fs::write(online_file(cpu), if on { "1" } else { "0" }) {
                    let what = if on { "online" } else { "offline" };
                    errors.push(format!("cpu{cpu} {what}: {e}"));
                }
            }
        }
    }
    if let Err(e) = set_affinity(0, &list("possible")) {
        errors.push(format!("affinity: {e}"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "could not bring back online: {}",
            errors.join(", ")
        ))
    }
}

pub(super) fn set_affinity(pid: libc::pid_t, cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data, all zeroes the empty set; CPU_SET stays within
    // it for CPU numbers below CPU_SETSIZE (checked).
    let rc = unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        for &cpu in cpus {
            assert!(cpu < libc::CPU_SETSIZE as usize);
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(pid, core::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub(super) fn affinity() -> Vec<usize> {
    // SAFETY: as in set_affinity; CPU_ISSET reads within the set.
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        let rc = libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set);
        assert_eq!(
            rc,
            0,
            "sched_getaffinity: {}",
            std::io::Error::last_os_error()
        );
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Pins the calling thread to `cpu` and checks that it runs there.
pub(super) fn pin(cpu: usize) {
    set_affinity(0, &[cpu]).unwrap_or_else(|e| panic!("pin to cpu{cpu}: {e}"));
    ensure!(
        os_cpu() == cpu,
        "pinned to cpu{cpu}, yet on cpu{}",
        os_cpu()
    );
}

pub(super) fn os_cpu() -> usize {
    // SAFETY: no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).expect("sched_getcpu")
}

// -----------------------------------------------------------------------------------
// Sections
// -----------------------------------------------------------------------------------

/// Slot `index` += 1 with a plain load and store, indexed by CPU: the index it ran for.
pub(super) fn bump_cpu(hits: &PerCpu<AtomicU64>) -> usize {
    // SAFETY: the slot is the running CPU's (get_raw checks the bound), only written by
    // sections on that CPU; the aligned store is single-copy atomic for the readers'
    // atomic loads.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = hits.get_raw(cpu) as *mut u64;
            let v: u64 = *slot;
            commit *slot = v + 1;
        })
    };
    match out {
        Ok(Outcome::Committed { index, .. }) => index,
        other => panic!("a cpu section: {other:?}"),
    }
}

/// Slot `cid` += 1 with a plain load and store, indexed by the concurrency id.
pub(super) fn bump_cid(hits: &PerCpu<AtomicU64>) -> usize {
    // SAFETY: mm_cid is below possible_cpus(), the slots' count (get_raw checks it); a
    // concurrency id belongs to one running thread at a time, and the section commits
    // only while it holds it.
    let out = unsafe {
        rseq!(mm_cid, |cid| {
            in slot: *mut u64 = hits.get_raw(cid) as *mut u64;
            let v: u64 = *slot;
            commit *slot = v + 1;
        })
    };
    match out {
        Ok(Outcome::Committed { index, .. }) => index,
        other => panic!("an mm_cid section: {other:?}"),
    }
}

pub(super) fn zeroes() -> PerCpu<AtomicU64> {
    PerCpu::new(|_| AtomicU64::new(0))
}

pub(super) fn values(hits: &PerCpu<AtomicU64>) -> Vec<u64> {
    hits.iter().map(|h| h.load(Ordering::Relaxed)).collect()
}

pub(super) fn nonzero(values: &[u64]) -> Vec<usize> {
    (0..values.len()).filter(|&i| values[i] != 0).collect()
}

// -----------------------------------------------------------------------------------
// Scenarios without hot-plug
// -----------------------------------------------------------------------------------
