//! The time-slice extension (Linux 7.0+) around a user's own lock: the critical section
//! runs with an extension requested, so that the holder is rarely preempted with the lock
//! held. Where the kernel offers none (Debian's kernels are built without
//! `CONFIG_RSEQ_SLICE_EXTENSION`), the request is a no-op and the program runs the same.
//!
//! `cargo run --example slice_lock` prints what the kernel offered and how many
//! extensions it granted.

use std::sync::{Arc, Mutex};
use std::thread;

use rseq_dsl::{enable_slice_extension, slice_extension, slice_grants, SliceRequest};

fn main() {
    let shared = Arc::new(Mutex::new(Vec::<u64>::new()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                // Opt in once per thread; an error only means no extension here.
                let enabled = enable_slice_extension().is_ok();
                for i in 0..10_000u64 {
                    let mut list = shared.lock().unwrap();
                    // The lock is held: request the extension for the few microseconds
                    // of work, with no system call until the request ends.
                    let request = SliceRequest::new();
                    list.push(t * 1_000_000 + i);
                    drop(list);
                    drop(request); // yields the CPU if the kernel granted more time
                }
                enabled
            })
        })
        .collect();
    let enabled = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|on| *on)
        .count();
    let pushed = shared.lock().unwrap().len();
    assert_eq!(pushed, 40_000);
    println!(
        "40000 pushes under a mutex; extension here: {:?}, {enabled} of 4 threads opted in, {} grants",
        slice_extension(),
        slice_grants()
    );
}
