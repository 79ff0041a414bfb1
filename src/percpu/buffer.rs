//! A bounded per-CPU buffer: an array and a length per CPU, push and pop at the end.

use core::fmt;
use core::marker::PhantomData;
use std::sync::{Mutex, MutexGuard};

use super::{fallback_cpu, Path, PerCpu};
use crate::{rseq, Outcome};

/// A CPU's slot; sections address the first two words, type-erased: `[len, items]`.
///
/// `items[..len]` are owned `Box<T>` pointers. Only sections running on this CPU change
/// `len` or `items[len]`, and a section commits only while it still runs here, so push
/// (store the item, then commit `len + 1` with release ordering) and pop (read
/// `items[len - 1]`, commit `len - 1`) need no lock and no atomic instruction. A section
/// interrupted after its speculative store restarts and stores again: the slot beyond
/// `len` is not part of the buffer until the commit.
///
/// `fallback` is a separate bounded list for threads without rseq (which may run on any
/// CPU by the time they touch a slot), so the two paths never write the same memory.
#[repr(C)]
struct Slot<T> {
    len: usize,
    items: *mut usize,
    fallback: Mutex<Vec<Box<T>>>,
}

/// A bounded buffer per CPU, `capacity` items each: [`push`](PerCpuBuffer::push) and
/// [`pop`](PerCpuBuffer::pop) work at the end of the running CPU's buffer (LIFO) with rseq
/// sections; `push` hands the value back when that buffer is full.
///
/// Items are boxed (one word per entry in the per-CPU array);
/// [`push_box`](PerCpuBuffer::push_box) / [`pop_box`](PerCpuBuffer::pop_box) avoid a
/// second allocation for values that are boxed already. Where rseq is unavailable on a
/// thread, a mutex-protected list per CPU with the same capacity takes its place (see
/// [`Path`]); `Drop` frees what either holds.
///
/// **Fork:** the rseq-path `push` and `pop` work in a child forked from a multithreaded
/// parent. The fallback list's mutex behaves like [`std::sync::Mutex`]: a CPU's list that
/// another thread held at the fork stays locked for ever, and a fallback push or pop on
/// that CPU in the child waits for ever.
///
/// **Signal handlers:** none of its operations is async-signal-safe. `push` and `pop` box
/// and free values, and on the fallback path (or when a pop finds the rseq list empty
/// after a fallback push) they lock a mutex that the interrupted code may hold.
/// `push_box` and `pop_box` allocate nothing, but share that mutex.
///
/// ```
/// let buf = rseq_dsl::PerCpuBuffer::new(2);
/// let mut pushed = 0;
/// for i in 0..3 {
///     if buf.push(i).is_ok() { pushed += 1; }
/// }
/// assert!(pushed >= 2); // 3 if the thread migrated to another CPU's buffer
/// let popped: Vec<i32> = std::iter::from_fn(|| buf.pop()).collect();
/// assert!(popped.len() <= pushed);
/// ```
pub struct PerCpuBuffer<T> {
    slots: PerCpu<Slot<T>>,
    capacity: usize,
    _owns: PhantomData<Box<T>>,
}

// SAFETY: the buffer owns its boxed Ts and hands them to whichever thread pops them, so
// T: Send is needed and enough; no &T is shared between threads through &PerCpuBuffer.
// The raw `items` arrays are owned by the buffer and written as described on Slot.
unsafe impl<T: Send> Send for PerCpuBuffer<T> {}
// SAFETY: as for Send.
unsafe impl<T: Send> Sync for PerCpuBuffer<T> {}

impl<T> PerCpuBuffer<T> {
    /// A buffer of `capacity` items per possible CPU (allocated now).
    ///
    /// ```
    /// let buf = rseq_dsl::PerCpuBuffer::<u64>::new(16);
    /// assert_eq!(buf.capacity(), 16);
    /// ```
    pub fn new(capacity: usize) -> Self {
        let slots = PerCpu::new(|_| {
            let items: Box<[usize]> = vec![0usize; capacity].into_boxed_slice();
            Slot {
                len: 0,
                items: Box::into_raw(items) as *mut usize,
                fallback: Mutex::new(Vec::new()),
            }
        });
        PerCpuBuffer {
            slots,
            capacity,
            _owns: PhantomData,
        }
    }

    /// Items per CPU.
    ///
    /// ```
    /// assert_eq!(rseq_dsl::PerCpuBuffer::<()>::new(3).capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends `value` to the running CPU's buffer, or gives it back if that one is full.
    ///
    /// ```
    /// let buf = rseq_dsl::PerCpuBuffer::new(0);
    /// assert_eq!(buf.push("no room"), Err("no room"));
    /// ```
    #[inline]
    pub fn push(&self, value: T) -> Result<(), T> {
        self.push_box(Box::new(value)).map_err(|b| *b)
    }

    /// Removes the last item of the running CPU's buffer; `None` if it is empty.
    ///
    /// ```
    /// let buf = rseq_dsl::PerCpuBuffer::<u8>::new(4);
    /// assert_eq!(buf.pop(), None);
    /// ```
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.pop_box().map(|b| *b)
    }

    /// [`push`](PerCpuBuffer::push) for a value that is boxed already.
    ///
    /// ```
    /// let buf = rseq_dsl::PerCpuBuffer::new(1);
    /// let _ = buf.push_box(Box::new([0u8; 64]));
    /// ```
    #[inline]
    pub fn push_box(&self, value: Box<T>) -> Result<(), Box<T>> {
        let item = Box::into_raw(value);
        let slots = &self.slots;
        // SAFETY: the slot is the running CPU's (get_raw checks the bound) and starts with
        // [len, items]; `items` has `capacity` words and `len < capacity` is checked before
        // the store. Only sections on this CPU write len and items (see Slot).
        let out = unsafe {
            rseq!(|cpu| {
                in slot: *mut usize = slots.get_raw(cpu) as *mut usize;
                in cap: usize = self.capacity;
                in item: usize = item as usize;
                let len: usize = *slot;
                if len == cap { exit; }
                let items: *mut usize = *(slot.add(1) as *mut *mut usize);
                store *items.add(len) = item;
                commit(release) *slot = len + 1;
            })
        };
        // SAFETY (both from_raw): without a commit the item was not published; it is ours.
        match out {
            Ok(Outcome::Committed { .. }) => Ok(()),
            Ok(_) => Err(unsafe { Box::from_raw(item) }),
            Err(_) => self.push_fallback(unsafe { Box::from_raw(item) }),
        }
    }

    /// [`pop`](PerCpuBuffer::pop), keeping the box.
    ///
    /// ```
    /// let buf = rseq_dsl::PerCpuBuffer::<u8>::new(1);
    /// assert!(buf.pop_box().is_none());
    /// ```
    #[inline]
    pub fn pop_box(&self) -> Option<Box<T>> {
        let slots = &self.slots;
        // SAFETY: as in push_box; `len > 0` is checked before items[len - 1] is read.
        let out = unsafe {
            rseq!(|cpu| {
                in slot: *mut usize = slots.get_raw(cpu) as *mut usize;
                let len: usize = *slot;
                if len == 0 { exit; }
                let items: *mut usize = *(slot.add(1) as *mut *mut usize);
                let item: usize = *items.add(len - 1);
                commit *slot = len - 1;
                item
            })
        };
        match out {
            // SAFETY: the commit removed the item from the buffer: it is ours alone.
            Ok(Outcome::Committed { value, .. }) => Some(unsafe { Box::from_raw(value as *mut T) }),
            Ok(_) => None,
            Err(_) => self.pop_fallback(),
        }
    }

    fn fallback_list(&self) -> MutexGuard<'_, Vec<Box<T>>> {
        let slot = self.slots.get_raw(fallback_cpu(self.slots.len()));
        // SAFETY: in range; only the Mutex field is touched, which allows shared access.
        let list = unsafe { &(*slot).fallback };
        list.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cold]
    fn push_fallback(&self, value: Box<T>) -> Result<(), Box<T>> {
        let mut list = self.fallback_list();
        if list.len() == self.capacity {
            return Err(value);
        }
        list.push(value);
        Ok(())
    }

    #[cold]
    fn pop_fallback(&self) -> Option<Box<T>> {
        self.fallback_list().pop()
    }

    /// Every item, exclusively (the buffer stays allocated, empty).
    ///
    /// ```
    /// let mut buf = rseq_dsl::PerCpuBuffer::new(8);
    /// let accepted = (0..5).filter(|&i| buf.push(i).is_ok()).count();
    /// assert_eq!(buf.take_all().len(), accepted);
    /// assert!(buf.pop().is_none());
    /// ```
    pub fn take_all(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        for slot in self.slots.iter_mut() {
            for i in 0..slot.len {
                // SAFETY: items[..len] are owned boxes; &mut self excludes every section.
                out.push(*unsafe { Box::from_raw(*slot.items.add(i) as *mut T) });
            }
            slot.len = 0;
            let list = slot.fallback.get_mut().unwrap_or_else(|e| e.into_inner());
            out.extend(list.drain(..).map(|b| *b));
        }
        out
    }

    /// The path push and pop take on the calling thread.
    ///
    /// ```
    /// let b = rseq_dsl::PerCpuBuffer::<()>::new(1);
    /// assert_eq!(b.path(), rseq_dsl::Path::current());
    /// ```
    pub fn path(&self) -> Path {
        Path::current()
    }
}

impl<T> Drop for PerCpuBuffer<T> {
    fn drop(&mut self) {
        drop(self.take_all());
        for slot in self.slots.iter_mut() {
            let items = core::ptr::slice_from_raw_parts_mut(slot.items, self.capacity);
            // SAFETY: allocated in new as a Box<[usize]> of `capacity` words, freed once here.
            drop(unsafe { Box::from_raw(items) });
        }
    }
}

impl<T> fmt::Debug for PerCpuBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerCpuBuffer")
            .field("cpus", &self.slots.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn bounded_and_lifo_when_not_migrating() {
        let buf = PerCpuBuffer::new(4);
        let accepted = (0..100).filter(|&i| buf.push(i).is_ok()).count();
        // At most 4 per CPU the thread visited.
        assert!(accepted >= 4);
        assert!(accepted <= 4 * crate::possible_cpus());
    }

    #[test]
    fn drop_frees_everything() {
        struct Counted(Arc<AtomicU64>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let drops = Arc::new(AtomicU64::new(0));
        let buf = PerCpuBuffer::new(8);
        let mut rejected = 0;
        for _ in 0..20 {
            if let Err(v) = buf.push(Counted(drops.clone())) {
                rejected += 1;
                drop(v);
            }
        }
        buf.push_fallback(Box::new(Counted(drops.clone()))).ok();
        drop(buf.pop());
        drop(buf);
        assert_eq!(drops.load(Ordering::Relaxed), 21, "rejected {rejected}");
    }

    #[test]
    fn both_paths_mix_without_loss() {
        // Half the threads drive the fallback path directly, next to rseq-path threads.
        let buf = Arc::new(PerCpuBuffer::new(16));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let buf = buf.clone();
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    for i in 0..10_000u64 {
                        let v = t * 100_000 + i;
                        let pushed = if t % 2 == 0 {
                            buf.push(v).map_err(Box::new)
                        } else {
                            buf.push_fallback(Box::new(v))
                        };
                        out.extend(pushed.err().map(|b| *b));
                        let popped = if t % 2 == 0 {
                            buf.pop_box()
                        } else {
                            buf.pop_fallback()
                        };
                        out.extend(popped.map(|b| *b));
                    }
                    out
                })
            })
            .collect();
        let mut seen: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let mut buf = Arc::try_unwrap(buf).unwrap();
        seen.extend(buf.take_all());
        seen.sort_unstable();
        let expected: Vec<u64> = (0..4u64)
            .flat_map(|t| (0..10_000u64).map(move |i| t * 100_000 + i))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn conserves_items_across_threads() {
        let buf = Arc::new(PerCpuBuffer::new(64));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let buf = buf.clone();
                std::thread::spawn(move || {
                    let (mut held, mut popped_sum) = (Vec::new(), 0u64);
                    for i in 0..10_000u64 {
                        if let Err(v) = buf.push(t * 100_000 + i) {
                            held.push(v);
                        }
                        if i.is_multiple_of(2) {
                            popped_sum += buf.pop().unwrap_or(0);
                        }
                    }
                    popped_sum + held.iter().sum::<u64>()
                })
            })
            .collect();
        let mut total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let mut buf = Arc::try_unwrap(buf).unwrap();
        total += buf.take_all().iter().sum::<u64>();
        let expected: u64 = (0..4u64)
            .map(|t| (0..10_000u64).map(|i| t * 100_000 + i).sum::<u64>())
            .sum();
        assert_eq!(total, expected);
    }
}
