//! FreeBSD and DragonFly: `sched_getcpu`, and CPU ids bounded by `kern.smp.maxid`.

/// The calling thread's CPU from `sched_getcpu` (FreeBSD 13+).
pub(crate) fn cpu() -> Option<usize> {
    // SAFETY: sched_getcpu has no preconditions.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

/// One past the highest CPU id the kernel may use: `kern.smp.maxid + 1` (ids can be sparse,
/// so a count is not a bound), or the configured count where the sysctl is missing.
pub(crate) fn possible_cpus() -> usize {
    let mut maxid: libc::c_int = -1;
    let mut len = core::mem::size_of::<libc::c_int>();
    // SAFETY: a NUL-terminated name, an int-sized output buffer and its length.
    let rc = unsafe {
        libc::sysctlbyname(
            c"kern.smp.maxid".as_ptr(),
            (&mut maxid as *mut libc::c_int).cast(),
            &mut len,
            core::ptr::null(),
            0,
        )
    };
    // SAFETY: sysconf has no preconditions.
    let configured = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    let by_id = if rc == 0 {
        usize::try_from(maxid).map_or(0, |id| id + 1)
    } else {
        0
    };
    by_id.max(usize::try_from(configured).unwrap_or(1)).max(1)
}
