//! Windows: `GetCurrentProcessorNumberEx`, flattened over processor groups.
//!
//! A processor is a (group, number) pair; groups hold up to 64 processors each. The flat
//! index is the processors of every lower group plus the number, so that it stays below
//! the sum over all groups, [`possible_cpus`].

use windows_sys::Win32::System::Kernel::PROCESSOR_NUMBER;
use windows_sys::Win32::System::Threading::{
    GetCurrentProcessorNumberEx, GetMaximumProcessorCount, GetMaximumProcessorGroupCount,
};

/// `GetMaximumProcessorCount`'s argument for "every group".
const ALL_PROCESSOR_GROUPS: u16 = 0xffff;

/// The calling thread's processor, as a flat index over the groups.
pub(crate) fn cpu() -> Option<usize> {
    let mut number = PROCESSOR_NUMBER {
        Group: 0,
        Number: 0,
        Reserved: 0,
    };
    // SAFETY: writes the calling thread's processor into a valid PROCESSOR_NUMBER.
    unsafe { GetCurrentProcessorNumberEx(&mut number) };
    let lower_groups: usize = (0..number.Group)
        // SAFETY: takes a group number, no pointers.
        .map(|group| unsafe { GetMaximumProcessorCount(group) } as usize)
        .sum();
    Some(lower_groups + usize::from(number.Number))
}

/// The processors of every group the system may ever have (hot-added ones included).
pub(crate) fn possible_cpus() -> usize {
    // SAFETY: both take integers only.
    let all = unsafe { GetMaximumProcessorCount(ALL_PROCESSOR_GROUPS) } as usize;
    // SAFETY: as above.
    let groups = unsafe { GetMaximumProcessorGroupCount() };
    // The flat index adds group sizes; never let it reach past the bound.
    let by_group: usize = (0..groups)
        // SAFETY: as above.
        .map(|group| unsafe { GetMaximumProcessorCount(group) } as usize)
        .sum();
    all.max(by_group).max(1)
}
