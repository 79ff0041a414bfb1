//! The scenarios, each run by `run` with every CPU restored after it.

use super::*;

pub(super) fn topology(expect_above: bool) -> String {
    let possible = list("possible");
    let online = online();
    let present = list("present");
    let bound = possible.iter().max().unwrap() + 1;
    ensure!(
        rseq_dsl::possible_cpus() == bound,
        "possible_cpus() {} with the possible list {}",
        rseq_dsl::possible_cpus(),
        show_list(&possible)
    );
    ensure!(
        online.iter().all(|c| possible.contains(c)),
        "online {} not within possible {}",
        show_list(&online),
        show_list(&possible)
    );
    ensure!(
        !expect_above || possible.len() > online.len(),
        "--expect-possible-above-online: possible {}, online {}",
        show_list(&possible),
        show_list(&online)
    );
    ensure!(
        PerCpuCounter::new().per_cpu().len() == bound,
        "a counter's slots"
    );
    format!(
        "possible {} (possible_cpus() = {bound}), present {}, online {}",
        show_list(&possible),
        show_list(&present),
        show_list(&online)
    )
}

/// `threads` threads, `per_thread` increments each of a slot per concurrency id: the
/// exact total, ids below possible_cpus() and the thread count. Returns the ids seen.
pub(super) fn cid_increments(threads: usize, per_thread: u64) -> Vec<usize> {
    let hits = zeroes();
    let seen = Mutex::new(HashSet::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = HashSet::new();
                for _ in 0..per_thread {
                    mine.insert(bump_cid(&hits));
                }
                seen.lock().unwrap().extend(mine);
            });
        }
    });
    let total: u64 = values(&hits).iter().sum();
    ensure!(
        total == threads as u64 * per_thread,
        "mm_cid increments: {total} of {}",
        threads as u64 * per_thread
    );
    let mut seen: Vec<usize> = seen.into_inner().unwrap().into_iter().collect();
    seen.sort();
    let highest = *seen.last().unwrap();
    ensure!(
        highest < rseq_dsl::possible_cpus() && highest < threads,
        "mm_cid {highest} with {} possible CPUs and {threads} threads",
        rseq_dsl::possible_cpus()
    );
    ensure!(
        nonzero(&values(&hits)) == seen,
        "slots written {:?}, ids seen {seen:?}",
        nonzero(&values(&hits))
    );
    seen
}

pub(super) fn mm_cid_many_threads() -> Result<String, String> {
    if rseq_dsl::mm_cid().is_none() {
        return Err("the kernel does not maintain mm_cid (before Linux 6.3)".into());
    }
    let per_thread = 2000;
    let seen = cid_increments(MANY_THREADS, per_thread);
    Ok(format!(
        "{MANY_THREADS} threads x {per_thread} increments on {} online CPUs: exact; ids used {}",
        online().len(),
        show_list(&seen)
    ))
}

/// The parent: runs this binary again with its affinity set to one CPU before exec.
pub(super) fn affinity_one_cpu() -> String {
    let cpu = *affinity()
        .iter()
        .filter(|c| online().contains(c))
        .max()
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(exe);
    command.arg(format!("{CHILD_ARG}affinity:{cpu}"));
    // SAFETY: as in set_affinity.
    let set = unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        set
    };
    // SAFETY: the closure makes one system call (async-signal-safe) on the set built
    // before the fork, and allocates nothing.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || {
            if libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().expect("the affinity child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "the child restricted to cpu{cpu}: {}; stdout: {stdout}; stderr: {stderr}",
        out.status
    );
    stdout.trim().to_string()
}

/// The child: the whole process may run on `cpu` only.
pub(super) fn affinity_child(cpu: usize) -> String {
    ensure!(
        affinity() == [cpu],
        "the child's affinity is {:?}, not [{cpu}]",
        affinity()
    );
    let counter = PerCpuCounter::new();
    let hits = zeroes();
    let per_thread = 500u64;
    std::thread::scope(|s| {
        for _ in 0..MANY_THREADS {
            s.spawn(|| {
                for _ in 0..per_thread {
                    counter.add(1);
                    let index = bump_cpu(&hits);
                    assert_eq!(index, cpu, "a section indexed by cpu{index}");
                }
            });
        }
    });
    let total = MANY_THREADS as u64 * per_thread;
    ensure!(
        counter.sum() == total,
        "counter sum {} of {total}",
        counter.sum()
    );
    let per_cpu = counter.per_cpu();
    ensure!(
        per_cpu[cpu] == total && nonzero(&per_cpu) == [cpu],
        "per-CPU slots {:?}: all of {total} should be on cpu{cpu}",
        nonzero(&per_cpu)
    );
    ensure!(
        values(&hits)[cpu] == total,
        "section hits {:?}",
        values(&hits)
    );
    let mut text = format!(
        "process restricted to cpu{cpu}: {MANY_THREADS} threads x {per_thread} adds, sum {total}, all on cpu{cpu}'s slot"
    );
    if rseq_dsl::mm_cid().is_some() {
        let seen = cid_increments(MANY_THREADS, per_thread);
        text += &format!("; mm_cid increments exact, ids used {}", show_list(&seen));
    }
    text
}

// -----------------------------------------------------------------------------------
// Hot-plug scenarios
// -----------------------------------------------------------------------------------

/// Marks the values that the pinned thread pushed on CPU k.
pub(super) const K_TAG: u64 = 1 << 40;
pub(super) const K_STACK: u64 = 100;
pub(super) const K_BUFFER: u64 = 32;
pub(super) const K_ADDS: u64 = 1000;
/// Boxes of 64 bytes the pinned thread allocates and frees on k: they stay in k's cache
/// (a class of 64 bytes holds 256).
pub(super) const K_BOXES: usize = 200;
/// Load rounds (all threads together) before k goes offline, and at least after.
pub(super) const LOAD_BEFORE: u64 = 4000;
pub(super) const LOAD_AFTER: u64 = 24000;

#[derive(Default)]
pub(super) struct LoadReport {
    stack_pushed: Vec<u64>,
    stack_popped: Vec<u64>,
    buffer_pushed: Vec<u64>,
    buffer_popped: Vec<u64>,
    adds: u64,
    /// Rounds, and those that began once k was offline.
    rounds: u64,
    rounds_after: u64,
    /// Begun once k was offline, yet k's: items popped, sections committed for k.
    violations: Vec<String>,
}

/// What the load threads share: k, whether k is offline (set once the write to sysfs
/// returned: an operation that reads it true began on a machine without k), rounds done,
/// and the stop flag.
pub(super) struct LoadControl {
    k: usize,
    offline: AtomicBool,
    progress: AtomicU64,
    stop: AtomicBool,
}

pub(super) fn load(
    t: u64,
    ctl: &LoadControl,
    stack: &PerCpuStack<u64>,
    buffer: &PerCpuBuffer<u64>,
    counter: &PerCpuCounter,
    hits: &PerCpu<AtomicU64>,
) -> LoadReport {
    let mut r = LoadReport::default();
    let tag = (t + 1) << 32;
    let mut keep = Vec::new();
    let mut i = 0u64;
    while !ctl.stop.load(Ordering::Relaxed) {
        let after = ctl.offline.load(Ordering::Acquire);
        let mut check = |what: &str, v: Option<u64>| {
            if after && v.is_some_and(|v| v & K_TAG != 0) {
                r.violations
                    .push(format!("{what} returned {v:?} of offline cpu{}", ctl.k));
            }
            v
        };
        stack.push(tag | i);
        r.stack_pushed.push(tag | i);
        if !i.is_multiple_of(3) {
            if let Some(v) = check("a stack pop", stack.pop()) {
                r.stack_popped.push(v);
            }
        }
        if buffer.push(tag | i).is_ok() {
            r.buffer_pushed.push(tag | i);
        }
        if !i.is_multiple_of(3) {
            if let Some(v) = check("a buffer pop", buffer.pop()) {
                r.buffer_popped.push(v);
            }
        }
        counter.add(1);
        r.adds += 1;
        let index = bump_cpu(hits);
        if after && index == ctl.k {
            r.violations
                .push(format!("a section committed for offline cpu{index}"));
        }
        // The allocator: objects of several classes, some kept for a while.
        keep.push(vec![i as u8; 8 + (i as usize * 7) % 500]);
        if keep.len() > 16 {
            keep.swap_remove((i as usize * 5) % keep.len());
        }
        r.rounds += 1;
        r.rounds_after += after as u64;
        ctl.progress.fetch_add(1, Ordering::Relaxed);
        i += 1;
    }
    r
}

/// Waits until the load threads did `rounds` rounds in all.
pub(super) fn wait_for(ctl: &LoadControl, rounds: u64) {
    while ctl.progress.load(Ordering::Relaxed) < rounds {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

pub(super) fn cached(k: usize) -> (u64, Vec<u64>) {
    let mut bytes = vec![0; rseq_dsl::possible_cpus()];
    ALLOC.cached_bytes_per_cache(&mut bytes);
    (bytes[k], bytes)
}

pub(super) fn offline_with_items() -> String {
    ensure!(
        ALLOC.index() == Some(Index::Cpu),
        "the allocator's caches are indexed by {:?}, not by CPU (RSEQ_ALLOC_INDEX=cpu)",
        ALLOC.index()
    );
    let before = online();
    let k = *before
        .iter()
        .rev()
        .find(|&&c| hotpluggable(c))
        .expect("a CPU that can go offline");
    // This thread stays off k, so that only the pinned thread's sections and
    // allocations touch k's slots and cache.
    let others: Vec<usize> = before.iter().copied().filter(|&c| c != k).collect();
    set_affinity(0, &others).expect("affinity without k");
    let stack = PerCpuStack::new();
    let mut buffer = PerCpuBuffer::new(64);
    let counter = PerCpuCounter::new();
    let hits = zeroes();
    let mut details = Vec::new();

    // 1. Items on k from a thread pinned there, then a load on every CPU; k goes
    // offline under both; the load goes on without k.
    let ctl = LoadControl {
        k,
        offline: AtomicBool::new(false),
        progress: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    };
    let started = Instant::now();
    let (reports, k_adds, k_hits, k_cached) = std::thread::scope(|s| {
        // Inside the scope: a panic here drops them, and the pinned thread's recv ends;
        // `Stop` ends the load.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = Stop(&ctl.stop);
        let (to_pinned, pinned_rx) = mpsc::channel::<()>();
        let (ready, from_pinned) = mpsc::channel::<usize>();
        let (ctl, stack, buffer, counter, hits) = (&ctl, &stack, &buffer, &counter, &hits);
        let pinned = s.spawn(move || {
            pin(k);
            for i in 0..K_STACK {
                stack.push(K_TAG | i);
            }
            for i in 0..K_BUFFER {
                buffer.push(K_TAG | i).expect("room in k's buffer");
            }
            for _ in 0..K_ADDS {
                counter.add(1);
            }
            let boxes: Vec<Box<[u8; 64]>> = (0..K_BOXES).map(|i| Box::new([i as u8; 64])).collect();
            drop(boxes);
            assert_eq!(bump_cpu(hits), k);
            assert_eq!(os_cpu(), k, "moved off cpu{k} while pinned there");
            ready.send(0).unwrap();
            // k goes offline meanwhile: the kernel moves this thread elsewhere.
            pinned_rx.recv().unwrap();
            let index = bump_cpu(hits);
            assert_ne!(index, k, "a section ran for offline cpu{k}");
            assert_ne!(os_cpu(), k);
            counter.add(1);
            ready.send(affinity().len()).unwrap();
        });
        from_pinned.recv().expect("the pinned thread's pushes");
        ensure!(
            counter.per_cpu()[k] == K_ADDS,
            "cpu{k}'s counter slot {}, not {K_ADDS}",
            counter.per_cpu()[k]
        );
        let (cached_on_k, _) = cached(k);
        ensure!(
            cached_on_k >= (K_BOXES * 64) as u64 / 2,
            "cpu{k}'s cache holds {cached_on_k} bytes after {K_BOXES} frees of 64 bytes"
        );
        let load: Vec<_> = (0..LOAD_THREADS as u64)
            .map(|t| s.spawn(move || load(t, ctl, stack, buffer, counter, hits)))
            .collect();
        wait_for(ctl, LOAD_BEFORE);
        set_online(k, false);
        ctl.offline.store(true, Ordering::Release);
        // From here nothing may touch k's slots or cache.
        let k_adds = counter.per_cpu()[k];
        let k_hits = values(hits)[k];
        let (k_cached, _) = cached(k);
        let at_offline = ctl.progress.load(Ordering::Relaxed);
        details.push(format!(
            "cpu{k} offline after {at_offline} load rounds (online {})",
            show_list(&online())
        ));
        to_pinned.send(()).unwrap();
        let widened = from_pinned.recv().expect("the moved thread");
        pinned.join().unwrap();
        details.push(format!(
            "its pinned thread moved on (affinity now {widened} CPUs)"
        ));
        wait_for(ctl, at_offline + LOAD_AFTER);
        ctl.stop.store(true, Ordering::Relaxed);
        let reports: Vec<LoadReport> = load.into_iter().map(|h| h.join().unwrap()).collect();
        (reports, k_adds, k_hits, k_cached)
    });
    let rounds: u64 = reports.iter().map(|r| r.rounds).sum();
    let rounds_after: u64 = reports.iter().map(|r| r.rounds_after).sum();
    details.push(format!(
        "{LOAD_THREADS} threads: {rounds} rounds in {:.1} s, {rounds_after} of them begun with cpu{k} offline",
        started.elapsed().as_secs_f64()
    ));
    ensure!(
        rounds_after >= LOAD_AFTER / 2,
        "only {rounds_after} rounds with cpu{k} offline"
    );

    // Nothing ran for k while it was offline.
    let violations: Vec<&String> = reports.iter().flat_map(|r| &r.violations).collect();
    ensure!(
        violations.is_empty(),
        "{} operations on offline cpu{k}'s data, first: {}",
        violations.len(),
        violations[0]
    );
    ensure!(
        values(&hits)[k] == k_hits,
        "{} sections committed for offline cpu{k}",
        values(&hits)[k] - k_hits
    );
    ensure!(
        counter.per_cpu()[k] == k_adds,
        "offline cpu{k}'s counter slot went from {k_adds} to {}",
        counter.per_cpu()[k]
    );
    let adds: u64 = reports.iter().map(|r| r.adds).sum();
    ensure!(
        counter.sum() == K_ADDS + 1 + adds,
        "counter sum {} of {}",
        counter.sum(),
        K_ADDS + 1 + adds
    );
    let (k_cached_now, _) = cached(k);
    ensure!(
        k_cached_now == k_cached,
        "offline cpu{k}'s cache went from {k_cached} to {k_cached_now} bytes"
    );

    // 3. Every item is still reached, while k is offline.
    let drained = stack
        .drain_all()
        .expect("drain_all (membarrier's rseq fence)");
    let mut expected: Vec<u64> = (0..K_STACK).map(|i| K_TAG | i).collect();
    let mut got = drained.clone();
    for r in &reports {
        expected.extend(&r.stack_pushed);
        got.extend(&r.stack_popped);
    }
    expected.sort();
    got.sort();
    ensure!(
        got == expected,
        "stack: {} items pushed, {} popped or drained",
        expected.len(),
        got.len()
    );
    let k_items = |v: &[u64]| v.iter().filter(|&&v| v & K_TAG != 0).count();
    let k_popped: usize = reports.iter().map(|r| k_items(&r.stack_popped)).sum();
    details.push(format!(
        "drain_all: {} items, {} of cpu{k}'s {K_STACK} (the load popped {k_popped} on cpu{k} before)",
        drained.len(),
        k_items(&drained)
    ));

    let taken = buffer.take_all();
    let mut expected: Vec<u64> = (0..K_BUFFER).map(|i| K_TAG | i).collect();
    let mut got = taken.clone();
    for r in &reports {
        expected.extend(&r.buffer_pushed);
        got.extend(&r.buffer_popped);
    }
    expected.sort();
    got.sort();
    ensure!(
        got == expected,
        "buffer: {} items pushed, {} popped or taken",
        expected.len(),
        got.len()
    );
    let k_popped: usize = reports.iter().map(|r| k_items(&r.buffer_popped)).sum();
    details.push(format!(
        "take_all: {} items, {} of cpu{k}'s {K_BUFFER} (the load popped {k_popped} before)",
        taken.len(),
        k_items(&taken)
    ));
    drop((drained, taken, reports, expected, got));

    // Only this thread runs now (the compare-twice instrumentation of the VM builds
    // forbids a trim beside running sections), and nothing allocates between the
    // count and the trim.
    let mut bytes = vec![0; rseq_dsl::possible_cpus()];
    ALLOC.cached_bytes_per_cache(&mut bytes);
    let total_cached: u64 = bytes.iter().sum();
    let moved = ALLOC.trim().expect("trim (membarrier's rseq fence)");
    ALLOC.cached_bytes_per_cache(&mut bytes);
    ensure!(
        bytes[k] == 0 && moved == total_cached,
        "trim moved {moved} bytes of the {total_cached} cached (cpu{k}'s: {k_cached}); \
         cpu{k}'s cache holds {} after",
        bytes[k]
    );
    details.push(format!("trim: {moved} bytes, cpu{k}'s {k_cached} included"));

    // 4. Back online: sections run there again.
    set_online(k, true);
    std::thread::scope(|s| {
        s.spawn(|| {
            pin(k);
            for _ in 0..100 {
                assert_eq!(bump_cpu(&hits), k, "a section pinned to cpu{k} back online");
            }
            counter.add(5);
            stack.push(7);
            assert_eq!(stack.pop(), Some(7));
            buffer.push(8).unwrap();
            assert_eq!(buffer.pop(), Some(8));
            let boxes: Vec<Box<[u8; 64]>> = (0..64).map(|i| Box::new([i as u8; 64])).collect();
            drop(boxes);
            assert_eq!(os_cpu(), k);
        });
    });
    ensure!(
        values(&hits)[k] == k_hits + 100,
        "sections on cpu{k} back online"
    );
    ensure!(
        counter.per_cpu()[k] == K_ADDS + 5,
        "cpu{k}'s counter slot back online: {}",
        counter.per_cpu()[k]
    );
    let (k_cached, _) = cached(k);
    ensure!(
        k_cached >= 64 * 64,
        "cpu{k}'s cache back online holds {k_cached} bytes"
    );
    details.push(format!(
        "cpu{k} online again: 100 sections indexed {k}, its stack, buffer and cache in use"
    ));
    details.join("; ")
}

/// A CPU that was offline since boot comes online while the process runs: objects
/// made before (a stack, a buffer, a counter, the allocator's caches) work there.
pub(super) fn cpu_comes_online() -> Result<String, String> {
    let before = online();
    let Some(cpu) = list("present")
        .into_iter()
        .find(|c| !before.contains(c) && hotpluggable(*c))
    else {
        return Err(format!(
            "no present CPU is offline (present {}, online {}): the VMs boot 2 of 3",
            show_list(&list("present")),
            show_list(&before)
        ));
    };
    ensure!(
        ALLOC.index() == Some(Index::Cpu),
        "the allocator's caches are indexed by {:?}, not by CPU",
        ALLOC.index()
    );
    let stack = PerCpuStack::new();
    let mut buffer = PerCpuBuffer::new(16);
    let counter = PerCpuCounter::new();
    let hits = zeroes();
    let (cached_before, _) = cached(cpu);
    ensure!(
        cached_before == 0,
        "cpu{cpu}'s cache holds {cached_before} bytes before it was ever online"
    );
    set_online(cpu, true);
    std::thread::scope(|s| {
        let (stack, buffer, counter, hits) = (&stack, &buffer, &counter, &hits);
        s.spawn(move || {
            pin(cpu);
            for i in 0..100u64 {
                assert_eq!(bump_cpu(hits), cpu, "a section on cpu{cpu}");
                counter.add(1);
                stack.push(i);
            }
            for i in 0..16u64 {
                buffer.push(i).expect("room in the buffer");
            }
            assert_eq!(buffer.push(16), Err(16), "a full buffer");
            let boxes: Vec<Box<[u8; 64]>> = (0..64).map(|i| Box::new([i as u8; 64])).collect();
            drop(boxes);
            assert_eq!(os_cpu(), cpu);
        });
    });
    let per_cpu = counter.per_cpu();
    ensure!(
        per_cpu[cpu] == 100 && counter.sum() == 100 && values(&hits)[cpu] == 100,
        "cpu{cpu}: counter {per_cpu:?}, sections {:?}",
        values(&hits)
    );
    let (cached_now, _) = cached(cpu);
    ensure!(
        cached_now >= 64 * 64,
        "cpu{cpu}'s cache holds {cached_now} bytes"
    );
    // Offline again, with the items there: every one is reached.
    set_online(cpu, false);
    let mut drained = stack.drain_all().expect("drain_all");
    drained.sort();
    ensure!(
        drained == (0..100).collect::<Vec<u64>>(),
        "drained {} of 100",
        drained.len()
    );
    let mut taken = buffer.take_all();
    taken.sort();
    ensure!(
        taken == (0..16).collect::<Vec<u64>>(),
        "took {} of 16",
        taken.len()
    );
    ensure!(
        online() == before,
        "online {}, {} before",
        show_list(&online()),
        show_list(&before)
    );
    Ok(format!(
        "cpu{cpu} (offline since boot) online: sections indexed {cpu}, counter, stack, \
         buffer and its cache ({cached_now} bytes) in use; offline again: drain_all and \
         take_all reach every item"
    ))
}

pub(super) fn sparse_online() -> String {
    let before = online();
    let possible = list("possible");
    let mut details = Vec::new();
    // Every present CPU online first (cpu2 of the VMs, which boot 2 of 3).
    for cpu in list("present") {
        if !before.contains(&cpu) && hotpluggable(cpu) {
            set_online(cpu, true);
            details.push(format!("cpu{cpu} online"));
        }
    }
    let all = online();
    let candidates: Vec<usize> = all.iter().copied().filter(|&c| hotpluggable(c)).collect();
    // A hole in the middle: online CPUs below and above the one that goes; else one
    // above it (cpu0, where it can go); else the highest.
    let (lowest, highest) = (all[0], *all.last().unwrap());
    let hole = candidates
        .iter()
        .copied()
        .find(|&c| c > lowest && c < highest)
        .or_else(|| candidates.iter().copied().find(|&c| c < highest))
        .or_else(|| candidates.last().copied())
        .expect("a CPU that can go offline");
    set_online(hole, false);
    let now = online();
    details.push(format!(
        "cpu{hole} offline: possible {}, online {}",
        show_list(&possible),
        show_list(&now)
    ));

    let counter = PerCpuCounter::new();
    let hits = zeroes();
    let stack = PerCpuStack::new();
    let adds = 500u64;
    std::thread::scope(|s| {
        for &cpu in &now {
            let (counter, hits, stack) = (&counter, &hits, &stack);
            s.spawn(move || {
                pin(cpu);
                for i in 0..adds {
                    counter.add(1);
                    assert_eq!(bump_cpu(hits), cpu, "a section pinned to cpu{cpu}");
                    stack.push(((cpu as u64) << 32) | i);
                }
                // The CPU's stack is this thread's alone: LIFO, exactly its items.
                for i in (0..adds).rev() {
                    assert_eq!(stack.pop(), Some(((cpu as u64) << 32) | i));
                }
                assert_eq!(stack.pop(), None);
            });
        }
    });
    let sections = values(&hits);
    for (cpu, (&added, &ran)) in counter.per_cpu().iter().zip(&sections).enumerate() {
        let want = if now.contains(&cpu) { adds } else { 0 };
        ensure!(
            added == want && ran == want,
            "cpu{cpu}: counter {added} and sections {ran}, not {want}"
        );
    }
    ensure!(
        stack.drain_all().expect("drain_all").is_empty(),
        "items left after the pops"
    );
    details.push(format!(
        "{adds} adds and sections on each online CPU, 0 elsewhere"
    ));

    // Fences: offline and absent possible CPUs run nothing; past the possible ones: an error.
    for cpu in 0..rseq_dsl::possible_cpus() {
        if !now.contains(&cpu) {
            ensure!(
                rseq_dsl::fence_cpu(cpu).is_ok(),
                "fence_cpu({cpu}) on an offline CPU: {:?}",
                rseq_dsl::fence_cpu(cpu)
            );
        }
    }
    let past = rseq_dsl::possible_cpus();
    ensure!(
        matches!(rseq_dsl::fence_cpu(past), Err(FenceError::InvalidCpu(c)) if c == past),
        "fence_cpu({past}): {:?}",
        rseq_dsl::fence_cpu(past)
    );
    details.push("fences on offline CPUs succeed".into());
    if rseq_dsl::mm_cid().is_some() {
        let seen = cid_increments(MANY_THREADS / 2, 1000);
        details.push(format!(
            "mm_cid increments exact, ids used {}",
            show_list(&seen)
        ));
    }

    ensure!(restore().is_ok(), "restoring the CPUs");
    ensure!(
        online() == before,
        "online {} after, {} before",
        show_list(&online()),
        show_list(&before)
    );
    details.join("; ")
}

// -----------------------------------------------------------------------------------
// The runner
// -----------------------------------------------------------------------------------
