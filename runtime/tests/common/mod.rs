//! Helpers shared by the integration tests: CPU affinity, glibc's registration symbols,
//! raw rseq calls and re-executing the test binary in a child process.
#![allow(dead_code)] // each test binary uses a different subset

use std::process::{Command, Output};

use rseq_dsl_runtime::abi;

#[path = "../support/affinity.rs"]
mod affinity;
#[allow(unused_imports)] // each test binary uses a different subset
pub use affinity::{allowed_cpus, pin_to};

/// Env var that tells a re-executed test binary which child role it plays.
pub const CHILD_ROLE: &str = "RSEQ_DSL_TEST_CHILD_ROLE";

/// The tunable that stops glibc from registering rseq areas.
pub const NO_GLIBC_RSEQ: &str = "glibc.pthread.rseq=0";

/// Whether this process runs with glibc's rseq registration disabled by the tunable.
pub fn tunable_disables_glibc_rseq() -> bool {
    std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.split(':').any(|kv| kv == NO_GLIBC_RSEQ))
}

/// glibc's `__rseq_size` and `__rseq_offset`, or `None` where this libc does not export them.
pub fn glibc_rseq_symbols() -> Option<(u32, isize)> {
    // SAFETY: dlsym with RTLD_DEFAULT and NUL-terminated names; null means absent.
    let (size, offset) = unsafe {
        (
            libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_size".as_ptr()) as *const u32,
            libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr()) as *const isize,
        )
    };
    if size.is_null() || offset.is_null() {
        return None;
    }
    // SAFETY: glibc defines both as data objects of these types, written before main.
    Some(unsafe { (size.read(), offset.read()) })
}

/// `sched_getcpu()`, asserted to succeed.
pub fn sched_getcpu() -> usize {
    // SAFETY: no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    assert!(
        cpu >= 0,
        "sched_getcpu: {}",
        std::io::Error::last_os_error()
    );
    cpu as usize
}

/// The NUMA node of the calling thread's CPU, from the `getcpu` system call.
pub fn getcpu_node() -> usize {
    let (mut cpu, mut node) = (0u32, 0u32);
    // SAFETY: both pointers are to live u32s; the third argument is unused since 2.6.24.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_getcpu,
            &mut cpu as *mut u32,
            &mut node as *mut u32,
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    assert_eq!(rc, 0, "getcpu: {}", std::io::Error::last_os_error());
    node as usize
}

/// A raw `rseq` system call on `area` with the crate's length and signature: the result, or
/// the errno.
///
/// # Safety
/// Registering (`flags == 0`) makes the kernel write `area` until it is unregistered or
/// the thread exits: the caller must keep it alive that long.
pub unsafe fn raw_rseq(area: *const abi::RseqArea, flags: libc::c_int) -> Result<(), i32> {
    // SAFETY: forwarded to the caller.
    unsafe { raw_rseq_len(area, abi::LEGACY_AREA_LEN, flags) }
}

/// The length `owner`'s area must have been registered with, derived from what the kernel
/// and glibc publish (a re-registration must repeat it: the kernel answers EINVAL, not
/// EBUSY, to another length). glibc registers `max(__rseq_size, 32)` (32 up to glibc 2.40;
/// from 2.41 the kernel's feature size, 33 on 7.x kernels, which selects V2 mode). The
/// runtime's own area is 64 bytes aligned to 64: it registers all of it (V2 mode) where the
/// kernel publishes a feature size above 32 that fits with an alignment it satisfies, and
/// the legacy 32 bytes elsewhere.
pub fn registered_len(owner: rseq_dsl_runtime::Owner) -> u32 {
    // SAFETY: getauxval has no preconditions.
    let (feature_size, align) = unsafe {
        (
            libc::getauxval(abi::AT_RSEQ_FEATURE_SIZE) as u32,
            libc::getauxval(abi::AT_RSEQ_ALIGN) as u32,
        )
    };
    match (owner, glibc_rseq_symbols()) {
        (rseq_dsl_runtime::Owner::Glibc, Some((size, _))) => size.max(abi::LEGACY_AREA_LEN),
        _ if feature_size > 32 && feature_size <= 64 && align <= 64 => 64,
        _ => abi::LEGACY_AREA_LEN,
    }
}

/// As [`raw_rseq`], with the registration length `len`.
///
/// # Safety
/// As [`raw_rseq`].
pub unsafe fn raw_rseq_len(
    area: *const abi::RseqArea,
    len: u32,
    flags: libc::c_int,
) -> Result<(), i32> {
    // SAFETY: forwarded to the caller.
    let rc = unsafe { libc::syscall(abi::SYS_RSEQ, area, len, flags, abi::SIGNATURE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// Re-runs this test binary on the tests that `args` select, with `role` in
/// [`CHILD_ROLE`] and `envs` set, and returns its output.
pub fn rerun_self(role: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    rerun_self_with(role, args, envs, |_| {})
}

/// As [`rerun_self`], letting `configure` add to the command (a `pre_exec`, for example).
pub fn rerun_self_with(
    role: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    configure: impl FnOnce(&mut Command),
) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env(CHILD_ROLE, role)
        .envs(envs.iter().copied());
    configure(&mut cmd);
    let out = cmd.output().expect("re-executing the test binary");
    eprintln!(
        "--- child ({role}) stdout ---\n{}\n--- child ({role}) stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether this process is a re-executed child playing `role`.
pub fn is_child(role: &str) -> bool {
    std::env::var(CHILD_ROLE).is_ok_and(|r| r == role)
}

/// The owner the calling process should see: glibc when it registered threads
/// (`__rseq_size > 0`), this crate when the tunable (or an older libc) left it to us.
pub fn expected_owner() -> rseq_dsl_runtime::Owner {
    let glibc = glibc_rseq_symbols();
    if tunable_disables_glibc_rseq() {
        if let Some((size, _)) = glibc {
            assert_eq!(
                size, 0,
                "GLIBC_TUNABLES={NO_GLIBC_RSEQ} but __rseq_size > 0"
            );
        }
        return rseq_dsl_runtime::Owner::Own;
    }
    match glibc {
        Some((size, _)) if size > 0 => rseq_dsl_runtime::Owner::Glibc,
        _ => rseq_dsl_runtime::Owner::Own,
    }
}

/// Checks everything a successful registration of the calling thread promises, and that the
/// kernel really has that area registered for this thread.
pub fn check_registration(r: &rseq_dsl_runtime::Registration) {
    use rseq_dsl_runtime::Owner;

    assert_eq!(r.owner, expected_owner());
    // SAFETY: getauxval has no preconditions.
    let auxv = unsafe { libc::getauxval(abi::AT_RSEQ_FEATURE_SIZE) } as u32;
    assert_eq!(r.feature_size, auxv.max(abi::ORIGINAL_FEATURE_SIZE));
    // SAFETY: getauxval has no preconditions.
    let align = unsafe { libc::getauxval(abi::AT_RSEQ_ALIGN) } as u32;
    assert_eq!(r.required_alignment, align.max(32));
    let len = registered_len(r.owner);
    assert_eq!(
        r.registered_len, len,
        "registered length of the {:?} area",
        r.owner
    );
    assert_eq!(r.mode, rseq_dsl_runtime::Mode::for_len(len));
    // The kernel refuses a legacy area not aligned to 32, a longer one not aligned to
    // AT_RSEQ_ALIGN.
    let alignment = if len > 32 { r.required_alignment } else { 32 };
    assert_eq!(
        r.area as usize % alignment as usize,
        0,
        "alignment of a {len}-byte area"
    );
    match r.owner {
        Owner::Glibc => {
            let (_, offset) = glibc_rseq_symbols().expect("glibc owner without glibc symbols");
            assert_eq!(r.thread_pointer_offset, Some(offset));
            let expected = abi::thread_pointer().wrapping_offset(offset) as *const abi::RseqArea;
            assert_eq!(
                r.area, expected,
                "glibc's area is thread pointer + __rseq_offset"
            );
        }
        Owner::Own => {
            assert_eq!(r.thread_pointer_offset, None);
            assert_eq!(r.area as usize % 32, 0, "own area must be 32-byte aligned");
        }
    }
    assert_eq!(
        rseq_dsl_runtime::area().map(|a| a.as_ptr() as *const _),
        Ok(r.area)
    );
    assert!(rseq_dsl_runtime::is_available());
    // SAFETY: the area is this thread's registered area, alive while the thread runs.
    let cpu_id = unsafe { std::ptr::addr_of!((*r.area).cpu_id).read_volatile() } as i32;
    assert!(cpu_id >= 0, "kernel-written cpu_id {cpu_id}");
    assert!((cpu_id as usize) < rseq_dsl_runtime::possible_cpus());
    // The kernel answers EBUSY only when exactly this area, length and signature is already
    // registered for the calling thread: proof that `r.area` is the live registration.
    // SAFETY: registering an area the kernel already has registered changes nothing.
    assert_eq!(unsafe { raw_rseq_len(r.area, len, 0) }, Err(libc::EBUSY));
}
