//! The platform without rseq sections: another operating system, or Linux on an
//! architecture without a backend. The same interface as `registration.rs` (the Linux one),
//! so that nothing outside asks which one it has: every accessor reports why rseq is
//! unavailable, [`current_cpu`](crate::current_cpu) uses the operating system's answer
//! (`crate::os`), and the building blocks take their fallback paths.

use core::ptr::NonNull;

use crate::abi::RseqArea;
use crate::error::{Reason, Unavailable};
use crate::info::Registration;

/// Why no thread of this build can use rseq: named after the target, so that the message
/// says what to change (the operating system, or the architecture).
pub fn unsupported_target() -> Unavailable {
    if cfg!(target_os = "linux") {
        Unavailable::new(Reason::NoBackend { arch: ARCH })
    } else {
        Unavailable::new(Reason::NotLinux {
            os: std::env::consts::OS,
        })
    }
}

/// The architecture as users call it: `std::env::consts::ARCH` does not tell big-endian
/// aarch64 or x32 apart from the backends' own targets.
const ARCH: &str = if cfg!(all(target_arch = "aarch64", target_endian = "big")) {
    "aarch64_be"
} else if cfg!(all(target_arch = "x86_64", target_pointer_width = "32")) {
    "x86_64 (x32)"
} else {
    std::env::consts::ARCH
};

/// An area that reads "not registered", for [`current_cpu`](crate::current_cpu)'s one sign
/// check; nothing ever writes it.
static UNREGISTERED: RseqArea = RseqArea::new();

/// Nothing is computed before `main` here: there is no registration to prepare.
pub(crate) fn initialized_before_main() -> bool {
    true
}

/// No feature of the area is ever filled in.
#[inline]
pub(crate) fn feature_size() -> u32 {
    0
}

/// See [`feature_size`].
#[inline(always)]
pub(crate) fn known_feature_size() -> Option<u32> {
    None
}

/// Never an area on this platform.
#[inline(always)]
pub(crate) fn registered_area() -> Option<NonNull<RseqArea>> {
    None
}

/// Never an area on this platform.
#[inline(always)]
pub(crate) fn registered_mm_cid_area() -> Option<NonNull<RseqArea>> {
    None
}

/// The placeholder whose `cpu_id` reads "not registered".
#[inline(always)]
pub(crate) fn area_or_unregistered() -> *const RseqArea {
    &UNREGISTERED
}

/// The calling thread's rseq area: never on this platform, with the reason.
///
/// ```
/// if rseq_dsl_runtime::abi::BACKEND.is_none() {
///     assert!(rseq_dsl_runtime::area().is_err());
/// }
/// ```
#[inline(always)]
pub fn area() -> Result<NonNull<RseqArea>, Unavailable> {
    Err(unsupported_target())
}

/// How the calling thread is registered: never on this platform, with the reason.
///
/// ```
/// if let Err(e) = rseq_dsl_runtime::registration() {
///     println!("{e}");
/// }
/// ```
pub fn registration() -> Result<Registration, Unavailable> {
    Err(unsupported_target())
}

/// Whether rseq can be used on the calling thread: never on this platform.
///
/// ```
/// assert_eq!(rseq_dsl_runtime::is_available(), rseq_dsl_runtime::area().is_ok());
/// ```
pub fn is_available() -> bool {
    false
}

/// Prepares the calling thread for the unloading of code that ran sections: nothing ran
/// one here, so there is nothing to clear.
///
/// ```
/// rseq_dsl_runtime::prepare_unload();
/// ```
pub fn prepare_unload() {}

/// The unsupported platform's fences. A fence's promise is that no section that started
/// before it is still in flight when it returns; no section can run on this platform, so
/// the promise holds with nothing to do, and the fences succeed (after the same range
/// check as on Linux). The building blocks' remote paths (a stack's drain, a lock taken for
/// another CPU, the allocator's trim) thus work unchanged.
pub(crate) mod fence {
    use crate::error::FenceError;

    /// Restarts every section in flight: there are none on this platform.
    ///
    /// ```
    /// if rseq_dsl_runtime::abi::BACKEND.is_none() {
    ///     assert!(rseq_dsl_runtime::fence_all().is_ok());
    /// }
    /// ```
    pub fn fence_all() -> Result<(), FenceError> {
        Ok(())
    }

    /// Restarts the sections in flight on `cpu`: there are none on this platform. A CPU out
    /// of range is an error, as on Linux.
    ///
    /// ```
    /// let beyond = rseq_dsl_runtime::possible_cpus();
    /// assert!(rseq_dsl_runtime::fence_cpu(beyond).is_err());
    /// ```
    pub fn fence_cpu(cpu: usize) -> Result<(), FenceError> {
        if cpu >= crate::possible_cpus() {
            return Err(FenceError::InvalidCpu(cpu));
        }
        Ok(())
    }
}
