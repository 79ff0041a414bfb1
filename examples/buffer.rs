//! Template: a bounded per-CPU buffer of words stored inline (array + length per CPU),
//! then the safe `PerCpuBuffer`.
//!
//! Run: `cargo run --release --example buffer`
//!
//! Push: `if len == CAP exit; store items[len] = v; commit(release) len = len + 1`. The
//! store before the commit is speculative: if the section restarts it is simply redone,
//! and nothing reads `items[len]` before the commit publishes it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use rseq_dsl::{rseq, Outcome, PerCpu, PerCpuBuffer};

/// 15 words + the length: exactly one 128-byte slot.
const CAP: usize = 15;

#[repr(C)]
struct Buf {
    len: AtomicUsize,
    items: [AtomicU64; CAP],
}

/// Appends `v` to the running CPU's buffer; `false` if it is full.
fn push(bufs: &PerCpu<Buf>, v: u64) -> bool {
    // SAFETY: the buffer is the running CPU's; `len < CAP` is checked before the store.
    let out = unsafe {
        rseq!(|cpu| {
            in len_p: *mut usize = bufs.get_raw(cpu) as *mut usize;
            in v: u64 = v;
            in cap: usize = CAP;
            let len: usize = *len_p;
            if len == cap { exit; }
            let items: *mut u64 = len_p.add(1) as *mut u64;
            store *items.add(len) = v;
            commit(release) *len_p = len + 1;
        })
    };
    out.expect("this template needs rseq").is_committed()
}

/// Removes the last word of the running CPU's buffer.
fn pop(bufs: &PerCpu<Buf>) -> Option<u64> {
    // SAFETY: as in push; `len > 0` is checked before items[len - 1] is read.
    let out = unsafe {
        rseq!(|cpu| {
            in len_p: *mut usize = bufs.get_raw(cpu) as *mut usize;
            let len: usize = *len_p;
            if len == 0 { exit; }
            let items: *mut u64 = len_p.add(1) as *mut u64;
            let v: u64 = *items.add(len - 1);
            commit *len_p = len - 1;
            v
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
    assert_eq!(std::mem::size_of::<Buf>(), 128);
    const THREADS: u64 = 4;
    const OPS: u64 = 500_000;

    let bufs = Arc::new(PerCpu::new(|_| Buf {
        len: AtomicUsize::new(0),
        items: std::array::from_fn(|_| AtomicU64::new(0)),
    }));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let bufs = bufs.clone();
            std::thread::spawn(move || {
                let (mut out, mut full) = (0u64, 0u64);
                for i in 0..OPS {
                    let v = t * OPS + i;
                    if !push(&bufs, v) {
                        out += v;
                        full += 1;
                    }
                    if i.is_multiple_of(3) {
                        out += pop(&bufs).unwrap_or(0);
                    }
                }
                (out, full)
            })
        })
        .collect();
    let (mut sum, mut full) = (0u64, 0u64);
    for t in threads {
        let (s, f) = t.join().unwrap();
        sum += s;
        full += f;
    }
    for (cpu, b) in bufs.iter().enumerate() {
        let len = b.len.load(Ordering::Acquire);
        let here: u64 = b.items[..len]
            .iter()
            .map(|v| v.load(Ordering::Relaxed))
            .sum();
        println!("  cpu {cpu}: {len} of {CAP} slots in use");
        sum += here;
    }
    let n = THREADS * OPS;
    println!(
        "template buffer: {n} pushes ({full} found the buffer full), every value accounted for: {}",
        sum == n * (n - 1) / 2
    );
    assert_eq!(sum, n * (n - 1) / 2);

    // The safe type holds any T (boxed), with a fallback where rseq is unavailable.
    let strings = PerCpuBuffer::new(4);
    for word in ["per", "cpu", "buffers", "hold", "anything"] {
        if let Err(w) = strings.push(word.to_string()) {
            println!("PerCpuBuffer: full, got {w:?} back");
        }
    }
    let popped: Vec<String> = std::iter::from_fn(|| strings.pop()).collect();
    println!("PerCpuBuffer: popped {popped:?} (last in, first out)");
}
