//! CPUs that come and go (issue 22, item 8): the per-CPU building blocks and the allocator's
//! caches while CPUs go offline and come back, with sparse CPU lists, under an affinity of
//! one CPU, and with far more threads than CPUs under `mm_cid` indexing. Exact results in
//! every scenario.
//!
//! Scenarios (one line each, `hotplug: ok <name>: ...` or `hotplug: FAILED <name>: ...`):
//!
//! - `topology`: the runtime's `possible_cpus()` is one past the highest CPU of
//!   `/sys/devices/system/cpu/possible`, and online CPUs are possible ones; with
//!   `--expect-possible-above-online` (the VMs: 3 CPUs, booted with `maxcpus=2`) the kernel
//!   must report more possible than online CPUs.
//! - `affinity_one_cpu`: a child process whose affinity allows one CPU (set before it
//!   exec'd), 64 threads adding to a `PerCpuCounter`: the exact total, all of it on that
//!   CPU's slot, every section indexed by that CPU; with `mm_cid`, exact increments too.
//! - `mm_cid_many_threads`: 64 threads (far more than the CPUs) incrementing a slot per
//!   concurrency id with a plain load and store (two threads sharing an id at once would
//!   lose updates): the exact total, every id below `possible_cpus()` and the thread count.
//!
//! These run wherever rseq works. The rest offline CPUs through sysfs, so they run only as
//! root with a writable `/sys/devices/system/cpu/cpuN/online` *and* `RSEQ_DSL_TEST_HOTPLUG=1`
//! (the VMs of scripts/vm.sh set it; a `cargo test` on a host never offlines its CPUs):
//!
//! - `offline_with_items`: a thread pinned to CPU k pushes onto a `PerCpuStack`, a
//!   `PerCpuBuffer`, adds to a `PerCpuCounter` and fills the allocator's cache of k (the
//!   binary's global allocator, `RseqAlloc`, indexed by CPU); then k goes offline. The pinned
//!   thread is moved off k and its sections commit elsewhere; 8 threads push, pop, count,
//!   allocate and run sections meanwhile: no section commits with index k, k's counter slot
//!   and cache are unchanged, no pop returns one of k's items. With k still offline:
//!   `drain_all` returns exactly k's items and the load's leftovers, the buffer's
//!   `take_all` too, `trim` moves the cached bytes (k's cache included) and leaves every
//!   cache empty. Then k comes back online, and a thread pinned there commits sections
//!   indexed k, pushes and pops on k's stack and buffer, and refills k's cache.
//! - `cpu_comes_online`: a present CPU that has been offline since boot (the VMs boot 2 of
//!   their 3 CPUs, `maxcpus=2`) comes online under objects made before: a thread pinned there
//!   commits sections indexed by it, counts, pushes, fills the buffer and the allocator's
//!   cache for it (which existed, empty, since the caches were mapped); offline again, every
//!   item is reached by `drain_all` and `take_all`.
//! - `sparse_online`: every present CPU online, then one in the middle offline (online
//!   `0,2` of possible `0-2`; without a middle one, one below an online CPU, cpu0 where the
//!   kernel lets it go, else the highest): a thread pinned to each online CPU counts and
//!   runs sections indexed by exactly that CPU, LIFO on its stack; offline and absent CPUs'
//!   slots stay 0; fences on offline CPUs succeed, past the possible ones fail; `mm_cid`
//!   increments stay exact.
//!
//! Every CPU this binary took offline is brought back online, and every one it brought
//! online taken offline again, at the end of each scenario, after a failure too (and
//! scripts/vm/init.c puts every CPU back as it was at boot after each test).

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOC: rseq_dsl_alloc::RseqAlloc = rseq_dsl_alloc::RseqAlloc::new();

#[cfg(not(target_os = "linux"))]
fn main() {
    println!(
        "skipped: hotplug: CPU hot-plug and affinity are Linux's, and this target is {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
}

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashSet;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::process::{Command, ExitCode};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::mpsc;
    use std::sync::Mutex;
    use std::time::Instant;

    use rseq_dsl::{rseq, FenceError, Outcome, PerCpu, PerCpuBuffer, PerCpuCounter, PerCpuStack};
    use rseq_dsl_alloc::Index;

    use super::ALLOC;

    const SYS_CPU: &str = "/sys/devices/system/cpu";
    const CHILD_ARG: &str = "--hotplug-child=";
    /// Threads of the load, of the affinity child and of the mm_cid scenarios.
    const LOAD_THREADS: usize = 8;
    const MANY_THREADS: usize = 64;

    macro_rules! ensure {
        ($cond:expr, $($msg:tt)+) => {
            if !$cond {
                panic!($($msg)+);
            }
        };
    }

    // -----------------------------------------------------------------------------------
    // CPU lists, sysfs and affinity
    // -----------------------------------------------------------------------------------

    /// "0-3,5,7-8" -> [0, 1, 2, 3, 5, 7, 8].
    fn parse_list(text: &str) -> Vec<usize> {
        let mut out = Vec::new();
        for part in text.trim().split(',').filter(|p| !p.is_empty()) {
            match part.split_once('-') {
                Some((a, b)) => out.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
                None => out.push(part.parse().unwrap()),
            }
        }
        out
    }

    fn show_list(cpus: &[usize]) -> String {
        let mut out = Vec::new();
        let mut i = 0;
        while i < cpus.len() {
            let mut j = i;
            while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
                j += 1;
            }
            out.push(if i == j {
                cpus[i].to_string()
            } else {
                format!("{}-{}", cpus[i], cpus[j])
            });
            i = j + 1;
        }
        if out.is_empty() {
            "(none)".into()
        } else {
            out.join(",")
        }
    }

    fn list(name: &str) -> Vec<usize> {
        let text = std::fs::read_to_string(format!("{SYS_CPU}/{name}"))
            .unwrap_or_else(|e| panic!("{SYS_CPU}/{name}: {e}"));
        parse_list(&text)
    }

    fn online() -> Vec<usize> {
        list("online")
    }

    fn online_file(cpu: usize) -> String {
        format!("{SYS_CPU}/cpu{cpu}/online")
    }

    /// Whether `cpu` can be taken offline and back by this process.
    fn hotpluggable(cpu: usize) -> bool {
        let path = std::ffi::CString::new(online_file(cpu)).unwrap();
        // SAFETY: a NUL-terminated path; access reads nothing else.
        unsafe { libc::access(path.as_ptr(), libc::W_OK) == 0 }
    }

    /// CPUs this process took offline, and brought online, for `restore`.
    static OFFLINED: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    static ONLINED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    fn set_online(cpu: usize, on: bool) {
        let (mine, undo) = if on {
            (&ONLINED, &OFFLINED)
        } else {
            (&OFFLINED, &ONLINED)
        };
        let mut undo = undo.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = undo.iter().position(|&c| c == cpu) {
            undo.remove(i); // back as it was
        } else {
            mine.lock().unwrap_or_else(|e| e.into_inner()).push(cpu);
        }
        drop(undo);
        std::fs::write(online_file(cpu), if on { "1" } else { "0" })
            .unwrap_or_else(|e| panic!("cpu{cpu} {}: {e}", if on { "online" } else { "offline" }));
        ensure!(
            online().contains(&cpu) == on,
            "cpu{cpu}: the online list {} after writing {}",
            show_list(&online()),
            on as u8
        );
    }

    /// Brings every CPU this process took offline back online, takes those it brought
    /// online offline again, and sets the calling thread's affinity back to every possible
    /// CPU; reports what it could not.
    fn restore() -> Result<(), String> {
        let offlined = std::mem::take(&mut *OFFLINED.lock().unwrap_or_else(|e| e.into_inner()));
        let onlined = std::mem::take(&mut *ONLINED.lock().unwrap_or_else(|e| e.into_inner()));
        let mut errors = Vec::new();
        for (cpus, on) in [(offlined, true), (onlined, false)] {
            for cpu in cpus {
                if online().contains(&cpu) != on {
                    if let Err(e) = std::fs::write(online_file(cpu), if on { "1" } else { "0" }) {
                        let what = if on { "online" } else { "offline" };
                        errors.push(format!("cpu{cpu} {what}: {e}"));
                    }
                }
            }
        }
        if let Err(e) = set_affinity(0, &list("possible")) {
            errors.push(format!("affinity: {e}"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "could not bring back online: {}",
                errors.join(", ")
            ))
        }
    }

    fn set_affinity(pid: libc::pid_t, cpus: &[usize]) -> std::io::Result<()> {
        // SAFETY: cpu_set_t is plain data, all zeroes the empty set; CPU_SET stays within
        // it for CPU numbers below CPU_SETSIZE (checked).
        let rc = unsafe {
            let mut set: libc::cpu_set_t = core::mem::zeroed();
            for &cpu in cpus {
                assert!(cpu < libc::CPU_SETSIZE as usize);
                libc::CPU_SET(cpu, &mut set);
            }
            libc::sched_setaffinity(pid, core::mem::size_of::<libc::cpu_set_t>(), &set)
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    fn affinity() -> Vec<usize> {
        // SAFETY: as in set_affinity; CPU_ISSET reads within the set.
        unsafe {
            let mut set: libc::cpu_set_t = core::mem::zeroed();
            let rc = libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set);
            assert_eq!(
                rc,
                0,
                "sched_getaffinity: {}",
                std::io::Error::last_os_error()
            );
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        }
    }

    /// Pins the calling thread to `cpu` and checks that it runs there.
    fn pin(cpu: usize) {
        set_affinity(0, &[cpu]).unwrap_or_else(|e| panic!("pin to cpu{cpu}: {e}"));
        ensure!(
            os_cpu() == cpu,
            "pinned to cpu{cpu}, yet on cpu{}",
            os_cpu()
        );
    }

    fn os_cpu() -> usize {
        // SAFETY: no preconditions.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).expect("sched_getcpu")
    }

    // -----------------------------------------------------------------------------------
    // Sections
    // -----------------------------------------------------------------------------------

    /// Slot `index` += 1 with a plain load and store, indexed by CPU: the index it ran for.
    fn bump_cpu(hits: &PerCpu<AtomicU64>) -> usize {
        // SAFETY: the slot is the running CPU's (get_raw checks the bound), only written by
        // sections on that CPU; the aligned store is single-copy atomic for the readers'
        // atomic loads.
        let out = unsafe {
            rseq!(|cpu| {
                in slot: *mut u64 = hits.get_raw(cpu) as *mut u64;
                let v: u64 = *slot;
                commit *slot = v + 1;
            })
        };
        match out {
            Ok(Outcome::Committed { index, .. }) => index,
            other => panic!("a cpu section: {other:?}"),
        }
    }

    /// Slot `cid` += 1 with a plain load and store, indexed by the concurrency id.
    fn bump_cid(hits: &PerCpu<AtomicU64>) -> usize {
        // SAFETY: mm_cid is below possible_cpus(), the slots' count (get_raw checks it); a
        // concurrency id belongs to one running thread at a time, and the section commits
        // only while it holds it.
        let out = unsafe {
            rseq!(mm_cid, |cid| {
                in slot: *mut u64 = hits.get_raw(cid) as *mut u64;
                let v: u64 = *slot;
                commit *slot = v + 1;
            })
        };
        match out {
            Ok(Outcome::Committed { index, .. }) => index,
            other => panic!("an mm_cid section: {other:?}"),
        }
    }

    fn zeroes() -> PerCpu<AtomicU64> {
        PerCpu::new(|_| AtomicU64::new(0))
    }

    fn values(hits: &PerCpu<AtomicU64>) -> Vec<u64> {
        hits.iter().map(|h| h.load(Ordering::Relaxed)).collect()
    }

    fn nonzero(values: &[u64]) -> Vec<usize> {
        (0..values.len()).filter(|&i| values[i] != 0).collect()
    }

    // -----------------------------------------------------------------------------------
    // Scenarios without hot-plug
    // -----------------------------------------------------------------------------------

    fn topology(expect_above: bool) -> String {
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
    fn cid_increments(threads: usize, per_thread: u64) -> Vec<usize> {
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

    fn mm_cid_many_threads() -> Result<String, String> {
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
    fn affinity_one_cpu() -> String {
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
    fn affinity_child(cpu: usize) -> String {
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
    const K_TAG: u64 = 1 << 40;
    const K_STACK: u64 = 100;
    const K_BUFFER: u64 = 32;
    const K_ADDS: u64 = 1000;
    /// Boxes of 64 bytes the pinned thread allocates and frees on k: they stay in k's cache
    /// (a class of 64 bytes holds 256).
    const K_BOXES: usize = 200;
    /// Load rounds (all threads together) before k goes offline, and at least after.
    const LOAD_BEFORE: u64 = 4000;
    const LOAD_AFTER: u64 = 24000;

    #[derive(Default)]
    struct LoadReport {
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
    struct LoadControl {
        k: usize,
        offline: AtomicBool,
        progress: AtomicU64,
        stop: AtomicBool,
    }

    fn load(
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
    fn wait_for(ctl: &LoadControl, rounds: u64) {
        while ctl.progress.load(Ordering::Relaxed) < rounds {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn cached(k: usize) -> (u64, Vec<u64>) {
        let mut bytes = vec![0; rseq_dsl::possible_cpus()];
        ALLOC.cached_bytes_per_cache(&mut bytes);
        (bytes[k], bytes)
    }

    fn offline_with_items() -> String {
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
                let boxes: Vec<Box<[u8; 64]>> =
                    (0..K_BOXES).map(|i| Box::new([i as u8; 64])).collect();
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
    fn cpu_comes_online() -> Result<String, String> {
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

    fn sparse_online() -> String {
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

    fn run(name: &str, failed: &mut usize, scenario: impl FnOnce() -> Result<String, String>) {
        let started = Instant::now();
        let out = catch_unwind(AssertUnwindSafe(scenario));
        let restored = restore();
        let secs = started.elapsed().as_secs_f64();
        match (out, restored) {
            (Ok(Ok(text)), Ok(())) => println!("hotplug: ok {name} ({secs:.1} s): {text}"),
            (Ok(Err(why)), Ok(())) => println!("hotplug: skip {name}: {why}"),
            (Ok(_), Err(e)) => {
                println!("hotplug: FAILED {name}: {e}");
                *failed += 1;
            }
            (Err(panic), restored) => {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("hotplug: FAILED {name} ({secs:.1} s): {text}");
                if let Err(e) = restored {
                    println!("hotplug: FAILED {name}: {e}");
                }
                *failed += 1;
            }
        }
    }

    pub(crate) fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if let Some(role) = args.iter().find_map(|a| a.strip_prefix(CHILD_ARG)) {
            let cpu = role
                .strip_prefix("affinity:")
                .expect("a child role")
                .parse()
                .unwrap();
            println!("{}", affinity_child(cpu));
            return ExitCode::SUCCESS;
        }
        if !rseq_dsl::is_available() {
            println!(
                "skipped: hotplug: rseq is unavailable here ({:?})",
                rseq_dsl::registration().err()
            );
            return ExitCode::SUCCESS;
        }
        let hotplug = std::env::var_os("RSEQ_DSL_TEST_HOTPLUG").is_some_and(|v| v == "1");
        // The allocator's caches by CPU number (its mode is chosen at its first use, from
        // the environment): re-run with RSEQ_ALLOC_INDEX=cpu.
        if hotplug && std::env::var_os("RSEQ_ALLOC_INDEX").is_none_or(|v| v != "cpu") {
            let status = Command::new(std::env::current_exe().unwrap())
                .args(&args)
                .env("RSEQ_ALLOC_INDEX", "cpu")
                .status()
                .expect("re-run with RSEQ_ALLOC_INDEX=cpu");
            return if status.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        let expect_above = args.iter().any(|a| a == "--expect-possible-above-online");
        let mut failed = 0;
        let started = Instant::now();
        run("topology", &mut failed, || Ok(topology(expect_above)));
        run("affinity_one_cpu", &mut failed, || Ok(affinity_one_cpu()));
        run("mm_cid_many_threads", &mut failed, mm_cid_many_threads);
        let why_not = if !hotplug {
            Some(
                "offlines CPUs only with RSEQ_DSL_TEST_HOTPLUG=1 (the VMs of scripts/vm.sh)"
                    .to_string(),
            )
        } else if online().len() < 2 {
            Some(format!("one online CPU ({})", show_list(&online())))
        } else if !online().iter().any(|&c| hotpluggable(c)) {
            Some(
                "no writable /sys/devices/system/cpu/cpuN/online (not root, or a read-only /sys)"
                    .into(),
            )
        } else {
            None
        };
        match why_not {
            Some(why) => println!(
                "skipped: hotplug: offline_with_items, cpu_comes_online, sparse_online: {why}"
            ),
            None => {
                run("offline_with_items", &mut failed, || {
                    Ok(offline_with_items())
                });
                run("cpu_comes_online", &mut failed, cpu_comes_online);
                run("sparse_online", &mut failed, || Ok(sparse_online()));
            }
        }
        println!(
            "hotplug: {} ({:.1} s)",
            if failed == 0 {
                "all scenarios passed".to_string()
            } else {
                format!("{failed} FAILED")
            },
            started.elapsed().as_secs_f64()
        );
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}
