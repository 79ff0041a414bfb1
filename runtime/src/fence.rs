//! Fences through `membarrier`'s rseq commands: restart every critical section of this
//! process that is in flight (on every CPU, or on one), so that another thread can safely
//! touch a CPU's data afterwards.

use crate::error::{last_errno, FenceError};
use crate::once::OnceWord;

const MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ: libc::c_int = 1 << 7;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ: libc::c_int = 1 << 8;
const MEMBARRIER_CMD_FLAG_CPU: libc::c_uint = 1;

fn membarrier(cmd: libc::c_int, flags: libc::c_uint, cpu: libc::c_int) -> Result<(), i32> {
    // SAFETY: membarrier takes plain integers and touches no user memory.
    let rc = unsafe { libc::syscall(libc::SYS_membarrier, cmd, flags, cpu) };
    if rc == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

fn to_fence_error(errno: i32) -> FenceError {
    match errno {
        libc::ENOSYS | libc::EINVAL => FenceError::Unsupported,
        other => FenceError::Errno(other),
    }
}

// The kernel requires the process to declare its intent once before the first fence. Racing
// threads may each declare it: the kernel answers 0 to a repeated registration.
fn register_intent() -> Result<(), FenceError> {
    static INTENT: OnceWord<Result<(), FenceError>> = OnceWord::new();
    INTENT.get_or_compute(|| {
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0).map_err(to_fence_error)
    })
}

/// Restarts every in-flight critical section of this process, on every CPU.
///
/// ```
/// match rseq_dsl_runtime::fence_all() {
///     Ok(()) => {}
///     Err(e) => eprintln!("no fence here: {e}"),
/// }
/// ```
pub fn fence_all() -> Result<(), FenceError> {
    register_intent()?;
    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0).map_err(to_fence_error)
}

/// Restarts the in-flight critical section of this process on `cpu`, if any.
///
/// A `cpu` at or above [`possible_cpus`](crate::possible_cpus) is
/// [`FenceError::InvalidCpu`]; an offline CPU runs nothing, so its fence succeeds.
///
/// ```
/// let cpu = rseq_dsl_runtime::current_cpu();
/// if let Err(e) = rseq_dsl_runtime::fence_cpu(cpu) {
///     eprintln!("no fence here: {e}");
/// }
/// ```
pub fn fence_cpu(cpu: usize) -> Result<(), FenceError> {
    // The kernel answers 0, doing nothing, for a CPU number it does not have: check here.
    if cpu >= crate::possible_cpus() {
        return Err(FenceError::InvalidCpu(cpu));
    }
    let cpu_arg = libc::c_int::try_from(cpu).map_err(|_| FenceError::InvalidCpu(cpu))?;
    register_intent()?;
    membarrier(
        MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
        MEMBARRIER_CMD_FLAG_CPU,
        cpu_arg,
    )
    .map_err(to_fence_error)
}
