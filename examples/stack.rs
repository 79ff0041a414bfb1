//! Template: an intrusive per-CPU stack (push and pop sections), then the safe
//! `PerCpuStack` with its cross-CPU `drain_all`.
//!
//! Run: `cargo run --release --example stack`
//!
//! Push: `store node.next = head; commit head = node`. Pop: `top = head; if null exit;
//! commit head = top.next`. Pop has no ABA problem: only sections on this CPU change this
//! CPU's head, and the kernel restarts a section that is interrupted before its commit.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use rseq_dsl::{rseq, Outcome, PerCpu, PerCpuStack};

/// An intrusive node: `next` first, where the sections load and store it.
#[repr(C)]
struct Node {
    next: *mut Node,
    value: u64,
}

/// One head per CPU.
type Heads = PerCpu<AtomicPtr<Node>>;

/// # Safety
/// `node` is valid, owned by the caller, and not in any stack.
unsafe fn push(heads: &Heads, node: *mut Node) {
    // SAFETY: the head is the running CPU's; the node is the caller's until the commit.
    let out = unsafe {
        rseq!(|cpu| {
            in head: *mut *mut Node = heads.get_raw(cpu) as *mut *mut Node;
            in node: *mut Node = node;
            let top: *mut Node = *head;
            store *(node as *mut *mut Node) = top;
            commit(release) *head = node;
        })
    };
    out.expect("this template needs rseq");
}

fn pop(heads: &Heads) -> Option<*mut Node> {
    // SAFETY: the head is the running CPU's; `top.next` is read while `top` is still in
    // this CPU's list, which only sections on this CPU can change.
    let out = unsafe {
        rseq!(|cpu| {
            in head: *mut *mut Node = heads.get_raw(cpu) as *mut *mut Node;
            let top: *mut Node = *head;
            if top.is_null() { exit; }
            let next: *mut Node = *(top as *mut *mut Node);
            commit *head = next;
            top
        })
    };
    match out.expect("this template needs rseq") {
        Outcome::Committed { value, .. } => Some(value),
        _ => None,
    }
}

fn main() {
    if let Err(e) = rseq_dsl::registration() {
        println!("this template needs rseq: {e}");
        return;
    }
    const THREADS: u64 = 4;
    const NODES: u64 = 1_000;
    const ROUNDS: u64 = 200_000;

    // 1. The template: each thread owns NODES nodes and cycles them through the stacks.
    let heads: Arc<Heads> = Arc::new(PerCpu::new(|_| AtomicPtr::new(std::ptr::null_mut())));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let heads = heads.clone();
            std::thread::spawn(move || {
                for i in 0..NODES {
                    let node = Box::into_raw(Box::new(Node {
                        next: std::ptr::null_mut(),
                        value: t * NODES + i,
                    }));
                    // SAFETY: a fresh node.
                    unsafe { push(&heads, node) };
                }
                for _ in 0..ROUNDS {
                    if let Some(node) = pop(&heads) {
                        // SAFETY: popped, so ours; push it back (maybe onto another CPU).
                        unsafe { push(&heads, node) };
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    // Every thread is joined: walk and free the lists.
    let (mut count, mut sum) = (0u64, 0u64);
    for (cpu, head) in heads.iter().enumerate() {
        let mut p = head.swap(std::ptr::null_mut(), Ordering::Acquire);
        let mut here = 0;
        while !p.is_null() {
            // SAFETY: every node in a list is a leaked Box that only the list points to.
            let node = unsafe { Box::from_raw(p) };
            sum += node.value;
            here += 1;
            p = node.next;
        }
        println!("  cpu {cpu}: {here} nodes");
        count += here;
    }
    let n = THREADS * NODES;
    println!(
        "template stack: {count} nodes after {} pops and pushes (expected {n}), values sum {sum} (expected {})",
        THREADS * ROUNDS,
        n * (n - 1) / 2
    );
    assert_eq!((count, sum), (n, n * (n - 1) / 2));

    // 2. The safe type, with a drain of every CPU while the pushers keep going.
    let stack = Arc::new(PerCpuStack::new());
    let pushers: Vec<_> = (0..THREADS)
        .map(|t| {
            let stack = stack.clone();
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    stack.push(t * ROUNDS + i);
                    if i.is_multiple_of(1_000) {
                        // Pace the pushers so that the drains overlap them for a while.
                        std::thread::sleep(std::time::Duration::from_micros(200));
                    }
                }
            })
        })
        .collect();
    let (mut drained, mut drains) = (Vec::new(), 0);
    while pushers.iter().any(|p| !p.is_finished()) {
        match stack.drain_all() {
            Ok(items) => {
                drains += usize::from(!items.is_empty());
                drained.extend(items)
            }
            Err(e) => {
                println!("no membarrier rseq fence here: {e}");
                break;
            }
        }
    }
    pushers.into_iter().for_each(|p| p.join().unwrap());
    drained.extend(stack.drain_all().unwrap_or_default());
    drained.sort_unstable();
    drained.dedup();
    println!(
        "PerCpuStack: {drains} drains took items while {THREADS} threads pushed {}: {} distinct items taken",
        THREADS * ROUNDS,
        drained.len()
    );
}
