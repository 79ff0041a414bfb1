//! The per-CPU intrusive list: pop and push sections moving nodes between CPUs; every node
//! must be found once at the end.

use std::sync::atomic::Ordering;

use crate::{harness::*, memory::*, modes::*, runner::*, section::*};

pub(crate) fn list_pop_section(index: Index, heads: &PerCpu) -> Section<*mut Node> {
    let heads = heads.base() as *mut *mut Node;
    // SAFETY: a head is null or points to a live node of the scenario's node array, whose
    // `next` is null or another such node; only sections on the slot's CPU change them.
    unsafe {
        section!(index, |i| {
            in head: *mut *mut Node = heads.add(i * STRIDE);
            let top: *mut Node = *head;
            if top.is_null() { exit; }
            let next: *mut Node = *(top as *mut *mut Node);
            commit *head = next;
            top
        })
    }
}

pub(crate) fn list_push_section(
    index: Index,
    commit: Commit,
    heads: &PerCpu,
    node: *mut Node,
) -> Section<()> {
    let heads = heads.base() as *mut *mut Node;
    // SAFETY: as in list_pop_section; `node` was popped by this thread and belongs to no
    // list, so its `next` is ours to write until the commit publishes it.
    unsafe {
        section!(index, commit, |i| {
            in head: *mut *mut Node = heads.add(i * STRIDE);
            in node: *mut Node = node;
            let top: *mut Node = *head;
            store *(node as *mut *mut Node) = top;
        } commit {
            *head = node;
        })
    }
}

pub(crate) fn list(size: &Size, mode: Mode) -> Result<Report, String> {
    let slots = rseq_dsl::possible_cpus();
    let total = slots * ITEMS_PER_SLOT;
    let nodes = new_nodes(total);
    let heads = PerCpu::new();
    // ITEMS_PER_SLOT nodes on each slot's list.
    for (i, node) in nodes.iter().enumerate() {
        let head = heads.word(i % slots);
        node.next
            .store(head.load(Ordering::Relaxed) as *mut Node, Ordering::Relaxed);
        head.store(node as *const Node as u64, Ordering::Relaxed);
    }
    let run = run_workers(
        size,
        mode,
        false,
        &heads,
        |heads, ctx| {
            let popped = committed_or_exited(list_pop_section(mode.index, heads), "list pop");
            ctx.disturb();
            if let Some((_, node)) = popped {
                committed(
                    list_push_section(mode.index, mode.commit, heads, node),
                    "list push",
                );
            }
        },
        no_side,
    );
    let mut found = Vec::new();
    for slot in 0..slots {
        let mut node = heads.word(slot).load(Ordering::SeqCst) as *const Node;
        while !node.is_null() && found.len() <= total {
            // SAFETY: every list holds nodes of `nodes`, alive until the end of this fn.
            let n = unsafe { &*node };
            found.push(n.value);
            node = n.next.load(Ordering::SeqCst);
        }
    }
    check_each_once(found, total).map_err(|e| format!("lists: {e}"))?;
    Ok(Report::of(&run))
}
