//! membarrier fences: accepted for real CPUs, refused (not a panic) for impossible ones.

#[cfg(rseq_dsl_sections)]
use rseq_dsl_runtime::{current_cpu, fence_all};
use rseq_dsl_runtime::{fence_cpu, possible_cpus, FenceError};

// The kernel's membarrier: Linux (and its rseq fences: a target with an rseq backend).
#[cfg(rseq_dsl_sections)]
#[test]
fn fences_succeed_for_all_and_for_the_current_cpu() {
    assert_eq!(fence_all(), Ok(()));
    assert_eq!(fence_cpu(current_cpu()), Ok(()));
    // Again, now that the process has declared its intent.
    assert_eq!(fence_all(), Ok(()));
    for cpu in 0..possible_cpus() {
        // Offline CPUs may be refused, but never with a panic or InvalidCpu.
        assert_ne!(fence_cpu(cpu), Err(FenceError::InvalidCpu(cpu)));
    }
}

#[test]
fn fence_on_an_impossible_cpu_is_an_error() {
    let cpu = possible_cpus() + 1000;
    assert_eq!(fence_cpu(cpu), Err(FenceError::InvalidCpu(cpu)));
    assert_eq!(
        fence_cpu(usize::MAX),
        Err(FenceError::InvalidCpu(usize::MAX))
    );
}
