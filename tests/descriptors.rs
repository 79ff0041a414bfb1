//! Walks every rseq descriptor of this test binary at run time, through the linker's
//! start/stop symbols of `__rseq_cs_ptr_array` and `__rseq_exit_point_array`, and checks it
//! with rseq-verify's checker (the one the `rseq-verify` tool runs on files): version and
//! flags 0, 32-byte alignment, start and end in one executable mapping, the abort handler
//! outside the section with the signature in the 4 bytes before it, and every exit point
//! leaving a known section for code. Then the tool's reading of this binary's file must agree.

// The rseq descriptors of sections: only a target with an rseq backend has them.
#![cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]

use rseq_dsl::{rseq, Outcome};
use rseq_verify::{check, ElfImage, FileReport, ProcessImage, Report, Tables};

extern "C" {
    // Defined by the linker for sections whose names are C identifiers.
    static __start___rseq_cs_ptr_array: [u64; 0];
    static __stop___rseq_cs_ptr_array: [u64; 0];
    static __start___rseq_exit_point_array: [u64; 0];
    static __stop___rseq_exit_point_array: [u64; 0];
}

/// The words between a start and a stop symbol.
///
/// # Safety
/// `start..stop` must be a linker-defined array of u64 in this binary.
unsafe fn words(start: *const u64, stop: *const u64) -> &'static [u64] {
    // SAFETY: the linker places both symbols around one contiguous, 8-byte aligned array
    // that lives as long as the program; a stop before the start would be a linker bug.
    unsafe {
        let len = stop.offset_from(start);
        assert!(len >= 0, "stop symbol before start symbol");
        std::slice::from_raw_parts(start, len as usize)
    }
}

/// The two arrays as this process sees them: relocated by the loader.
fn tables() -> Tables {
    // SAFETY: each pair of symbols delimits one array of u64 (pointers; (start, exit) pairs).
    let (pointers, exits) = unsafe {
        (
            words(
                __start___rseq_cs_ptr_array.as_ptr(),
                __stop___rseq_cs_ptr_array.as_ptr(),
            ),
            words(
                __start___rseq_exit_point_array.as_ptr(),
                __stop___rseq_exit_point_array.as_ptr(),
            ),
        )
    };
    Tables::from_words(pointers, exits)
}

/// Panics with every finding unless there is none (warnings included: our code has no excuse).
fn assert_clean(what: &str, kind: &str, report: Report) -> Report {
    let report = FileReport::new(what, kind, report);
    assert!(
        report.violations == 0 && report.warnings == 0,
        "{}{}",
        report.findings(),
        report.summary()
    );
    println!("{}", report.summary());
    report.report
}

/// Sections of this file, run once each; how many sections and exits they instantiate.
const SECTIONS: usize = 5;
const EXITS: usize = 3;

#[inline(never)]
fn exercise() {
    let mut counter = [0u64; 1];
    let mut lock = [0usize; 1];
    let mut len = [0usize; 1];
    let mut items = [0u64; 2];
    let (c, l, n, it) = (
        counter.as_mut_ptr(),
        lock.as_mut_ptr(),
        len.as_mut_ptr(),
        items.as_mut_ptr(),
    );
    // SAFETY: every pointer is to a live local (one thread: no per-CPU split needed).
    unsafe {
        let out = rseq!(|cpu| {
            in slot: *mut u64 = c;
            let v: u64 = *slot;
            commit *slot = v + 1;
        });
        assert!(out.unwrap().is_committed());
        let out = rseq!(|cpu| { in slot: *mut u64 = c; commit *slot += 1; });
        assert!(out.unwrap().is_committed());
        for expect_exit in [false, true] {
            let out = rseq!(|cpu| {
                in lock: *mut usize = l;
                let held: usize = *lock;
                if held != 0 { exit; }
                commit *lock = 1;
            });
            assert_eq!(out.unwrap().is_committed(), !expect_exit);
        }
        for item in 1..=3u64 {
            let out = rseq!(|cpu| {
                in len_p: *mut usize = n;
                in slots: *mut u64 = it;
                in item: u64 = item;
                let len: usize = *len_p;
                if len == 2 { exit len; }
                store *slots.add(len) = item;
                commit(release) *len_p = len + 1;
            });
            match out.unwrap() {
                Outcome::Committed { .. } => assert!(item <= 2),
                Outcome::Exited { value, .. } => assert_eq!((item, value), (3, 2)),
                Outcome::Aborted => unreachable!("the section retries"),
            }
        }
        let out = rseq!(|cpu| {
            in len_p: *mut usize = n;
            in slots: *mut u64 = it;
            let len: usize = *len_p;
            if len == 0 { exit; }
            let item: u64 = *slots.add(len - 1);
            commit *len_p = len - 1;
            item
        });
        assert_eq!(out.unwrap().committed(), Some(2));
    }
    assert_eq!(counter, [2]);
    assert_eq!(lock, [1]);
    assert_eq!((len, items), ([1], [1, 2]));
}

#[test]
fn every_descriptor_and_exit_point_is_valid() {
    exercise();
    let image = ProcessImage::current().expect("/proc/self/maps and /proc/self/mem");
    let report = assert_clean("this process", "process", check(&image, &tables()));
    assert!(
        report.descriptors.len() >= SECTIONS,
        "found {} descriptors, this file alone has {SECTIONS} sections",
        report.descriptors.len()
    );
    assert!(
        report.exit_points.len() >= EXITS,
        "found {} exit points, this file alone has {EXITS} exits",
        report.exit_points.len()
    );
}

/// The tool, reading this binary's file (relocations and all), finds the same descriptors
/// as the process, each moved by the one load bias.
#[test]
fn the_file_agrees_with_the_process() {
    exercise();
    let process = ProcessImage::current().expect("/proc/self/maps and /proc/self/mem");
    let in_memory = check(&process, &tables());
    let file = ElfImage::open("/proc/self/exe").expect("this test binary parses");
    let on_disk = assert_clean("/proc/self/exe", file.kind(), check(&file, &file.tables()));
    assert_eq!(on_disk.descriptors.len(), in_memory.descriptors.len());
    assert_eq!(on_disk.exit_points.len(), in_memory.exit_points.len());
    let bias = in_memory.descriptors[0]
        .start_ip
        .wrapping_sub(on_disk.descriptors[0].start_ip);
    for (m, f) in in_memory.descriptors.iter().zip(&on_disk.descriptors) {
        assert_eq!(
            m.address.wrapping_sub(f.address),
            bias,
            "descriptor address"
        );
        assert_eq!(m.start_ip.wrapping_sub(f.start_ip), bias, "start_ip");
        assert_eq!(m.abort_ip.wrapping_sub(f.abort_ip), bias, "abort_ip");
        assert_eq!(m.post_commit_offset, f.post_commit_offset);
    }
    // Symbols come from the file; this file's sections are named after `exercise`. A
    // stripped copy (the aarch64 VM runs those) has no symbols to name them by.
    let symbols: Vec<&str> = on_disk
        .descriptors
        .iter()
        .filter_map(|d| d.symbol.as_deref())
        .collect();
    assert!(
        symbols.is_empty()
            || symbols
                .iter()
                .any(|s| s.starts_with("descriptors::exercise")),
        "no descriptor inside descriptors::exercise: {symbols:?}"
    );
}
