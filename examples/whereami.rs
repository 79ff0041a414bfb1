//! Prints how rseq is registered and, for a few threads, their cpu_id, mm_cid and node_id.
//!
//! Run: `cargo run --example whereami` (and with `GLIBC_TUNABLES=glibc.pthread.rseq=0` to see
//! this crate register its own area).

fn report(label: &str) {
    let cpu = rseq_dsl::current_cpu();
    let mm_cid = rseq_dsl::mm_cid().map_or("n/a".to_string(), |c| c.to_string());
    let node = rseq_dsl::node_id().map_or("n/a".to_string(), |n| n.to_string());
    match rseq_dsl::registration() {
        Ok(r) => println!(
            "{label:>9}: cpu_id {cpu:>3}  mm_cid {mm_cid:>3}  node_id {node:>2}  area {:?} by {:?}, {:?} mode ({} bytes), feature size {}, alignment {}, glibc offset {:?}, {} path",
            r.area,
            r.owner,
            r.mode,
            r.registered_len,
            r.feature_size,
            r.required_alignment,
            r.thread_pointer_offset,
            rseq_dsl::Path::current()
        ),
        Err(e) => println!("{label:>9}: cpu {cpu:>3} (the system's answer, not rseq's): {e}"),
    }
}

fn main() {
    println!("possible CPUs: {}", rseq_dsl::possible_cpus());
    report("main");
    let threads: Vec<_> = (0..4)
        .map(|i| std::thread::spawn(move || report(&format!("thread {i}"))))
        .collect();
    for t in threads {
        t.join().expect("reporting thread panicked");
    }
    // The time-slice extension (Linux 7.0+, CONFIG_RSEQ_SLICE_EXTENSION, V2 registration).
    let before = rseq_dsl::slice_extension();
    match rseq_dsl::enable_slice_extension() {
        Ok(()) => println!(
            "time-slice extension: {before:?} before opting in, then {:?}",
            rseq_dsl::slice_extension()
        ),
        Err(e) => println!("time-slice extension: {before:?} ({e}); lock guards request nothing"),
    }
}
