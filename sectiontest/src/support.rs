//! What the generated test binary runs around its sections: the memory states, the rerun
//! rules after an abort, the signal storm, and one output line per run for the harness.
//!
//! The binary does not judge: it prints what each section did, and the harness compares
//! that with the interpreter, which it can also run on shrunk sections.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::rng::derive;
use crate::state::{StateSpec, ARENA_WORDS};

pub const COMMITTED: u8 = 0;
pub const EXITED: u8 = 1;
pub const ABORTED: u8 = 2;
pub const UNAVAILABLE: u8 = 3;

/// One section's result, its value as a canonical bit pattern (see `interp`).
#[derive(Clone, Copy, Debug)]
pub struct Res {
    pub kind: u8,
    pub cpu: usize,
    pub value: u64,
}

/// A value as the interpreter's canonical bit pattern: the type's bits, zeroes above.
pub trait Bits {
    fn bits(self) -> u64;
}

macro_rules! bits_via {
    ($($t:ty => $u:ty),*) => {$(
        impl Bits for $t {
            fn bits(self) -> u64 {
                self as $u as u64
            }
        }
    )*};
}
bits_via!(u8 => u8, u16 => u16, u32 => u32, u64 => u64, usize => usize,
    i8 => u8, i16 => u16, i32 => u32, i64 => u64, isize => usize);

impl<T> Bits for *mut T {
    fn bits(self) -> u64 {
        self as usize as u64
    }
}

impl<T> Bits for *const T {
    fn bits(self) -> u64 {
        self as usize as u64
    }
}

impl Bits for () {
    fn bits(self) -> u64 {
        0
    }
}

pub type SectionFn = unsafe fn(*mut u8, &[u64; 8]) -> Res;

pub struct Case {
    pub id: usize,
    pub run: SectionFn,
    /// A restart leaves no trace: after an abort the run goes on from the memory as it is.
    pub idempotent: bool,
}

/// The parts of `rseq-dsl` the binary needs, passed in so this crate does not depend on it.
pub struct Hooks {
    pub thread_aborts: fn() -> u64,
    /// `inject::set_delay`, in the storm build.
    pub set_delay: Option<fn(usize, u32)>,
}

struct Args {
    seed: u64,
    states: usize,
    /// Run every section on this one state (the shrinker's reruns).
    state_seed: Option<u64>,
    /// Repeat each run under the storm this many times.
    repeat: usize,
    /// Print a hash of the memory rather than its bytes (a slow serial console).
    digest: bool,
}

fn args() -> Args {
    let mut a = Args {
        seed: 0,
        states: 1,
        state_seed: None,
        repeat: 1,
        digest: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let num = |s: &str| -> u64 {
        let s = s.trim_start_matches("0x");
        u64::from_str_radix(s, 16).expect("hex number")
    };
    for pair in argv.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or("");
        match pair[0].as_str() {
            "--seed" => a.seed = num(value),
            "--states" => a.states = value.parse().expect("--states N"),
            "--state-seed" => a.state_seed = Some(num(value)),
            "--repeat" => a.repeat = value.parse().expect("--repeat N"),
            "--digest" => a.digest = value == "1",
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The seed of state `k` of section `id` in a run seeded with `seed`.
pub fn state_seed(seed: u64, id: usize, k: usize) -> u64 {
    derive(derive(seed, id as u64), k as u64 ^ 0x57A7E)
}

extern "C" fn on_signal(_: libc::c_int) {}

/// A thread that sends SIGUSR1 (no-op handler) to `tid` every few microseconds until
/// `stop`: each signal delivered while a section runs restarts it.
fn storm(tid: libc::pid_t, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    // SAFETY: all-zero is an empty mask and no flags; the handler does nothing, which is
    // async-signal-safe, and SA_RESTART keeps the harness's own blocking calls working.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    std::thread::spawn(move || {
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: `tid` is the main thread, alive until it has stopped this thread.
            unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
            sent += 1;
            std::thread::sleep(Duration::from_micros(20));
        }
        sent
    })
}

/// Runs every case on its states and prints one `R` line per run.
pub fn main(cases: &[Case], hooks: Hooks) {
    let args = args();
    let mut arena: Box<[u64; ARENA_WORDS]> = Box::new([0; ARENA_WORDS]);
    let base = arena.as_mut_ptr().cast::<u8>();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    writeln!(out, "BASE {:x}", base as u64).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let signaller = hooks.set_delay.map(|_| storm(tid, stop.clone()));
    let mut delays = crate::rng::Rng(args.seed ^ 0xDE1A7);
    let mut total_aborts = 0;
    for case in cases {
        for k in 0..args.states {
            let seed = args
                .state_seed
                .unwrap_or_else(|| state_seed(args.seed, case.id, k));
            let spec = StateSpec::generate(seed);
            let initial = spec.realize(base as u64);
            for _ in 0..args.repeat {
                if let Some(set_delay) = hooks.set_delay {
                    // Long waits at a few random points, so signals land everywhere.
                    for point in 1..=6 {
                        let loops = if delays.chance(50) { 20_000 } else { 0 };
                        set_delay(point, loops);
                    }
                }
                let mut tries = 0;
                let (res, attempts, aborts) = loop {
                    // SAFETY: the arena is 640 bytes of u64s, as `initial` is.
                    unsafe { std::ptr::copy_nonoverlapping(initial.as_ptr(), base, initial.len()) };
                    let mut attempts = 0;
                    let mut aborts = 0;
                    let res = loop {
                        attempts += 1;
                        let before = (hooks.thread_aborts)();
                        // SAFETY: the generator proved every access of the section in bounds
                        // and aligned for every state of the arena at `base`.
                        let res = unsafe { (case.run)(base, &spec.ints) };
                        let aborted = (hooks.thread_aborts)() - before;
                        aborts += aborted;
                        let redo = res.kind == ABORTED || (aborted > 0 && !case.idempotent);
                        if !redo || attempts == 10_000 {
                            break res;
                        }
                        if !case.idempotent {
                            // A restart may have changed what the section reads: start over.
                            // SAFETY: as above.
                            unsafe {
                                std::ptr::copy_nonoverlapping(initial.as_ptr(), base, initial.len())
                            };
                        }
                    };
                    tries += 1;
                    // Under the storm, a run counts only once a restart happened in it.
                    if hooks.set_delay.is_none() || aborts > 0 || tries == 100 {
                        break (res, attempts, aborts);
                    }
                };
                total_aborts += aborts;
                // SAFETY: the arena's bytes, read after the section returned.
                let mem = unsafe { std::slice::from_raw_parts(base, initial.len()) };
                let mut hex = String::with_capacity(mem.len() * 2);
                if args.digest {
                    let _ = write!(hex, "h{:016x}", digest(mem));
                } else {
                    for byte in mem {
                        let _ = write!(hex, "{byte:02x}");
                    }
                }
                writeln!(
                    out,
                    "R {} {k} {seed:x} {} {} {:x} {attempts} {aborts} {hex}",
                    case.id, res.kind, res.cpu, res.value
                )
                .unwrap();
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = signaller.map_or(0, |s| s.join().unwrap());
    writeln!(out, "ABORTS {total_aborts} SIGNALS {sent}").unwrap();
    out.flush().unwrap();
    drop(arena);
}

/// FNV-1a over the arena: what `--digest` prints instead of the bytes.
pub fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
