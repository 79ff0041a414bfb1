//! Every kind of section once, with exact results. The sections need an rseq backend
//! (`cfg(rseq_dsl_sections)`, runtime/build.rs); on any other target they are listed as
//! ignored with that reason, and `sections_are_unavailable_without_a_backend` checks what they return
//! there instead.

use rseq_dsl::{rseq, Outcome};

#[repr(C, align(128))]
struct Padded<T>(T);

#[test]
#[cfg_attr(
    not(all(rseq_dsl_sections, target_pointer_width = "64")),
    ignore = "needs rseq: no rseq! backend for this target, or a 32-bit one, which has no form of these sections (64-bit values, or more than five registers)"
)]
fn counter_forms() {
    let n = rseq_dsl::possible_cpus();
    let mut counters: Vec<Padded<u64>> = (0..n).map(|_| Padded(0)).collect();
    let base = counters.as_mut_ptr() as *mut u64;
    const STRIDE: usize = 16;
    for _ in 0..1000 {
        let out = unsafe {
            rseq!(|cpu| {
                in slot: *mut u64 = base.add(cpu * STRIDE);
                let v: u64 = *slot;
                commit *slot = v + 1;
            })
        }
        .unwrap();
        assert!(matches!(out, Outcome::Committed { value: (), .. }));
        unsafe { rseq!(|cpu| { in slot: *mut u64 = base.add(cpu * STRIDE); commit *slot += 1; }) }
            .unwrap();
    }
    let total: u64 = counters.iter().map(|c| c.0).sum();
    assert_eq!(total, 2000);
}

#[test]
#[cfg_attr(
    not(all(rseq_dsl_sections, target_pointer_width = "64")),
    ignore = "needs rseq: no rseq! backend for this target, or a 32-bit one, which has no form of these sections (64-bit values, or more than five registers)"
)]
fn lock_and_buffer() {
    let mut lock: usize = 0;
    let p = &mut lock as *mut usize;
    let out = unsafe {
        rseq!(|cpu| {
            in lock: *mut usize = p;
            let held: usize = *lock;
            if held != 0 { exit; }
            commit *lock = 1;
        })
    }
    .unwrap();
    assert!(out.is_committed());
    let out = unsafe {
        rseq!(|cpu| {
            in lock: *mut usize = p;
            let held: usize = *lock;
            if held != 0 { exit; }
            commit *lock = 1;
        })
    }
    .unwrap();
    assert!(matches!(out, Outcome::Exited { value: (), .. }));

    const CAP: usize = 4;
    let mut len: usize = 0;
    let mut items = [0u64; CAP];
    let (len_p, items_p) = (&mut len as *mut usize, items.as_mut_ptr());
    for item in 10..20u64 {
        let out = unsafe {
            rseq!(|cpu| {
                in len_p: *mut usize = len_p;
                in slots: *mut u64 = items_p;
                in cap: usize = CAP;
                in item: u64 = item;
                let len: usize = *len_p;
                if len == cap { exit len; }
                store *slots.add(len) = item;
                commit(release) *len_p = len + 1;
            })
        }
        .unwrap();
        if item < 14 {
            assert!(out.is_committed())
        } else {
            assert_eq!(out.exited(), Some(4))
        }
    }
    assert_eq!(items, [10, 11, 12, 13]);
}

#[repr(C)]
struct Node {
    next: *mut Node,
    value: u64,
}

#[test]
#[cfg_attr(
    not(all(rseq_dsl_sections, target_pointer_width = "64")),
    ignore = "needs rseq: no rseq! backend for this target, or a 32-bit one, which has no form of these sections (64-bit values, or more than five registers)"
)]
fn stack_push_pop_copy_mm_cid_no_retry() {
    // One thread, pinned: every section below uses the same per-CPU slot.
    pin_to_current_cpu();
    let mut head_slots: Vec<*mut Node> = vec![core::ptr::null_mut(); rseq_dsl::possible_cpus()];
    let heads = head_slots.as_mut_ptr();
    let mut nodes: Vec<Node> = (0..3)
        .map(|i| Node {
            next: core::ptr::null_mut(),
            value: i,
        })
        .collect();
    for node in nodes.iter_mut() {
        let node = node as *mut Node;
        let out = unsafe {
            rseq!(|cpu| {
                in head: *mut *mut Node = heads.add(cpu);
                in node: *mut Node = node;
                let top: *mut Node = *head;
                store *(node as *mut *mut Node) = top;
                commit *head = node;
            })
        }
        .unwrap();
        assert!(out.is_committed());
    }
    let mut popped = Vec::new();
    loop {
        let out = unsafe {
            rseq!(|cpu| {
                in head: *mut *mut Node = heads.add(cpu);
                let top: *mut Node = *head;
                if top.is_null() { exit; }
                let next: *mut Node = *(top as *mut *mut Node);
                commit *head = next;
                top
            })
        }
        .unwrap();
        match out {
            Outcome::Committed { value, .. } => popped.push(unsafe { (*value).value }),
            Outcome::Exited { .. } => break,
            Outcome::Aborted => unreachable!(),
        }
    }
    assert_eq!(popped, [2, 1, 0]);

    let mut lens = vec![0usize; rseq_dsl::possible_cpus()];
    let mut records = [0u8; 64 * 16];
    let record: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
    let (len_p, slots_p) = (lens.as_mut_ptr(), records.as_mut_ptr());
    for _ in 0..2 {
        let out = unsafe {
            rseq!(|cpu| {
                in len_p: *mut usize = len_p.add(cpu);
                in slots: *mut u8 = slots_p;
                in src: *const u8 = record.as_ptr();
                let len: usize = *len_p;
                if len == 64 { exit; }
                copy(slots.byte_add(len * 16), src, 16);
                commit(release) *len_p = len + 1;
            })
        }
        .unwrap();
        assert!(out.is_committed());
    }
    assert_eq!(lens.iter().sum::<usize>(), 2);
    assert_eq!(&records[..16], &record);
    assert_eq!(&records[16..32], &record);
    assert!(records[32..].iter().all(|b| *b == 0));

    let mut by_cid = vec![0u64; rseq_dsl::possible_cpus()];
    let p = by_cid.as_mut_ptr();
    match unsafe { rseq!(mm_cid, |cid| { in slot: *mut u64 = p.add(cid); commit *slot += 5; }) } {
        Ok(out) => assert_eq!(
            out.index(),
            rseq_dsl::mm_cid().map(|_| out.index().unwrap())
        ),
        Err(e) => assert_eq!(e.reason(), rseq_dsl::Reason::MmCidUnsupported),
    }
    let out =
        unsafe { rseq!(no_retry, |cpu| { in slot: *mut u64 = p; commit *slot += 1; }) }.unwrap();
    assert!(matches!(out, Outcome::Committed { .. } | Outcome::Aborted));
}

#[test]
#[cfg_attr(
    not(all(rseq_dsl_sections, target_pointer_width = "64")),
    ignore = "needs rseq: no rseq! backend for this target, or a 32-bit one, which has no form of these sections (64-bit values, or more than five registers)"
)]
fn copy_of_a_run_time_length() {
    // Every length from 0 to past the bound, at every misalignment of source and
    // destination: exactly `n` bytes land, nothing around them changes, and a length above
    // `max` exits before writing anything.
    const MAX: usize = 40;
    let source: [u8; MAX + 16] = core::array::from_fn(|i| i as u8 + 1);
    for n in 0..=MAX + 3 {
        for (d_off, s_off) in [(0, 0), (1, 0), (0, 3), (5, 7)] {
            let mut dst = [0xeeu8; MAX + 32];
            let mut count = 0u64;
            let (d, c) = (dst.as_mut_ptr(), &raw mut count);
            let out = unsafe {
                rseq!(|cpu| {
                    in d: *mut u8 = d.add(8 + d_off);
                    in s: *const u8 = source.as_ptr().add(s_off);
                    in n: usize = n;
                    in count: *mut u64 = c;
                    copy(d, s, n, max 40);
                    commit *count += 1;
                })
            }
            .unwrap();
            let copied = if n <= MAX { n } else { 0 };
            assert_eq!(out.is_committed(), n <= MAX, "n {n}");
            assert_eq!(count, u64::from(n <= MAX));
            let start = 8 + d_off;
            assert_eq!(&dst[start..start + copied], &source[s_off..s_off + copied]);
            assert!(dst[..start].iter().all(|b| *b == 0xee), "n {n}: before");
            assert!(
                dst[start + copied..].iter().all(|b| *b == 0xee),
                "n {n}: after"
            );
        }
    }
    // A guard of the section's own, with a value: the copy has no exit, and the values it
    // moved (a `u16` length, the pointers) are still intact for the statements after it.
    let message: [u8; 64] = core::array::from_fn(|i| 100 + i as u8);
    let mut buf = [0u8; 64];
    let mut len = 0u16;
    for n in [0u16, 1, 9, 63, 64, 65, 1000] {
        buf.fill(0);
        let (b, l) = (buf.as_mut_ptr(), &raw mut len);
        let out = unsafe {
            rseq!(|cpu| {
                in b: *mut u8 = b;
                in s: *const u8 = message.as_ptr();
                in n: u16 = n;
                in len_p: *mut u16 = l;
                if n > 64 { exit n; }
                copy(b, s, n, max 64);
                store *b.add(63) = 0xffu8;
                commit *len_p = n;
            })
        }
        .unwrap();
        match out {
            Outcome::Committed { .. } => {
                let n = usize::from(n);
                assert_eq!(len, n as u16);
                let copied = n.min(63);
                assert_eq!(&buf[..copied], &message[..copied]);
                assert!(buf[copied..63].iter().all(|b| *b == 0), "n {n}");
                assert_eq!(buf[63], 0xff);
            }
            Outcome::Exited { value, .. } => {
                assert!(n > 64);
                assert_eq!(value, n);
                assert!(buf.iter().all(|b| *b == 0));
            }
            Outcome::Aborted => unreachable!(),
        }
    }
}

#[test]
#[cfg_attr(
    not(all(rseq_dsl_sections, target_pointer_width = "64")),
    ignore = "needs rseq: no rseq! backend for this target, or a 32-bit one, which has no form of these sections (64-bit values, or more than five registers)"
)]
fn narrow_and_signed_arithmetic() {
    let mut bytes: [u8; 2] = [250, 0];
    let mut word: i16 = -5;
    let (b, w) = (bytes.as_mut_ptr(), &mut word as *mut i16);
    let out = unsafe {
        rseq!(|cpu| {
            in b: *mut u8 = b;
            in w: *mut i16 = w;
            let x: u8 = *b;
            let y: u8 = x + 10;
            store *b.add(1) = y;
            let s: i16 = *w;
            if s >= 0 { exit; }
            let t: i16 = s * 3;
            let n: u32 = (t as i32 >> 1) as u32;
            commit *w = t - 1;
            n
        })
    }
    .unwrap();
    assert_eq!(bytes, [250, 4]);
    assert_eq!(word, -16);
    assert_eq!(out.committed(), Some(((-15i32) >> 1) as u32));
}

/// Narrow values where the register file is small: byte stores (on i686 only eax..edx have
/// byte forms, so the value goes through `scratch`), a shift by a register count (x86's
/// `cl`), a signed narrow exit and a literal copy (4-, 2- and 1-byte moves on i686), each
/// within i686's five registers, so that it runs natively there too.
#[test]
#[cfg_attr(
    not(rseq_dsl_sections),
    ignore = "needs rseq: no rseq! backend for this target"
)]
fn narrow_values_within_five_registers() {
    let mut bytes: [u8; 4] = [250, 0, 3, 0];
    let b = bytes.as_mut_ptr();
    let out = unsafe {
        rseq!(|cpu| {
            in b: *mut u8 = b;
            let x: u8 = *b;
            let y: u8 = x + 10;
            store *b.add(1) = y;
            let k: u8 = *b.add(2);
            commit *b.add(3) = y << k;
        })
    };
    assert!(out.unwrap().is_committed());
    assert_eq!(bytes, [250, 4, 3, 32]);

    let mut word: i16 = -5;
    let w = &mut word as *mut i16;
    for _ in 0..2 {
        // The second time `*w` is -16: still negative, the exit is not taken.
        let out = unsafe {
            rseq!(|cpu| {
                in w: *mut i16 = w;
                let s: i16 = *w;
                if s >= 0 { exit; }
                let t: i16 = s * 3;
                commit *w = t - 1;
            })
        };
        assert!(out.unwrap().is_committed());
    }
    assert_eq!(word, -49);

    let src: [u8; 7] = [1, 2, 3, 4, 5, 6, 7];
    let mut dst = [0u8; 8];
    let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
    let out = unsafe {
        rseq!(|cpu| {
            in d: *mut u8 = d;
            in s: *const u8 = s;
            copy(d, s, 7);
            commit *d.add(7) = 9;
        })
    };
    assert!(out.unwrap().is_committed());
    assert_eq!(dst, [1, 2, 3, 4, 5, 6, 7, 9]);
}

/// A header with a narrow signed field away from offset 0, read by `load_acquire`
/// through the field's address.
#[repr(C)]
struct Stopped {
    pad: u8,
    stopped: i16,
    count: u64,
}

/// `load_acquire` yields the value `*p` would, at every width and signedness (normalised:
/// a narrow signed value sign-extended, an unsigned one zero-extended), through every
/// address shape: a bare pointer, a constant offset, an index, a field's address, and a
/// pointer loaded with acquire itself.
#[test]
#[cfg_attr(
    not(all(rseq_dsl_sections, target_pointer_width = "64")),
    ignore = "needs rseq: no rseq! backend for this target, or a 32-bit one, which has no form of these sections (64-bit values, or more than five registers)"
)]
fn load_acquire_every_width() {
    let bytes: [u8; 2] = [0x7f, 0xfe];
    let halves: [u16; 2] = [1, 0xfffe];
    let words: [u32; 2] = [1, 0xffff_fffd];
    let quads: [u64; 2] = [1, u64::MAX - 4];
    let mut out = [0u64; 5];
    let (b, h, w, q, o) = (
        bytes.as_ptr(),
        halves.as_ptr(),
        words.as_ptr(),
        quads.as_ptr(),
        out.as_mut_ptr(),
    );
    let unsigned = unsafe {
        rseq!(|cpu| {
            in b: *const u8 = b;
            in h: *const u16 = h;
            in w: *const u32 = w;
            in q: *const u64 = q;
            in o: *mut u64 = o;
            in one: usize = 1;
            let v8: u8 = b.add(one).load_acquire();
            store *o = v8 as u64;
            let v16: u16 = h.add(1).load_acquire();
            store *o.add(1) = v16 as u64;
            let v32: u32 = w.add(one).load_acquire();
            store *o.add(2) = v32 as u64;
            let v64: u64 = q.add(1).load_acquire();
            store *o.add(3) = v64;
            let first: u8 = b.load_acquire();
            commit *o.add(4) = first as u64;
            v8
        })
    }
    .unwrap();
    assert_eq!(unsigned.committed(), Some(0xfe));
    assert_eq!(out, [0xfe, 0xfffe, 0xffff_fffd, u64::MAX - 4, 0x7f]);

    let sbytes: [i8; 2] = [1, -2];
    let shalves: [i16; 2] = [1, -3];
    let swords: [i32; 2] = [1, -4];
    let squads: [i64; 2] = [1, -5];
    let stopped = Stopped {
        pad: 0,
        stopped: -9,
        count: 0,
    };
    let target: i64 = -6;
    let pointers: [*const i64; 2] = [std::ptr::null(), &target];
    let mut out = [0i64; 7];
    let (b, h, w, q, s, pp, o) = (
        sbytes.as_ptr(),
        shalves.as_ptr(),
        swords.as_ptr(),
        squads.as_ptr(),
        &stopped as *const Stopped,
        pointers.as_ptr(),
        out.as_mut_ptr(),
    );
    let signed = unsafe {
        rseq!(|cpu| {
            in b: *const i8 = b;
            in h: *const i16 = h;
            in w: *const i32 = w;
            in q: *const i64 = q;
            in s: *const Stopped = s;
            in pp: *const *const i64 = pp;
            in o: *mut i64 = o;
            let v8: i8 = b.add(1).load_acquire();
            store *o = v8 as i64;
            let v16: i16 = h.add(1).load_acquire();
            store *o.add(1) = v16 as i64;
            let v32: i32 = w.add(1).load_acquire();
            store *o.add(2) = v32 as i64;
            let v64: i64 = q.add(1).load_acquire();
            store *o.add(3) = v64;
            let field: *const i16 = &raw const (*s).stopped;
            let stop: i16 = field.load_acquire();
            store *o.add(4) = stop as i64;
            let p: *const i64 = pp.add(1).load_acquire();
            if p.is_null() { exit; }
            let t: i64 = p.load_acquire();
            store *o.add(5) = t;
            // Compared as loaded: a value not sign-extended would be positive.
            if v8 >= 0 { exit; }
            commit *o.add(6) = 1;
        })
    }
    .unwrap();
    assert!(signed.is_committed(), "{signed:?}");
    assert_eq!(out, [-2, -3, -4, -5, -9, -6, 1]);
    assert_eq!((stopped.pad, stopped.count), (0, 0));
}

#[cfg(target_os = "linux")]
fn pin_to_current_cpu() {
    let cpu = rseq_dsl::current_cpu();
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

/// Elsewhere the test that pins is ignored (no backend), yet compiled.
#[cfg(not(target_os = "linux"))]
fn pin_to_current_cpu() {}

/// `registered` sections never register a thread: on a fresh thread they return
/// `NotRegistered` and leave the thread as it was; once anything else registered it, they
/// run like any section (and `mm_cid` ones report a kernel without it as a plain one does).
#[test]
#[cfg_attr(
    not(all(rseq_dsl_sections, target_pointer_width = "64")),
    ignore = "needs rseq: no rseq! backend for this target, or a 32-bit one, which has no form of these sections (64-bit values, or more than five registers)"
)]
fn registered_sections_never_register() {
    std::thread::spawn(|| {
        let mut slots = vec![0u64; rseq_dsl::possible_cpus()];
        let p = slots.as_mut_ptr();
        let by_cpu =
            || unsafe { rseq!(registered, |cpu| { in slot: *mut u64 = p.add(cpu); commit *slot += 1; }) };
        let by_cid = || unsafe {
            rseq!(registered, mm_cid, no_retry, |cid| { in slot: *mut u64 = p.add(cid); commit *slot += 10; })
        };
        let not_registered = rseq_dsl::Reason::NotRegistered;
        assert_eq!(by_cpu().unwrap_err().reason(), not_registered);
        assert_eq!(by_cid().unwrap_err().reason(), not_registered);
        // Still not registered: a second try finds the same.
        assert_eq!(by_cpu().unwrap_err().reason(), not_registered);
        assert_eq!(slots.iter().sum::<u64>(), 0);

        if !rseq_dsl::is_available() {
            // Registration failed: `registered` sections keep refusing, plain ones report why.
            assert_eq!(by_cpu().unwrap_err().reason(), not_registered);
            return;
        }
        assert!(by_cpu().unwrap().is_committed());
        let mut expected = 1;
        match by_cid() {
            Ok(Outcome::Committed { .. }) => expected += 10,
            Ok(Outcome::Aborted) => {}
            Ok(other) => panic!("no exit in the section, yet {other:?}"),
            Err(e) => {
                assert_eq!(e.reason(), rseq_dsl::Reason::MmCidUnsupported);
                assert!(rseq_dsl::mm_cid().is_none());
            }
        }
        assert_eq!(slots.iter().sum::<u64>(), expected);
    })
    .join()
    .unwrap();
}

/// Without a backend a section still type-checks its inputs, then returns the typed
/// `Unavailable` error, whose reason names the target, and writes nothing.
#[cfg(not(all(rseq_dsl_sections, target_pointer_width = "64")))]
#[test]
fn sections_are_unavailable_without_a_backend() {
    let mut slot = 0u64;
    let p = &mut slot as *mut u64;
    let out = unsafe { rseq!(|cpu| { in slot: *mut u64 = p; commit *slot += 1; }) };
    let e = out.expect_err("a section ran on a target without an rseq backend");
    let message = e.to_string().to_lowercase();
    println!("{message}");
    assert_eq!(slot, 0);
    let arch = std::env::consts::ARCH;
    let names = [
        std::env::consts::OS,
        arch,
        if arch == "x86" { "i686" } else { arch },
    ];
    assert!(
        names.iter().any(|name| message.contains(name)),
        "the reason does not name the target ({names:?}): {message}"
    );
}
