use rseq_dsl::{rseq, Outcome};

#[repr(C, align(128))]
struct Padded<T>(T);

#[test]
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
