//! Walks every rseq descriptor of this test binary at run time, through the linker's
//! start/stop symbols of `__rseq_cs_ptr_array` and `__rseq_exit_point_array`, and checks
//! what the kernel (and debuggers) rely on: version and flags 0, a non-empty section, the
//! abort handler outside it with the signature in the 4 bytes before it, and every exit
//! point leaving a known section.

use rseq_dsl::abi::{RseqCs, SIGNATURE};
use rseq_dsl::{rseq, Outcome};

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

fn descriptors() -> Vec<&'static RseqCs> {
    // SAFETY: both symbols delimit the pointer array, one u64 per descriptor.
    let pointers = unsafe {
        words(
            __start___rseq_cs_ptr_array.as_ptr(),
            __stop___rseq_cs_ptr_array.as_ptr(),
        )
    };
    pointers
        .iter()
        .map(|&address| {
            assert_eq!(
                address % 32,
                0,
                "descriptor {address:#x} is not 32-byte aligned"
            );
            // SAFETY: each entry is the address of a descriptor in `__rseq_cs`, relocated at
            // load time, 32-byte aligned (checked above) and never written.
            unsafe { &*(address as *const RseqCs) }
        })
        .collect()
}

fn exit_points() -> Vec<(u64, u64)> {
    // SAFETY: both symbols delimit the exit point array, pairs of u64.
    let words = unsafe {
        words(
            __start___rseq_exit_point_array.as_ptr(),
            __stop___rseq_exit_point_array.as_ptr(),
        )
    };
    assert_eq!(words.len() % 2, 0, "the exit point array holds pairs");
    words.chunks(2).map(|pair| (pair[0], pair[1])).collect()
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
fn every_descriptor_is_valid() {
    exercise();
    let descriptors = descriptors();
    assert!(
        descriptors.len() >= SECTIONS,
        "found {} descriptors, this file alone has {SECTIONS} sections",
        descriptors.len()
    );
    let mut starts: Vec<u64> = descriptors.iter().map(|cs| cs.start_ip).collect();
    starts.sort_unstable();
    starts.dedup();
    assert_eq!(
        starts.len(),
        descriptors.len(),
        "two descriptors for one section"
    );
    for cs in &descriptors {
        let name = format!("section at {:#x}", cs.start_ip);
        assert_eq!(cs.version, 0, "{name}: version");
        assert_eq!(cs.flags, 0, "{name}: flags");
        assert_ne!(cs.start_ip, 0, "{name}: start_ip");
        assert!(cs.post_commit_offset > 0, "{name}: empty section");
        let end = cs.start_ip + cs.post_commit_offset;
        assert!(
            !(cs.start_ip..end).contains(&cs.abort_ip),
            "{name}: abort_ip {:#x} inside the section (ends at {end:#x})",
            cs.abort_ip
        );
        // SAFETY: abort_ip is code of this binary preceded by the 4-byte signature; code
        // pages are readable.
        let signature = unsafe { ((cs.abort_ip - 4) as *const u32).read_unaligned() };
        assert_eq!(signature, SIGNATURE, "{name}: signature before abort_ip");
    }
    println!("{} descriptors checked", descriptors.len());
}

#[test]
fn every_exit_point_leaves_a_known_section() {
    exercise();
    let descriptors = descriptors();
    let exits = exit_points();
    assert!(
        exits.len() >= EXITS,
        "found {} exit points, this file alone has {EXITS} exits",
        exits.len()
    );
    for (start_ip, exit_ip) in &exits {
        let cs = descriptors
            .iter()
            .find(|cs| cs.start_ip == *start_ip)
            .unwrap_or_else(|| panic!("exit point {start_ip:#x} -> {exit_ip:#x}: no such section"));
        let end = cs.start_ip + cs.post_commit_offset;
        assert!(
            !(cs.start_ip..end).contains(exit_ip),
            "exit {exit_ip:#x} lies inside its section {start_ip:#x}..{end:#x}"
        );
        assert_ne!(*exit_ip, cs.abort_ip, "an exit point is the abort handler");
    }
    println!("{} exit points checked", exits.len());
}
