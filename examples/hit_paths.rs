//! The per-CPU counter four ways, each an out-of-line function, for
//! `scripts/hit-paths.sh`, which disassembles this binary and counts the instructions of
//! each function's hit path (docs/hit-paths.md):
//!
//! - `counter_rseq`: `rseq!` as a user writes it (the thread registers on first use);
//! - `counter_rseq_registered`: `rseq!(registered, ...)`, for callers whose thread is
//!   registered already (no call on any path, as librseq's operations assume);
//! - `counter_percpu`: [`PerCpuCounter::add`](rseq_dsl::PerCpuCounter::add);
//! - `counter_handwritten`: the sequence librseq's `rseq_load_add_store__ptr` amounts to,
//!   written by hand in `asm!` (x86_64 and aarch64), the reference.
//!
//! `cargo run --release --example hit_paths` runs each and prints the counts it added.

use std::hint::black_box;

use rseq_dsl::{rseq, PerCpuCounter};

/// Slots 16 bytes apart, as the counter: `base + cpu * 16`.
#[no_mangle]
#[inline(never)]
fn counter_rseq(base: *mut u64) {
    // SAFETY: `base` has a 16-byte slot per possible CPU (see main). Like the hand-written
    // one, it returns nothing: main counts the slots.
    let _ = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu * 2);
            commit *slot += 1;
        })
    };
}

#[no_mangle]
#[inline(never)]
fn counter_rseq_registered(base: *mut u64) {
    // SAFETY: as above.
    let _ = unsafe {
        rseq!(registered, |cpu| {
            in slot: *mut u64 = base.add(cpu * 2);
            commit *slot += 1;
        })
    };
}

#[no_mangle]
#[inline(never)]
pub fn counter_percpu(counter: &PerCpuCounter) {
    counter.add(1);
}

/// librseq's shape: the area at a fixed offset from the thread pointer (here glibc's
/// `__rseq_offset`, passed in as librseq keeps it in a global), `cpu_id_start` read
/// outside, the descriptor stored, `cpu_id` compared inside, one add as the commit; an
/// abort retries. Returns false only where glibc owns no area.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[no_mangle]
#[inline(never)]
pub fn counter_handwritten(base: *mut u64, offset: isize) {
    // SAFETY: `offset` is glibc's __rseq_offset, so fs:offset is this thread's area;
    // `base` has a slot per possible CPU; the descriptor lies in __rseq_cs.
    unsafe {
        core::arch::asm!(
            "  .pushsection __rseq_cs, \"aw\"",
            "  .balign 32",
            "3:",
            "  .long 0, 0",
            "  .quad 4f, (5f - 4f), 6f",
            "  .popsection",
            "2:",
            "mov {cpu:e}, dword ptr fs:[{offset}]",
            "lea {desc}, [rip + 3b]",
            "mov qword ptr fs:[{offset} + 8], {desc}",
            "4:",
            "cmp dword ptr fs:[{offset} + 4], {cpu:e}",
            "jne 6f",
            "shl {cpu}, 4",
            "add qword ptr [{base} + {cpu}], 1",
            "5:",
            "  .pushsection __rseq_failure, \"ax\"",
            "  .byte 0x0f, 0xb9, 0x3d",
            "  .long 0x53053053",
            "6:",
            "jmp 2b",
            "  .popsection",
            base = in(reg) base,
            offset = in(reg) offset,
            cpu = out(reg) _,
            desc = out(reg) _,
            options(nostack)
        );
    }
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
#[no_mangle]
#[inline(never)]
pub fn counter_handwritten(base: *mut u64, offset: isize) {
    // SAFETY: as on x86_64; tpidr_el0 + offset is this thread's area.
    unsafe {
        core::arch::asm!(
            "  .pushsection __rseq_cs, \"aw\"",
            "  .balign 32",
            "3:",
            "  .long 0, 0",
            "  .quad 4f, (5f - 4f), 6f",
            "  .popsection",
            "mrs {area}, tpidr_el0",
            "add {area}, {area}, {offset}",
            "2:",
            "ldr {cpu:w}, [{area}]",
            "adrp {desc}, 3b",
            "add {desc}, {desc}, :lo12:3b",
            "str {desc}, [{area}, #8]",
            "4:",
            "ldr {desc:w}, [{area}, #4]",
            "cmp {desc:w}, {cpu:w}",
            "b.ne 6f",
            "add {cpu}, {base}, {cpu}, lsl #4",
            "ldr {desc}, [{cpu}]",
            "add {desc}, {desc}, #1",
            "str {desc}, [{cpu}]",
            "5:",
            "  .pushsection __rseq_failure, \"ax\"",
            "  .inst 0xd428bc00",
            "6:",
            "b 2b",
            "  .popsection",
            base = in(reg) base,
            offset = in(reg) offset,
            area = out(reg) _,
            cpu = out(reg) _,
            desc = out(reg) _,
            options(nostack)
        );
    }
}

fn main() {
    let cpus = rseq_dsl::possible_cpus();
    let mut slots = vec![0u64; 2 * cpus];
    let base = slots.as_mut_ptr();
    let counter = PerCpuCounter::new();
    for _ in 0..1000 {
        counter_rseq(black_box(base));
        counter_rseq_registered(black_box(base));
        counter_percpu(&counter);
    }
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        match rseq_dsl::registration()
            .ok()
            .and_then(|r| r.thread_pointer_offset)
        {
            Some(offset) => {
                for _ in 0..1000 {
                    counter_handwritten(base, offset);
                }
                println!("hand-written: 1000 adds on glibc's area");
            }
            None => println!("hand-written: not run (glibc owns no rseq area here)"),
        }
    }
    let total: u64 = slots.iter().sum();
    // Where rseq is unavailable the sections add nothing (and PerCpuCounter falls back).
    println!(
        "slots sum {total} (2000 where rseq runs, more with the hand-written adds); PerCpuCounter sum {}",
        counter.sum()
    );
}
