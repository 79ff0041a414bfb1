//! Per-CPU memory for the stress tests: padded slots, a shareable pointer, a delay.

/// 128-byte aligned, so that per-CPU slots never share a cache line (or a prefetched pair).
#[repr(C, align(128))]
pub struct Padded<T>(pub T);

/// Distance between two per-CPU slots of a `Padded<u64>`/`Padded<usize>` array, in elements.
pub const STRIDE: usize = 128 / 8;

/// A delay between a load and a store, that the optimizer cannot remove.
#[inline(never)]
pub fn delay(iterations: u32) {
    for i in 0..iterations {
        std::hint::black_box(i);
    }
}

/// A raw pointer that worker closures may share: the tests guarantee by construction
/// (per-CPU sections, locks, exclusive ownership) that the accesses through it do not race.
#[derive(Debug)]
pub struct SyncPtr<T>(pub *mut T);

impl<T> Clone for SyncPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SyncPtr<T> {}

// SAFETY: only an address; every access through it is justified where it is made.
unsafe impl<T> Send for SyncPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SyncPtr<T> {}

impl<T> SyncPtr<T> {
    /// The pointer (a method, so that closures capture the whole `SyncPtr`, not the field).
    #[inline(always)]
    pub fn get(self) -> *mut T {
        self.0
    }
}

/// One zeroed, 128-byte padded `u64`-sized slot per index, addressed as `base + i * STRIDE`.
pub struct PerCpu {
    slots: Vec<Padded<u64>>,
}

impl PerCpu {
    pub fn new(len: usize) -> PerCpu {
        PerCpu {
            slots: (0..len).map(|_| Padded(0)).collect(),
        }
    }

    /// Slot 0, for `base.add(index * STRIDE)`.
    pub fn base(&mut self) -> SyncPtr<u64> {
        SyncPtr(self.slots.as_mut_ptr().cast())
    }

    /// The values, once no thread uses `base` any more.
    pub fn values(&self) -> Vec<u64> {
        self.slots.iter().map(|slot| slot.0).collect()
    }
}
