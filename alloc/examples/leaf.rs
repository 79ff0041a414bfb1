//! The allocator as a program's global allocator, and nothing else: scripts/leaf-ci.sh
//! disassembles this binary's `__rust_alloc` and `__rust_dealloc` and requires them to be
//! leaves (no call but tail calls, no register saves), with rseq-dsl's `stats` on.
//!
//! `cargo run -p rseq-dsl-alloc --example leaf` prints what it allocated.

#[global_allocator]
static ALLOC: rseq_dsl_alloc::RseqAlloc = rseq_dsl_alloc::RseqAlloc;

fn main() {
    let v: Vec<Box<u64>> = (0..1000).map(Box::new).collect();
    let sum: u64 = v.iter().map(|b| **b).sum();
    println!("1000 boxes through RseqAlloc, sum {sum}");
}
