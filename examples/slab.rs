//! Template: a per-CPU slab of object pointers in the shape of tcmalloc's per-CPU cache:
//! a header of `u16` indices, then the slots, reached as struct fields.
//!
//! Run: `cargo run --release --example slab`
//!
//! Push: `if current == end exit; store slots[current] = p; commit current = current + 1`.
//! Pop: `if current == begin exit; commit current = current - 1`, yielding
//! `slots[current - 1]`. The fields are named, not computed: the offsets come from rustc
//! (`offset_of!`), which also checks that `current` is the `u16` the section says it is.

use std::sync::Arc;

use rseq_dsl::{rseq, Outcome, PerCpu};

/// Slots per CPU.
const CAP: u16 = 32;

/// tcmalloc's header: `current` is the next free slot, `begin..end` the slots this CPU
/// owns (fixed here; tcmalloc moves `end` to resize a CPU's share).
struct Header {
    current: u16,
    begin: u16,
    end: u16,
}

struct Slab {
    hdr: Header,
    slots: [*mut u8; CAP as usize],
}

// SAFETY: the slots hold addresses handed between threads; the slab owns no memory.
unsafe impl Send for Slab {}
// SAFETY: slabs are changed only by sections on their own CPU.
unsafe impl Sync for Slab {}

/// Caches `object` on the running CPU's slab; gives it back when the slab is full.
fn push(slabs: &PerCpu<Slab>, object: *mut u8) -> Result<(), *mut u8> {
    // SAFETY: the slab is the running CPU's; `current < end <= CAP` before the store.
    let out = unsafe {
        rseq!(|cpu| {
            in slab: *mut Slab = slabs.get_raw(cpu);
            in object: *mut u8 = object;
            let current: u16 = (*slab).hdr.current;
            let end: u16 = (*slab).hdr.end;
            if current == end { exit; }
            store (*slab).slots[current as usize] = object;
            commit (*slab).hdr.current = current + 1;
        })
    };
    match out.expect("this template needs rseq") {
        Outcome::Committed { .. } => Ok(()),
        _ => Err(object),
    }
}

/// Takes the most recently cached object of the running CPU's slab.
fn pop(slabs: &PerCpu<Slab>) -> Option<*mut u8> {
    // SAFETY: as in push; `current > begin >= 0` before slots[current - 1] is read.
    let out = unsafe {
        rseq!(|cpu| {
            in slab: *mut Slab = slabs.get_raw(cpu);
            let current: u16 = (*slab).hdr.current;
            let begin: u16 = (*slab).hdr.begin;
            if current == begin { exit; }
            let top: u16 = current - 1;
            let object: *mut u8 = (*slab).slots[top as usize];
            commit (*slab).hdr.current = top;
            object
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
    const THREADS: usize = 4;
    const OPS: usize = 200_000;
    let slabs = Arc::new(PerCpu::new(|_| Slab {
        hdr: Header {
            current: 0,
            begin: 0,
            end: CAP,
        },
        slots: [std::ptr::null_mut(); CAP as usize],
    }));
    // Objects are 16-byte blocks of one arena; each thread frees what it allocated.
    let arena: Arc<Vec<[u8; 16]>> = Arc::new(vec![[0; 16]; THREADS * 64]);
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (slabs, arena) = (slabs.clone(), arena.clone());
            std::thread::spawn(move || {
                let mine: Vec<*mut u8> = (0..64)
                    .map(|i| arena[t * 64 + i].as_ptr() as *mut u8)
                    .collect();
                let (mut cached, mut full, mut hits) = (0usize, 0usize, 0usize);
                // Bursts longer than a slab: pushes find it full, pops find it empty.
                for i in 0..OPS {
                    if (i / 48) % 2 == 0 {
                        match push(&slabs, mine[i % 64]) {
                            Ok(()) => cached += 1,
                            Err(_) => full += 1,
                        }
                    } else if pop(&slabs).is_some() {
                        hits += 1;
                    }
                }
                (cached, full, hits)
            })
        })
        .collect();
    let (mut cached, mut full, mut hits) = (0, 0, 0);
    for t in threads {
        let (c, f, h) = t.join().unwrap();
        (cached, full, hits) = (cached + c, full + f, hits + h);
    }
    let left: usize = slabs.iter().map(|s| usize::from(s.hdr.current)).sum();
    println!(
        "template slab: {cached} objects cached ({full} pushes found the slab full), {hits} taken back, {left} left in the slabs: {}",
        if cached == hits + left { "every object accounted for" } else { "MISMATCH" }
    );
    assert_eq!(cached, hits + left);
}
