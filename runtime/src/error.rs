//! Typed errors: why rseq cannot be used on this thread, and why a fence failed.

use core::fmt;

/// Why rseq is unavailable on the calling thread.
///
/// ```
/// use rseq_dsl_runtime::{Reason, Unavailable};
/// let e = Unavailable::new(Reason::NotImplemented);
/// assert_eq!(e.reason(), Reason::NotImplemented);
/// assert!(e.to_string().contains("ENOSYS"));
/// // Both are errors, for `?` into `Box<dyn Error>` or `anyhow`.
/// let boxed: Box<dyn std::error::Error> = Box::new(Reason::MmCidUnsupported);
/// assert_eq!(boxed.to_string(), "the kernel does not maintain mm_cid (needs Linux 6.3+)");
/// assert_eq!(Unavailable::from(Reason::NotPermitted).reason(), Reason::NotPermitted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The kernel or an emulator (qemu-user, valgrind, a seccomp sandbox) answered ENOSYS.
    NotImplemented,
    /// The `rseq` system call was refused with EPERM.
    NotPermitted,
    /// Another area is already registered for this thread by code that does not publish
    /// it (EINVAL or EBUSY from the kernel, with glibc not owning the area).
    RegisteredElsewhere,
    /// Another errno from the `rseq` system call.
    Errno(i32),
    /// The kernel does not maintain `mm_cid` (feature size below 28, kernels before 6.3).
    MmCidUnsupported,
    /// The thread is exiting and its own area has already been unregistered.
    ThreadExiting,
    /// [`prepare_unload`](crate::prepare_unload) retired the thread from this copy of the
    /// crate: the code using it is about to be unloaded.
    Unloaded,
    /// A section with the `registered` option ran on a thread not registered yet: such a
    /// section never registers (that is its point, a fast path without calls); any other
    /// use of rseq on the thread, such as [`is_available`](crate::is_available) or a plain
    /// section, registers it.
    NotRegistered,
    /// rseq is a Linux system call, and this target's operating system is another one
    /// (`std::env::consts::OS`). Sections return this error; the building blocks use their
    /// fallback paths.
    NotLinux {
        /// The operating system, as `std::env::consts::OS` names it.
        os: &'static str,
    },
    /// Linux on an architecture for which rseq-dsl has no section backend (yet): the
    /// kernel may support rseq, but no section can be compiled for it. See
    /// [`abi::BACKENDS`](crate::abi::BACKENDS).
    NoBackend {
        /// The architecture, as the target names it (`aarch64_be` for big-endian aarch64).
        arch: &'static str,
    },
    /// The kernel refused the time-slice extension's opt-in
    /// ([`enable_slice_extension`](crate::enable_slice_extension)): EINVAL where it has
    /// none (Linux before 7.0, built without `CONFIG_RSEQ_SLICE_EXTENSION`, or a legacy
    /// registration), ENOTSUPP where it is turned off, ENXIO without an area.
    SliceExtensionUnsupported {
        /// The `prctl`'s errno.
        errno: i32,
    },
    /// A section that this architecture's backend cannot compile, though others can: on a
    /// 32-bit target (i686) one that holds 64-bit integers, or needs more registers than
    /// `asm!` offers there. Its callers take their fallback.
    NoSection {
        /// The architecture, as the target names it.
        arch: &'static str,
    },
}

/// rseq cannot be used on this thread; the reason says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unavailable {
    reason: Reason,
}

impl Unavailable {
    /// An error carrying `reason`.
    pub const fn new(reason: Reason) -> Self {
        Unavailable { reason }
    }

    /// Why rseq is unavailable.
    pub const fn reason(&self) -> Reason {
        self.reason
    }

    #[cfg(target_os = "linux")]
    #[allow(dead_code)] // used by the registration of targets with a backend
    pub(crate) fn from_errno(errno: i32) -> Self {
        let reason = match errno {
            libc::ENOSYS => Reason::NotImplemented,
            libc::EPERM => Reason::NotPermitted,
            libc::EINVAL | libc::EBUSY => Reason::RegisteredElsewhere,
            other => Reason::Errno(other),
        };
        Unavailable { reason }
    }
}

impl From<Reason> for Unavailable {
    fn from(reason: Reason) -> Self {
        Unavailable::new(reason)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NotImplemented => f.write_str(
                "the rseq system call returned ENOSYS (kernel, emulator or sandbox lacks it)",
            ),
            Reason::NotPermitted => f.write_str("the rseq system call returned EPERM"),
            Reason::RegisteredElsewhere => f.write_str(
                "another rseq area is registered for this thread by code that does not publish it",
            ),
            Reason::Errno(e) => write!(f, "the rseq system call failed with errno {e}"),
            Reason::MmCidUnsupported => {
                f.write_str("the kernel does not maintain mm_cid (needs Linux 6.3+)")
            }
            Reason::ThreadExiting => f.write_str("the thread is exiting"),
            Reason::Unloaded => f.write_str("prepare_unload() retired this thread"),
            Reason::NotRegistered => f.write_str(
                "the thread is not registered yet, and a `registered` section never registers it",
            ),
            Reason::NotLinux { os } => {
                write!(
                    f,
                    "rseq is a Linux system call, and this program runs on {os}"
                )
            }
            Reason::SliceExtensionUnsupported { errno } => write!(
                f,
                "the kernel refused the time-slice extension (prctl errno {errno}: it needs Linux 7.0+ built with CONFIG_RSEQ_SLICE_EXTENSION and a V2 registration)"
            ),
            Reason::NoSection { arch } => write!(
                f,
                "this rseq! section has no {arch} form: it holds 64-bit integers, or needs \
                 more registers than {arch} has (see rseq!'s documentation, \"32-bit targets\")"
            ),
            // `--cfg rseq_dsl_no_backend` builds a target that has a backend without it
            // (runtime/build.rs): say so rather than list the architecture as missing.
            Reason::NoBackend { arch } if crate::abi::BACKENDS.contains(arch) => write!(
                f,
                "rseq-dsl has no section backend for {arch} Linux in this build (it has one: \
                 this build turned it off with --cfg rseq_dsl_no_backend)"
            ),
            Reason::NoBackend { arch } => write!(
                f,
                "rseq-dsl has no section backend for {arch} Linux (it has {})",
                crate::abi::BACKENDS.join(", ")
            ),
        }
    }
}

impl std::error::Error for Reason {}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The reason is part of the message, so `source()` stays `None` (an error chain
        // printer would otherwise repeat it).
        match self.reason {
            Reason::MmCidUnsupported => write!(f, "rseq mm_cid unavailable: {}", self.reason),
            Reason::SliceExtensionUnsupported { .. } => {
                write!(f, "time-slice extension unavailable: {}", self.reason)
            }
            _ => write!(f, "rseq unavailable: {}", self.reason),
        }
    }
}

impl std::error::Error for Unavailable {}

/// Why a membarrier fence failed.
///
/// ```
/// use rseq_dsl_runtime::FenceError;
/// assert!(FenceError::Unsupported.to_string().contains("membarrier"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FenceError {
    /// The kernel lacks `MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ` (ENOSYS or EINVAL).
    Unsupported,
    /// The CPU number is out of range for this system.
    InvalidCpu(usize),
    /// Another errno from `membarrier`.
    Errno(i32),
}

impl fmt::Display for FenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FenceError::Unsupported => {
                f.write_str("membarrier's rseq commands are not supported by this kernel")
            }
            FenceError::InvalidCpu(cpu) => write!(f, "membarrier fence: cpu {cpu} does not exist"),
            FenceError::Errno(e) => write!(f, "membarrier fence failed with errno {e}"),
        }
    }
}

impl std::error::Error for FenceError {}

/// The calling thread's errno after a failed libc call.
#[allow(dead_code)] // used where a libc call can fail
pub(crate) fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn no_backend_names_the_backends_or_the_switch_that_turned_one_off() {
        let missing = Reason::NoBackend { arch: "mips64" }.to_string();
        assert!(missing.contains("mips64"), "{missing}");
        assert!(missing.contains("x86_64"), "{missing}");
        let turned_off = Reason::NoBackend { arch: "s390x" }.to_string();
        assert!(turned_off.contains("rseq_dsl_no_backend"), "{turned_off}");
        assert!(!turned_off.contains("x86_64"), "{turned_off}");
    }
}
