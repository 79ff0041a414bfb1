//! Which pages hold small objects, and of which class: a two-level table indexed by address,
//! so that a block can be told to be one of ours (and its class found) from its address
//! alone. `RseqAlloc::usable_size` reads it; the C `malloc` of `alloc/malloc` uses it to
//! route `free` and `realloc` of blocks it did not allocate (the C library's, allocated
//! before it was loaded or by its large path) to the C library.
//!
//! One byte per 4 KiB page of the address space (the class plus one, 0: not ours), in
//! leaves of 2^18 pages (1 GiB of addresses, a 256 KiB leaf mapped from the OS on first
//! use and never unmapped) under a root of one pointer per leaf, a static (2 MiB of
//! zero-initialised, untouched memory on 64-bit targets, which cover 48 address bits; 32
//! bytes on 32-bit ones). Spans are page aligned and never unmapped, so a page is ours from
//! its registration on, for good. 4 KiB divides every page size, so the table works
//! whatever the system's page size.
//!
//! Lookups are two dependent loads. A span is registered (under its class's depot lock)
//! before any of its objects is handed out, so a thread that holds one of its objects
//! (received through whatever synchronisation the program used) finds the registration.

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

use crate::os;

const PAGE_SHIFT: u32 = 12;
const LEAF_SHIFT: u32 = 18;
const LEAF_BYTES: usize = 1 << LEAF_SHIFT;
/// Address bits the table covers: user addresses stay below 2^48 on 64-bit Linux unless a
/// program asks for more with an `mmap` hint (x86_64 la57, arm64 52-bit VAs), and
/// `os::map` gives none.
const ADDRESS_BITS: u32 = if usize::BITS == 64 { 48 } else { 32 };
const ROOTS: usize = 1 << (ADDRESS_BITS - PAGE_SHIFT - LEAF_SHIFT);

static ROOT: [AtomicPtr<AtomicU8>; ROOTS] = [const { AtomicPtr::new(ptr::null_mut()) }; ROOTS];

/// Root index and leaf index of `address`, or `None` beyond the covered bits.
#[inline(always)]
fn split(address: usize) -> Option<(usize, usize)> {
    if (address as u64) >> ADDRESS_BITS != 0 {
        return None;
    }
    let page = address >> PAGE_SHIFT;
    Some((page >> LEAF_SHIFT, page & (LEAF_BYTES - 1)))
}

/// The leaf of root entry `root`, mapped now if it has none; null when the system refuses.
fn leaf(root: usize) -> *mut AtomicU8 {
    let found = ROOT[root].load(Ordering::Acquire);
    if !found.is_null() {
        return found;
    }
    let fresh = os::map(LEAF_BYTES) as *mut AtomicU8;
    if fresh.is_null() {
        return fresh;
    }
    match ROOT[root].compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fresh,
        Err(winner) => {
            // SAFETY: our own mapping of LEAF_BYTES, which nobody else saw.
            unsafe { os::unmap(fresh as *mut u8, LEAF_BYTES) };
            winner
        }
    }
}

/// Records the pages of `[start, start + len)` (page aligned) as holding objects of
/// `class`; false (nothing recorded) if they lie beyond the table or a leaf could not be
/// mapped. Allocates nothing through the global allocator.
pub(crate) fn register(start: usize, len: usize, class: usize) -> bool {
    let pages = len >> PAGE_SHIFT;
    // Map every leaf first, so that a failure leaves no page half-recorded.
    let last = start + len - 1;
    let (Some((first_root, _)), Some((last_root, _))) = (split(start), split(last)) else {
        return false;
    };
    if (first_root..=last_root).any(|root| leaf(root).is_null()) {
        return false;
    }
    for page in 0..pages {
        let (root, index) = split(start + (page << PAGE_SHIFT)).expect("checked above");
        let leaf = ROOT[root].load(Ordering::Acquire);
        // SAFETY: a mapped leaf of LEAF_BYTES bytes; `index` is below LEAF_BYTES.
        unsafe { (*leaf.add(index)).store(class as u8 + 1, Ordering::Release) };
    }
    true
}

/// The class of the small object at `address`, or `None` if its page holds none of ours.
#[inline]
pub(crate) fn class_at(address: usize) -> Option<usize> {
    let (root, index) = split(address)?;
    let leaf = ROOT[root].load(Ordering::Acquire);
    if leaf.is_null() {
        return None;
    }
    // SAFETY: a mapped leaf of LEAF_BYTES bytes, never unmapped; `index` is below LEAF_BYTES.
    let tag = unsafe { (*leaf.add(index)).load(Ordering::Acquire) };
    (tag as usize).checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_pages_and_only_they_are_found() {
        let len = 3 * LEAF_BYTES.min(1 << 16);
        let span = os::map(len) as usize;
        assert_ne!(span, 0);
        assert_eq!(class_at(span), None);
        assert!(register(span, len, 7));
        for offset in [0, 1, 4095, 4096, len / 2, len - 1] {
            assert_eq!(class_at(span + offset), Some(7), "offset {offset}");
        }
        assert_eq!(class_at(0), None);
        assert_eq!(class_at(usize::MAX), None);
        let local = 0u64;
        assert_eq!(class_at(&local as *const u64 as usize), None);
    }
}
