//! A per-CPU stack of owned nodes, with a drain of every CPU built on the rseq fence.

use core::fmt;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::{fallback_cpu, fences_work, Path, PerCpu};
use crate::{rseq, FenceError, Outcome};

/// A heap node of a [`PerCpuStack`]: recycle nodes with
/// [`push_node`](PerCpuStack::push_node) / [`pop_node`](PerCpuStack::pop_node) to push
/// and pop without allocating.
///
/// ```
/// let mut node = rseq_dsl::Node::new(5);
/// *node.value_mut() += 1;
/// assert_eq!(*node.value(), 6);
/// assert_eq!(node.into_inner(), 6);
/// ```
#[repr(C)]
pub struct Node<T> {
    // First field: sections follow `next` with a load at offset 0.
    next: *mut Node<T>,
    value: T,
}

// SAFETY: `next` is null whenever a Node is outside a stack (the stack clears it before it
// hands a node out), so a Node owns nothing but its value.
unsafe impl<T: Send> Send for Node<T> {}
// SAFETY: &Node only gives &T.
unsafe impl<T: Sync> Sync for Node<T> {}

impl<T> Node<T> {
    /// A boxed node holding `value`.
    ///
    /// ```
    /// assert_eq!(*rseq_dsl::Node::new("a").value(), "a");
    /// ```
    pub fn new(value: T) -> Box<Node<T>> {
        Box::new(Node {
            next: ptr::null_mut(),
            value,
        })
    }

    /// The value.
    ///
    /// ```
    /// assert_eq!(*rseq_dsl::Node::new(1u8).value(), 1);
    /// ```
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, mutably (for reuse of the node).
    ///
    /// ```
    /// let mut n = rseq_dsl::Node::new(1u8);
    /// *n.value_mut() = 2;
    /// assert_eq!(*n.value(), 2);
    /// ```
    pub fn value_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// The value, freeing the node.
    ///
    /// ```
    /// assert_eq!(rseq_dsl::Node::new(vec![1]).into_inner(), [1]);
    /// ```
    #[allow(clippy::boxed_local)] // nodes only exist boxed: this takes what pops return
    pub fn into_inner(self: Box<Self>) -> T {
        self.value
    }
}

/// A CPU's slot. Sections address the first three words, type-erased:
/// `[active, heads[0], heads[1]]`.
///
/// - `heads[active]` is the list the CPU's sections push to and pop from. Only sections
///   running on this CPU write it, and a section commits only while it still runs here,
///   so push and pop need neither a lock nor an atomic instruction (and pop has no ABA
///   problem: nothing can change the list between its loads and its commit).
/// - `heads[1 - active]` is empty, except during a drain, which flips `active` and then
///   fences this CPU: afterwards no section can still be working on the old list, so the
///   drainer owns it.
/// - `fallback` holds what threads without rseq pushed on this CPU. It is a separate list
///   because a lock or compare-and-swap from such a thread, which may run on any CPU, could
///   interleave with a section's plain load and store: separating them makes the two paths
///   safe to mix.
#[repr(C)]
struct Slot<T> {
    active: AtomicUsize,
    heads: [AtomicPtr<Node<T>>; 2],
    fallback: Mutex<Vec<Box<Node<T>>>>,
}

/// A stack per CPU: [`push`](PerCpuStack::push) and [`pop`](PerCpuStack::pop) work on the
/// running CPU's stack with rseq sections, no lock and no atomic instruction;
/// [`drain_all`](PerCpuStack::drain_all) takes every CPU's items while others keep pushing.
///
/// `pop` returns an item of the CPU the thread runs on, or `None` if that CPU's stack is
/// empty even when other CPUs hold items: it suits pools and free lists, where any item
/// will do and the local ones are the cheap ones. Where rseq is unavailable on a thread,
/// push and pop use a mutex-protected list per CPU (see [`Path`]); `drain_all` and `Drop`
/// see both.
///
/// **Fork:** the rseq-path `push` and `pop` work in a child forked from a multithreaded
/// parent (a section that another thread had in flight left nothing half-done). The
/// mutexes behave like [`std::sync::Mutex`]: one that another thread held at the fork
/// stays held for ever, so in the child `drain_all` waits for ever if a drain was in
/// progress, and so does a fallback push or pop on the CPU whose list was locked (an rseq
/// pop reaches that list when its CPU's stack is empty and a fallback push ever happened).
///
/// **Signal handlers:** `push_node` and `pop_node` on a thread with rseq are single
/// sections and allocate nothing, so they are async-signal-safe as long as no thread of
/// the process ever took the fallback path (a fallback push makes later pops lock the
/// fallback list). `push` and `pop` allocate or free the node, and the fallback path and
/// `drain_all` lock mutexes: none of these is async-signal-safe.
///
/// ```
/// use rseq_dsl::PerCpuStack;
///
/// let pool = PerCpuStack::new();
/// pool.push(1);
/// pool.push(2);
/// // Same thread, no migration in between: usually the same CPU, LIFO.
/// let top = pool.pop();
/// assert!(top == Some(2) || top == None);
/// let mut rest = pool.drain_all().unwrap_or_default();
/// rest.extend(top);
/// rest.sort();
/// assert!(rest == [1, 2] || rest.is_empty());
/// ```
pub struct PerCpuStack<T> {
    slots: PerCpu<Slot<T>>,
    /// Set once any thread pushed on the fallback path, so that rseq-path pops look there
    /// too only when it can hold something.
    fallback_used: AtomicBool,
    /// Serialises drains: a drain relies on the inactive list being empty.
    drain_lock: Mutex<()>,
    _owns: PhantomData<Box<Node<T>>>,
}

// SAFETY: the stack owns its nodes and their Ts, and hands them to whichever thread pops or
// drains them: T: Send is what moving values between threads needs. No &T is ever shared
// between threads through &PerCpuStack, so T: Sync is not needed for Sync. The raw
// pointers in the slots are owned nodes, protected as described on Slot.
unsafe impl<T: Send> Send for PerCpuStack<T> {}
// SAFETY: as for Send.
unsafe impl<T: Send> Sync for PerCpuStack<T> {}

impl<T> PerCpuStack<T> {
    /// An empty stack per possible CPU.
    ///
    /// ```
    /// let s: rseq_dsl::PerCpuStack<u32> = rseq_dsl::PerCpuStack::new();
    /// assert!(s.pop().is_none());
    /// ```
    pub fn new() -> Self {
        PerCpuStack {
            slots: PerCpu::new(|_| Slot {
                active: AtomicUsize::new(0),
                heads: [
                    AtomicPtr::new(ptr::null_mut()),
                    AtomicPtr::new(ptr::null_mut()),
                ],
                fallback: Mutex::new(Vec::new()),
            }),
            fallback_used: AtomicBool::new(false),
            drain_lock: Mutex::new(()),
            _owns: PhantomData,
        }
    }

    /// Pushes `value` on the running CPU's stack (allocating a node).
    ///
    /// ```
    /// let s = rseq_dsl::PerCpuStack::new();
    /// s.push("x");
    /// assert_eq!(s.drain_all().map(|v| v.len()).unwrap_or(1), 1);
    /// ```
    #[inline]
    pub fn push(&self, value: T) {
        self.push_node(Node::new(value))
    }

    /// Pops from the running CPU's stack; `None` if it is empty.
    ///
    /// ```
    /// let s = rseq_dsl::PerCpuStack::new();
    /// s.push(9);
    /// // The thread may have migrated since the push, so only "at most once" is certain.
    /// let first = s.pop();
    /// assert!(first.is_none() || (first == Some(9) && s.pop().is_none()));
    /// ```
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.pop_node().map(Node::into_inner)
    }

    /// Pushes a node (from [`Node::new`] or an earlier pop) without allocating.
    ///
    /// ```
    /// let s = rseq_dsl::PerCpuStack::new();
    /// let node = rseq_dsl::Node::new(3);
    /// s.push_node(node);
    /// if let Some(node) = s.pop_node() {
    ///     assert_eq!(*node.value(), 3);
    ///     s.push_node(node); // recycled
    /// }
    /// ```
    #[inline]
    pub fn push_node(&self, node: Box<Node<T>>) {
        let node = Box::into_raw(node);
        let slots = &self.slots;
        // SAFETY: the slot is the running CPU's (get_raw checks the bound) and starts with
        // [active, heads[0], heads[1]], so `heads.add(which)` is the active head; the node
        // is ours, its `next` at offset 0. Only sections on this CPU write the active head
        // (see Slot), and the node is published by the commit.
        let out = unsafe {
            rseq!(|cpu| {
                in slot: *mut usize = slots.get_raw(cpu) as *mut usize;
                in node: *mut usize = node as *mut usize;
                let which: usize = *slot;
                let heads: *mut *mut usize = slot.add(1) as *mut *mut usize;
                let head: *mut *mut usize = heads.add(which);
                let top: *mut usize = *head;
                store *(node as *mut *mut usize) = top;
                commit(release) *head = node;
            })
        };
        if out.is_err() {
            // SAFETY: the section did not run, so the node is still ours alone.
            self.push_fallback(unsafe { Box::from_raw(node) });
        }
    }

    /// Pops a node from the running CPU's stack; `None` if it is empty.
    ///
    /// ```
    /// let s = rseq_dsl::PerCpuStack::<u8>::new();
    /// assert!(s.pop_node().is_none());
    /// ```
    #[inline]
    pub fn pop_node(&self) -> Option<Box<Node<T>>> {
        let slots = &self.slots;
        // SAFETY: as in push_node; the popped node's `next` is read before the commit,
        // while the node is still in this CPU's list, which nothing else can change.
        let out = unsafe {
            rseq!(|cpu| {
                in slot: *mut usize = slots.get_raw(cpu) as *mut usize;
                let which: usize = *slot;
                let heads: *mut *mut usize = slot.add(1) as *mut *mut usize;
                let head: *mut *mut usize = heads.add(which);
                let top: *mut usize = *head;
                if top.is_null() { exit; }
                let next: *mut usize = *(top as *mut *mut usize);
                commit *head = next;
                top
            })
        };
        match out {
            Ok(Outcome::Committed { value, .. }) => {
                fence(Ordering::Acquire);
                let node = value as *mut Node<T>;
                // SAFETY: the commit unlinked the node: it is ours alone now.
                let mut node = unsafe { Box::from_raw(node) };
                node.next = ptr::null_mut();
                Some(node)
            }
            Ok(_) if !self.fallback_used.load(Ordering::Relaxed) => None,
            _ => self.pop_fallback(),
        }
    }

    fn fallback_list(&self) -> MutexGuard<'_, Vec<Box<Node<T>>>> {
        let slot = self.slots.get_raw(fallback_cpu(self.slots.len()));
        // SAFETY: slot is in range; `fallback` is a Mutex, shared access is fine.
        let list = unsafe { &(*slot).fallback };
        list.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cold]
    fn push_fallback(&self, node: Box<Node<T>>) {
        self.fallback_used.store(true, Ordering::Relaxed);
        self.fallback_list().push(node);
    }

    #[cold]
    fn pop_fallback(&self) -> Option<Box<Node<T>>> {
        self.fallback_list().pop()
    }

    /// Takes every item of every CPU (and of the fallback lists) while other threads keep
    /// pushing and popping: each item ends up exactly once in the result or with a
    /// concurrent pop, none is lost.
    ///
    /// For each CPU whose list is non-empty: flip the slot's `active` index to its empty
    /// spare list, then [`fence_cpu`](crate::fence_cpu) that CPU, which restarts any
    /// section still working on the old list. After the fence the old list is the
    /// drainer's alone. Fails where the fence is refused (before Linux 5.10, a sandbox, a
    /// seccomp filter) while rseq lists hold items. Nothing is lost then: items already
    /// taken from other CPUs go back to a fallback list, and a list whose fence failed stays
    /// in its slot, for pops and for the next drain whose fence works.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(rseq_dsl::PerCpuStack::new());
    /// let pusher = { let s = s.clone(); std::thread::spawn(move || (0..1000).for_each(|i| s.push(i))) };
    /// let mut seen = Vec::new();
    /// while !pusher.is_finished() {
    ///     seen.extend(s.drain_all().unwrap_or_default());
    /// }
    /// pusher.join().unwrap();
    /// seen.extend(s.drain_all().unwrap_or_default());
    /// if rseq_dsl::fence_all().is_ok() {
    ///     seen.sort();
    ///     assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    /// }
    /// ```
    pub fn drain_all(&self) -> Result<Vec<T>, FenceError> {
        Ok(self
            .drain_nodes()?
            .into_iter()
            .map(Node::into_inner)
            .collect())
    }

    /// [`drain_all`](PerCpuStack::drain_all), keeping the nodes for reuse.
    ///
    /// ```
    /// let s = rseq_dsl::PerCpuStack::new();
    /// s.push(1);
    /// if let Ok(nodes) = s.drain_nodes() {
    ///     assert_eq!(nodes.iter().map(|n| *n.value()).sum::<i32>(), 1);
    /// }
    /// ```
    pub fn drain_nodes(&self) -> Result<Vec<Box<Node<T>>>, FenceError> {
        let _drain = self.drain_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for cpu in 0..self.slots.len() {
            if let Err(e) = self.drain_cpu(cpu, &mut out) {
                // Nothing may be lost: what was taken goes back, onto the fallback list of
                // the CPU that failed, where pops on every path and later drains find it.
                if !out.is_empty() {
                    self.fallback_used.store(true, Ordering::Relaxed);
                    // SAFETY: in range; the fallback list is a Mutex, shared access is fine.
                    let slot = unsafe { &*self.slots.get_raw(cpu) };
                    let mut list = slot.fallback.lock().unwrap_or_else(|e| e.into_inner());
                    list.append(&mut out);
                }
                return Err(e);
            }
        }
        Ok(out)
    }

    /// Appends `cpu`'s items to `out`. On error it has appended nothing, and every item is
    /// still in the slot.
    fn drain_cpu(&self, cpu: usize, out: &mut Vec<Box<Node<T>>>) -> Result<(), FenceError> {
        let slot = self.slots.get_raw(cpu);
        // SAFETY: in range; the fields are atomics and a Mutex, shared access is fine.
        // (Sections write `heads` with plain stores; see Slot and the counter's Slot for
        // why atomic loads of words written that way are sound.)
        let slot = unsafe { &*slot };
        let which = slot.active.load(Ordering::Relaxed);
        let busy = !slot.heads[which].load(Ordering::Acquire).is_null();
        // Non-empty only after a drain whose fence failed once it had flipped `active`:
        // sections that read the old index may still have been working on that list then.
        let stranded = !slot.heads[1 - which].load(Ordering::Acquire).is_null();
        if busy || stranded {
            fences_work()?;
            if busy {
                // A stranded list becomes the active one again: its items stay reachable.
                slot.active.store(1 - which, Ordering::Release);
            }
            // On failure the lists stay where they are: a flipped-away list is stranded
            // (see above) and the next drain whose fence works takes it.
            crate::fence_cpu(cpu)?;
            fence(Ordering::Acquire);
            // No section uses the inactive list any more (the fence restarted those that
            // did), so taking it needs no atomicity; swap keeps it simple.
            let old = if busy { which } else { 1 - which };
            let mut top = slot.heads[old].swap(ptr::null_mut(), Ordering::Acquire);
            while !top.is_null() {
                // SAFETY: every node in a list is an owned Box that only the list points to.
                let mut node = unsafe { Box::from_raw(top) };
                top = node.next;
                node.next = ptr::null_mut();
                out.push(node);
            }
        }
        if self.fallback_used.load(Ordering::Relaxed) {
            let mut list = slot.fallback.lock().unwrap_or_else(|e| e.into_inner());
            out.append(&mut list);
        }
        Ok(())
    }

    /// The path push and pop take on the calling thread.
    ///
    /// ```
    /// let s = rseq_dsl::PerCpuStack::<()>::new();
    /// assert_eq!(s.path(), rseq_dsl::Path::current());
    /// ```
    pub fn path(&self) -> Path {
        Path::current()
    }
}

impl<T> Default for PerCpuStack<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for PerCpuStack<T> {
    fn drop(&mut self) {
        for slot in self.slots.iter_mut() {
            for head in &mut slot.heads {
                let mut top = core::mem::replace(head.get_mut(), ptr::null_mut());
                while !top.is_null() {
                    // SAFETY: &mut self: no section or drain runs; every node is an owned Box.
                    let node = unsafe { Box::from_raw(top) };
                    top = node.next;
                }
            }
            // The fallback lists are Vecs of Boxes: dropped with the slot.
        }
    }
}

impl<T> fmt::Debug for PerCpuStack<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerCpuStack")
            .field("cpus", &self.slots.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    #[test]
    fn push_pop_on_one_cpu_is_lifo_or_moves() {
        let s = PerCpuStack::new();
        for i in 0..100 {
            s.push(i);
        }
        let mut seen: Vec<i32> = std::iter::from_fn(|| s.pop()).collect();
        seen.extend(s.drain_all().unwrap_or_default());
        if crate::fence_all().is_ok() {
            seen.sort();
            assert_eq!(seen, (0..100).collect::<Vec<_>>());
        }
    }

    struct Counted(Arc<AtomicU64>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    rseq_dsl_runtime::__rseq_with_backend! {
        /// A drain whose fence the kernel refuses (a seccomp filter on the draining thread)
        /// after it has taken CPU 0's fallback items: nothing may be dropped, and a later drain
        /// with a working fence gets every item. Before the fix the taken items were dropped
        /// (fence unsupported) or the drain panicked, holding them (fence refused after the
        /// probe).
        #[test]
        fn a_refused_fence_loses_nothing() {
            let s = PerCpuStack::new();
            let last = s.slots.len() - 1;
            if last == 0 {
                eprintln!("skipped: one possible CPU");
                return;
            }
            let drops = Arc::new(AtomicU64::new(0));
            // By hand, so that the drain meets them in this order whatever CPU the test runs
            // on: fallback items on CPU 0, an rseq list on the last CPU.
            s.fallback_used.store(true, Ordering::Relaxed);
            s.slots
                .get(0)
                .unwrap()
                .fallback
                .lock()
                .unwrap()
                .extend((0..3).map(|_| Node::new(Counted(drops.clone()))));
            for _ in 0..3 {
                let node = Box::into_raw(Node::new(Counted(drops.clone())));
                let slot = s.slots.get(last).unwrap();
                let head = &slot.heads[slot.active.load(Ordering::Relaxed)];
                // SAFETY: the node is ours; no section runs on this stack yet.
                unsafe { (*node).next = head.load(Ordering::Relaxed) };
                head.store(node, Ordering::Relaxed);
            }
            // Probe (and cache) the fence before the filter, as a process that used it would.
            let fences = fences_work().is_ok();
            let refused = std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        crate::percpu::refuse::on_this_thread(&[libc::SYS_membarrier]);
                        s.drain_all().map(|v| v.len())
                    })
                    .join()
            });
            let refused = refused.expect("drain_all panicked when its fence was refused");
            assert!(refused.is_err(), "{refused:?}");
            assert_eq!(
                drops.load(Ordering::Relaxed),
                0,
                "a refused drain dropped items"
            );
            if fences {
                // The stranded list and the returned items come back with a working fence.
                let all = s.drain_all().expect("drain with a working fence");
                assert_eq!(all.len(), 6);
                drop(all);
            } else {
                drop(s);
            }
            assert_eq!(drops.load(Ordering::Relaxed), 6);
        }
    }

    #[test]
    fn drop_frees_everything() {
        let drops = Arc::new(AtomicU64::new(0));
        let s = PerCpuStack::new();
        for _ in 0..50 {
            s.push(Counted(drops.clone()));
        }
        s.push_fallback(Node::new(Counted(drops.clone())));
        drop(s.pop());
        drop(s);
        assert_eq!(drops.load(Ordering::Relaxed), 51);
    }

    #[test]
    fn fallback_pushes_are_drained() {
        let s = PerCpuStack::new();
        s.push_fallback(Node::new(1));
        s.push(2);
        let mut all = s.drain_all().unwrap_or_default();
        all.sort();
        if crate::fence_all().is_ok() || !crate::is_available() {
            assert_eq!(all, [1, 2]);
        }
    }

    #[test]
    fn both_paths_mix_without_loss() {
        // Half the threads drive the fallback path directly, next to rseq-path threads.
        let s = Arc::new(PerCpuStack::new());
        const PER: u64 = 10_000;
        let workers: Vec<_> = (0..4u64)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    let mut popped = Vec::new();
                    for i in 0..PER {
                        if t % 2 == 0 {
                            s.push(t * PER + i);
                            popped.extend(s.pop());
                        } else {
                            s.push_fallback(Node::new(t * PER + i));
                            popped.extend(s.pop_fallback().map(Node::into_inner));
                        }
                    }
                    popped
                })
            })
            .collect();
        let mut seen: Vec<u64> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        let Ok(rest) = s.drain_all() else { return };
        seen.extend(rest);
        let unique: HashSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "duplicates");
        assert_eq!(seen.len() as u64, 4 * PER, "lost items");
    }

    #[test]
    fn concurrent_drains_lose_and_duplicate_nothing() {
        if crate::fence_all().is_err() {
            return;
        }
        let s = Arc::new(PerCpuStack::new());
        const PER: u64 = 20_000;
        let workers: Vec<_> = (0..3u64)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    let mut popped = Vec::new();
                    for i in 0..PER {
                        s.push(t * PER + i);
                        if i.is_multiple_of(3) {
                            popped.extend(s.pop());
                        }
                    }
                    popped
                })
            })
            .collect();
        let mut seen = Vec::new();
        while workers.iter().any(|w| !w.is_finished()) {
            seen.extend(s.drain_all().unwrap());
        }
        for w in workers {
            seen.extend(w.join().unwrap());
        }
        seen.extend(s.drain_all().unwrap());
        let unique: HashSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "duplicates");
        assert_eq!(seen.len() as u64, 3 * PER, "lost items");
    }
}
