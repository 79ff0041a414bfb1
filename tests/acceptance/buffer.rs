//! The per-CPU buffer of pointers: push (stores, then the length as commit) and pop.

use std::sync::atomic::{AtomicPtr, Ordering};

use crate::{harness::*, memory::*, modes::*, runner::*, section::*};

/// Per-CPU arrays of `cap` pointers with a length each.
pub(crate) struct PtrBuffer {
    pub(crate) lens: PerCpu,
    pub(crate) slots: Vec<AtomicPtr<Node>>,
    pub(crate) cap: usize,
}

pub(crate) fn buffer_push_section(
    index: Index,
    commit: Commit,
    buf: &PtrBuffer,
    item: *mut Node,
) -> Section<(), usize> {
    let (lens, items, cap) = (
        buf.lens.base() as *mut usize,
        buf.slots.as_ptr() as *mut *mut Node,
        buf.cap,
    );
    // SAFETY: slot i's array is items[i * cap .. (i + 1) * cap] and its length is <= cap.
    unsafe {
        section!(index, commit, |i| {
            in len_p: *mut usize = lens.add(i * STRIDE);
            in slots: *mut *mut Node = items.add(i * cap);
            in cap: usize = cap;
            in item: *mut Node = item;
            let len: usize = *len_p;
            if len == cap { exit len; }
            store *slots.add(len) = item;
        } commit {
            *len_p = len + 1;
        })
    }
}

pub(crate) fn buffer_pop_section(index: Index, buf: &PtrBuffer) -> Section<*mut Node> {
    let (lens, items, cap) = (
        buf.lens.base() as *mut usize,
        buf.slots.as_ptr() as *mut *mut Node,
        buf.cap,
    );
    // SAFETY: as in buffer_push_section.
    unsafe {
        section!(index, |i| {
            in len_p: *mut usize = lens.add(i * STRIDE);
            in slots: *mut *mut Node = items.add(i * cap);
            let len: usize = *len_p;
            if len == 0 { exit; }
            let top: usize = len - 1;
            let item: *mut Node = *slots.add(top);
            commit *len_p = top;
            item
        })
    }
}

pub(crate) fn buffer(size: &Size, mode: Mode) -> Result<Report, String> {
    let slots = rseq_dsl::possible_cpus();
    let total = slots * ITEMS_PER_SLOT;
    let nodes = new_nodes(total);
    // Any slot can come to hold every item: push never finds a buffer full.
    let buf = PtrBuffer {
        lens: PerCpu::new(),
        slots: (0..slots * total)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect(),
        cap: total,
    };
    let base = nodes_base(&nodes);
    for i in 0..total {
        let slot = i % slots;
        let len = buf.lens.word(slot).fetch_add(1, Ordering::Relaxed) as usize;
        // SAFETY: i < total = nodes.len().
        buf.slots[slot * total + len].store(unsafe { base.add(i) }, Ordering::Relaxed);
    }
    let run = run_workers(
        size,
        mode,
        false,
        &buf,
        |buf, ctx| {
            let popped = committed_or_exited(buffer_pop_section(mode.index, buf), "buffer pop");
            ctx.disturb();
            if let Some((_, item)) = popped {
                committed(
                    buffer_push_section(mode.index, mode.commit, buf, item),
                    "buffer push",
                );
            }
        },
        no_side,
    );
    let mut found = Vec::new();
    for slot in 0..slots {
        let len = buf.lens.word(slot).load(Ordering::SeqCst) as usize;
        ensure(len <= total, || {
            format!("slot {slot}: length {len} > capacity {total}")
        })?;
        for item in &buf.slots[slot * total..][..len] {
            let item = item.load(Ordering::SeqCst);
            let offset = (item as usize).wrapping_sub(base as usize) / std::mem::size_of::<Node>();
            ensure(offset < total, || {
                format!("slot {slot}: {item:?} is not an item")
            })?;
            found.push(nodes[offset].value);
        }
    }
    check_each_once(found, total).map_err(|e| format!("buffers: {e}"))?;
    Ok(Report::of(&run))
}
