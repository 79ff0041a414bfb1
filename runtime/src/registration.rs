//! Per-thread registration, lazy and invisible to the user.
//!
//! Two owners are possible. Where glibc registered the thread (`__rseq_size > 0`), its area
//! lives at thread pointer + `__rseq_offset` and we only read it. Otherwise this crate
//! registers a thread-local area of its own and unregisters it from a `pthread_key_t`
//! destructor, which runs before the thread's TLS block is freed.
//!
//! Everything a first use on a thread does is async-signal-safe, so that the first use may
//! happen inside a signal handler (profilers count from SIGPROF): the process-wide values
//! are computed before `main` by `init` (an `.init_array` entry), glibc's symbols are weak
//! references rather than `dlsym` lookups, and the own area's thread-locals have no Rust
//! destructor, whose lazy registration would allocate. What remains is plain loads and
//! stores, the `rseq` system call and `pthread_setspecific` on a key created before `main`
//! (one of the first 32 keys, which glibc stores without allocating).

use core::cell::{Cell, UnsafeCell};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::abi::{self, RseqArea};
use crate::fast;
use crate::error::{last_errno, Reason, Unavailable};
use crate::info::{Mode, Owner, Registration};
use crate::once::OnceWord;

// The constructor: glibc, musl and the dynamic loader run `.init_array` entries before
// `main`, and before `dlopen` returns for a shared object, while nothing else can use the
// crate yet.
#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

/// Set once `init` has run (before `main` unless the C runtime skipped `.init_array`).
static INIT_DONE: AtomicBool = AtomicBool::new(false);

/// Computes every process-wide value a first use needs, so that none is computed lazily
/// later, possibly inside a signal handler. Each is also computed on demand if this never
/// ran: still correct, only not signal-safe on that first use.
extern "C" fn init() {
    let glibc = glibc_offset();
    feature_size();
    required_alignment();
    crate::possible_cpus();
    if glibc.is_none() {
        // Own areas will be needed: create the key now, while no handler can interrupt.
        own_key();
    }
    INIT_DONE.store(true, Ordering::Release);
}

/// Whether the process-wide values were computed by the constructor.
pub(crate) fn initialized_before_main() -> bool {
    INIT_DONE.load(Ordering::Acquire)
}

/// What `AREA` points at while the thread has no usable area: its `cpu_id` reads
/// "not registered" and its `cpu_id_start` 0, so that [`current_cpu`](crate::current_cpu)
/// needs only its sign check (no null check) on the fast path, and a `cpu_id` section
/// needs no registration check at all: it reads index 0 from `cpu_id_start`, stores its
/// descriptor, finds `cpu_id` different and aborts, and its abort path registers (the
/// folding librseq does). The kernel never sees this area.
pub(crate) static UNREGISTERED: UnregisteredArea =
    UnregisteredArea(UnsafeCell::new(RseqArea::new()));

/// The stand-in area, writable: sections store their descriptor into its `rseq_cs` before
/// they find out they are not registered. Nothing reads that word (the kernel does not
/// know this area), so concurrent stores from several threads are harmless; every other
/// field is only read.
#[repr(transparent)]
pub(crate) struct UnregisteredArea(UnsafeCell<RseqArea>);

impl UnregisteredArea {
    pub(crate) const fn get(&self) -> *mut RseqArea {
        self.0.get()
    }
}

// SAFETY: the only writes are `rseq_cs` stores by generated sections (word-sized, never
// read back); the other fields are constant.
unsafe impl Sync for UnregisteredArea {}

#[inline(always)]
pub(crate) fn unregistered() -> *const RseqArea {
    UNREGISTERED.get()
}

thread_local! {
    // Why registration failed on this thread; read only on the slow path, so that a
    // failed thread makes one system call, not one per operation.
    static FAILURE: Cell<Option<Unavailable>> = const { Cell::new(None) };
    static OWNER: Cell<Option<Owner>> = const { Cell::new(None) };
    // This crate's own area, used only where glibc does not own one. No Rust destructor (its
    // lazy registration allocates, which a signal handler must not do): the key's destructor
    // unregisters it instead, see `own_key`.
    static OWN_AREA: OwnArea = const { OwnArea::new() };
}

/// The `pthread_key_t` whose destructor unregisters a thread's own area, plus one; 0 while
/// not created. A key, unlike a Rust thread-local destructor, is created once per process
/// (before `main`, by `init`) and armed per thread by a store that does not allocate.
static OWN_KEY: AtomicU64 = AtomicU64::new(0);

/// How many threads have an own area armed in [`OWN_KEY`] (registered, its destructor
/// pending): the key may be deleted only at 0.
static ARMED: AtomicU64 = AtomicU64::new(0);

/// The key, created on first use if the constructor did not create it.
fn own_key() -> Option<libc::pthread_key_t> {
    let set = OWN_KEY.load(Ordering::Acquire);
    if set != 0 {
        return Some((set - 1) as libc::pthread_key_t);
    }
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: creates a key whose destructor is an `unsafe extern "C" fn(*mut c_void)`.
    if unsafe { libc::pthread_key_create(&mut key, Some(release_own_area)) } != 0 {
        return None;
    }
    match OWN_KEY.compare_exchange(0, u64::from(key) + 1, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(key),
        Err(winner) => {
            // Another thread created one first: give this one back and use theirs.
            // SAFETY: the key was created above and never armed.
            unsafe { libc::pthread_key_delete(key) };
            Some((winner - 1) as libc::pthread_key_t)
        }
    }
}

/// The key's destructor, run by the C runtime on the exiting thread (after Rust's
/// thread-local destructors on glibc) and before the thread's TLS memory is freed.
unsafe extern "C" fn release_own_area(_area: *mut libc::c_void) {
    // Later destructors must not use the area any more: route them to the slow path,
    // which reports ThreadExiting.
    retire(Reason::ThreadExiting);
}

/// Unregisters this thread's own area (if this copy of the crate registered one) and makes
/// every later use on this thread report `reason`.
fn retire(reason: Reason) {
    mark_retired(reason);
    let _ = OWN_AREA.try_with(OwnArea::unregister);
}

/// Makes every later use of this copy of the crate on this thread report `reason`, a
/// section in a signal handler included: from here on none stores `rseq_cs`.
fn mark_retired(reason: Reason) {
    fast::set_area(unregistered());
    fast::set_mm_cid_area(ptr::null_mut());
    fast::set_no_area(true);
    let _ = FAILURE.try_with(|f| f.set(Some(Unavailable::new(reason))));
    // A handler runs on this very thread: a compiler fence orders the stores above before
    // whatever follows, for it.
    core::sync::atomic::compiler_fence(Ordering::SeqCst);
}

/// Room for an own area in either mode: the original 32 bytes, then what kernels 7.0+
/// add past them (`AT_RSEQ_FEATURE_SIZE` 33, `AT_RSEQ_ALIGN` 64), zero as the kernel
/// expects a fresh area's extension to be.
#[repr(C, align(64))]
struct OwnStorage {
    area: RseqArea,
    extension: [u8; 32],
}

/// The length this crate registers its own areas with: all of [`OwnStorage`] (V2 mode)
/// where the kernel has fields past 32 bytes and the storage satisfies its size and
/// alignment, the original 32 bytes (legacy mode) everywhere else.
fn own_registration_len() -> u32 {
    let storage = core::mem::size_of::<OwnStorage>() as u32;
    let alignment = core::mem::align_of::<OwnStorage>() as u32;
    let fits = feature_size() <= storage && required_alignment() <= alignment;
    if feature_size() > abi::LEGACY_AREA_LEN && fits {
        storage
    } else {
        abi::LEGACY_AREA_LEN
    }
}

struct OwnArea {
    storage: UnsafeCell<OwnStorage>,
    /// The registered length while registered, 0 otherwise: unregistering must repeat it.
    registered_len: Cell<u32>,
}

impl OwnArea {
    const fn new() -> Self {
        OwnArea {
            storage: UnsafeCell::new(OwnStorage {
                area: RseqArea::new(),
                extension: [0; 32],
            }),
            registered_len: Cell::new(0),
        }
    }

    fn area(&self) -> *mut RseqArea {
        // SAFETY: a projection to the first field of a live thread-local; nothing is read.
        unsafe { ptr::addr_of_mut!((*self.storage.get()).area) }
    }

    fn register(&self) -> Result<NonNull<RseqArea>, Unavailable> {
        let area = self.area();
        if self.registered_len.get() == 0 {
            let key = own_key().ok_or(Unavailable::new(Reason::Errno(libc::EAGAIN)))?;
            let len = own_registration_len();
            // SAFETY: `area` starts a live, 64-byte aligned thread-local of at least `len`
            // bytes; the kernel writes it until `unregister`, which the key's destructor
            // runs before the thread-local storage is freed.
            let rc = unsafe { libc::syscall(abi::SYS_RSEQ, area, len, 0, abi::SIGNATURE) };
            if rc != 0 {
                return Err(Unavailable::from_errno(last_errno()));
            }
            self.registered_len.set(len);
            // Counted before it is armed, so that `fini` never sees 0 while a destructor
            // may be pending (`unregister` takes it back on every path).
            ARMED.fetch_add(1, Ordering::AcqRel);
            // Arm the destructor: a non-null value makes the C runtime call it at exit.
            // SAFETY: `key` is a live key; the value is only handed back to the destructor.
            let rc = unsafe { libc::pthread_setspecific(key, area as *const libc::c_void) };
            if rc != 0 {
                // Without the destructor the kernel would outlive the memory: undo.
                self.unregister();
                return Err(Unavailable::from_errno(rc));
            }
        }
        // SAFETY: `area` points into a live thread-local and is never null.
        Ok(unsafe { NonNull::new_unchecked(area) })
    }

    fn unregister(&self) {
        let len = self.registered_len.get();
        if len == 0 {
            return;
        }
        // SAFETY: unregisters exactly the area, length and signature registered above,
        // from the thread that registered it.
        let rc = unsafe {
            libc::syscall(
                abi::SYS_RSEQ,
                self.area(),
                len,
                abi::RSEQ_FLAG_UNREGISTER,
                abi::SIGNATURE,
            )
        };
        if rc != 0 {
            // The kernel would keep writing into memory about to be freed: there is no
            // safe way to continue.
            std::process::abort();
        }
        self.registered_len.set(0);
        ARMED.fetch_sub(1, Ordering::AcqRel);
        if let Some(key) = own_key() {
            // Disarm: nothing is left for the destructor, which may live in a library about
            // to be unloaded (see prepare_unload).
            // SAFETY: a live key; storing null allocates nothing.
            unsafe { libc::pthread_setspecific(key, ptr::null()) };
        }
    }
}

/// glibc's registration: `Some(offset)` when glibc registers threads. The symbols are weak
/// references (see [`abi::glibc_rseq_symbols`]), so builds against libcs without them (musl,
/// glibc < 2.35) still link and static glibc binaries find them too. Both are fixed before
/// `main` (and before constructors run), so every thread finds the same.
fn glibc_offset() -> Option<isize> {
    static GLIBC: OnceWord<Option<isize>> = OnceWord::new();
    GLIBC.get_or_compute(|| {
        let (offset, size) = abi::glibc_rseq_symbols();
        if size.is_null() || offset.is_null() {
            return None;
        }
        // SAFETY: glibc defines both as read-only data objects of these types.
        let (size, offset) = unsafe { (size.read(), offset.read()) };
        (size > 0).then_some(offset)
    })
}

/// The length glibc registered its areas with: `max(__rseq_size, 32)` in every version
/// that registers (2.35 to 2.40 register 32 bytes and say 32 or 20; 2.41+ register and
/// say the kernel's feature size, 33 on Linux 7.x, which selects V2 mode).
fn glibc_registered_len() -> u32 {
    let (_, size) = abi::glibc_rseq_symbols();
    if size.is_null() {
        return abi::LEGACY_AREA_LEN;
    }
    // SAFETY: glibc defines `__rseq_size` as a read-only u32, fixed before any thread runs.
    unsafe { size.read() }.max(abi::LEGACY_AREA_LEN)
}

/// Bytes of the area the kernel fills in (an auxiliary-vector entry: the same for every
/// thread, read without side effects). Inlined: every `mm_cid` section checks it, and the
/// published value is one load away.
#[inline]
pub(crate) fn feature_size() -> u32 {
    FEATURE_SIZE.get_or_compute(|| {
        // SAFETY: getauxval has no preconditions; 0 means the tag is absent (before 6.3).
        let size = unsafe { libc::getauxval(abi::AT_RSEQ_FEATURE_SIZE) } as u32;
        size.max(abi::ORIGINAL_FEATURE_SIZE)
    })
}

static FEATURE_SIZE: OnceWord<u32> = OnceWord::new();

/// [`feature_size`] if some call computed it already (the runtime's constructor does, before
/// `main`); never calls into libc, for the `registered` sections' fast path.
#[inline(always)]
pub(crate) fn known_feature_size() -> Option<u32> {
    FEATURE_SIZE.get()
}

/// The alignment the kernel requires of an area longer than 32 bytes (`AT_RSEQ_ALIGN`), at
/// least the 32 bytes every kernel requires.
pub(crate) fn required_alignment() -> u32 {
    static ALIGN: OnceWord<u32> = OnceWord::new();
    ALIGN.get_or_compute(|| {
        // SAFETY: getauxval has no preconditions; 0 means the tag is absent (before 6.3).
        let align = unsafe { libc::getauxval(abi::AT_RSEQ_ALIGN) } as u32;
        align.max(abi::LEGACY_AREA_LEN)
    })
}

/// The calling thread's registered area, registering it on first use.
///
/// This is the accessor generated sections use: one thread-local load when registered.
///
/// ```
/// if let Ok(area) = rseq_dsl_runtime::area() {
///     // SAFETY: the area is live for the thread's lifetime; cpu_id is kernel-written.
///     let cpu = unsafe { core::ptr::addr_of!((*area.as_ptr()).cpu_id).read_volatile() };
///     assert!((cpu as i32) >= 0);
/// }
/// ```
#[inline(always)]
pub fn area() -> Result<NonNull<RseqArea>, Unavailable> {
    let area = fast::area();
    if area != unregistered() {
        // SAFETY: the area word holds either UNREGISTERED or a registered area, never null.
        return Ok(unsafe { NonNull::new_unchecked(area.cast_mut()) });
    }
    register_slow()
}

/// The calling thread's area if it is registered already: one thread-local load, never a
/// call, so that a caller's fast path holding it stays a leaf (`rseq!(registered, ...)`).
#[inline(always)]
pub(crate) fn registered_area() -> Option<NonNull<RseqArea>> {
    let area = fast::area();
    // SAFETY: the area word holds either UNREGISTERED or a registered area, never null.
    (area != unregistered()).then(|| unsafe { NonNull::new_unchecked(area.cast_mut()) })
}

/// Whether the thread has no area (its sections run on the stand-in and abort).
#[inline(always)]
pub(crate) fn has_no_area() -> bool {
    fast::no_area()
}

/// The thread's registered area if the kernel maintains `mm_cid` in it; never registers,
/// never calls.
#[inline(always)]
pub(crate) fn registered_mm_cid_area() -> Option<NonNull<RseqArea>> {
    NonNull::new(fast::mm_cid_area())
}

/// The thread's registered area, or an area whose `cpu_id` reads "not registered"; never
/// registers. Only for reads of kernel-written fields.
#[inline(always)]
pub(crate) fn area_or_unregistered() -> *const RseqArea {
    fast::area()
}

/// The thread's registered area, or the stand-in whose `cpu_id` reads "not registered":
/// one thread-local load, no check and no call, for `cpu_id` sections (see
/// [`UNREGISTERED`]).
#[inline(always)]
pub(crate) fn area_hint() -> NonNull<RseqArea> {
    // SAFETY: the area word holds either the stand-in or a registered area, never null.
    unsafe { NonNull::new_unchecked(fast::area().cast_mut()) }
}

#[cold]
#[inline(never)]
fn register_slow() -> Result<NonNull<RseqArea>, Unavailable> {
    let exiting = Unavailable::new(Reason::ThreadExiting);
    if let Some(failure) = FAILURE.try_with(Cell::get).unwrap_or(Some(exiting)) {
        return Err(failure);
    }
    let (area, owner) = match glibc_area() {
        Some(area) => (area, Owner::Glibc),
        None => {
            let registered = OWN_AREA.try_with(OwnArea::register).unwrap_or(Err(exiting));
            match registered {
                Ok(area) => (area, Owner::Own),
                Err(e) => {
                    let _ = FAILURE.try_with(|f| f.set(Some(e)));
                    return Err(e);
                }
            }
        }
    };
    // Known from here on even where registration ran before the constructor (another
    // constructor's allocation): `registered` mm_cid sections read it without computing it.
    let with_mm_cid = feature_size() >= (abi::MM_CID_OFFSET + 4) as u32;
    let _ = OWNER.try_with(|o| o.set(Some(owner)));
    fast::set_area(area.as_ptr());
    fast::set_no_area(false);
    if with_mm_cid {
        fast::set_mm_cid_area(area.as_ptr());
    }
    Ok(area)
}

/// glibc's area for this thread, if glibc owns one and registered this thread.
fn glibc_area() -> Option<NonNull<RseqArea>> {
    let offset = glibc_offset()?;
    let area = abi::thread_pointer().wrapping_offset(offset) as *mut RseqArea;
    // SAFETY: glibc guarantees thread pointer + __rseq_offset is this thread's area while
    // __rseq_size > 0; cpu_id is read with a volatile load because the kernel writes it.
    let cpu = unsafe { ptr::addr_of!((*area).cpu_id).read_volatile() } as i32;
    // A negative cpu_id means glibc did not manage to register this thread.
    (cpu >= 0).then(|| NonNull::new(area)).flatten()
}

/// How the calling thread is registered (registering it first if needed).
///
/// ```
/// if let Ok(r) = rseq_dsl_runtime::registration() {
///     assert!(r.feature_size >= 20);
/// }
/// ```
pub fn registration() -> Result<Registration, Unavailable> {
    let area = area()?;
    let owner = OWNER
        .try_with(Cell::get)
        .ok()
        .flatten()
        .ok_or(Unavailable::new(Reason::ThreadExiting))?;
    let registered_len = match owner {
        Owner::Glibc => glibc_registered_len(),
        Owner::Own => OWN_AREA
            .try_with(|own| own.registered_len.get())
            .unwrap_or(abi::LEGACY_AREA_LEN),
    };
    Ok(Registration {
        owner,
        mode: Mode::for_len(registered_len),
        registered_len,
        feature_size: feature_size(),
        required_alignment: required_alignment(),
        thread_pointer_offset: match owner {
            Owner::Glibc => glibc_offset(),
            Owner::Own => None,
        },
        area: area.as_ptr(),
    })
}

/// Whether rseq can be used on the calling thread (registering it if needed).
///
/// ```
/// let usable = rseq_dsl_runtime::is_available();
/// assert_eq!(usable, rseq_dsl_runtime::area().is_ok());
/// ```
pub fn is_available() -> bool {
    area().is_ok()
}

/// Prepares the calling thread for the unloading of code that ran critical sections on it:
/// call it on every thread that ran sections of a shared library (a `cdylib`, a plugin),
/// after the thread's last section and before `dlclose`.
///
/// Why: after a section the thread's `rseq_cs` still points at the section's descriptor,
/// and the kernel reads it at the next preemption or signal. If the library holding it is
/// unmapped first, that read fails and the kernel kills the thread with SIGSEGV. This
/// clears `rseq_cs` (librseq's `rseq_prepare_unload`), and where this copy of the crate
/// registered an area of its own for the thread (no glibc registration), unregisters it
/// and disarms its exit-time destructor, which would otherwise run in unmapped code.
///
/// Afterwards this copy of the crate treats the thread as unavailable
/// ([`Reason::Unloaded`]): sections return `Err`, the building blocks take their fallback
/// paths and [`current_cpu`](crate::current_cpu) uses `sched_getcpu`, so code that still
/// runs before the unload stays correct. It never registers the thread, makes no
/// allocation and is async-signal-safe.
///
/// ```
/// // In a library's teardown, on each thread that used it:
/// std::thread::spawn(|| {
///     let _ = rseq_dsl_runtime::is_available();
///     rseq_dsl_runtime::prepare_unload();
///     assert!(!rseq_dsl_runtime::is_available());
/// })
/// .join()
/// .unwrap();
/// ```
pub fn prepare_unload() {
    let area = area_or_unregistered();
    // Retire first, then clear: in the other order a signal between the two steps would
    // run a section (the thread still looking registered) and leave `rseq_cs` pointing into
    // the library about to be unmapped, which the kernel reads at the next preemption.
    mark_retired(Reason::Unloaded);
    #[cfg(rseq_dsl_delay_injection)]
    crate::inject::run_unload_hook();
    if area != unregistered() {
        // SAFETY: the thread's registered area; rseq_cs is the one field user space owns,
        // and 0 means "no section". No section of this copy of the crate stores it again on
        // this thread (retired above).
        unsafe { ptr::addr_of!((*area).rseq_cs).cast_mut().write_volatile(0) };
    }
    let _ = OWN_AREA.try_with(OwnArea::unregister);
}

// The key goes with the code: a shared library loaded and unloaded again and again would
// otherwise leave one key per load, and after PTHREAD_KEYS_MAX loads (128 on musl, 1,024 on
// glibc) no thread of the process could register an own area (EAGAIN); past glibc's first
// 32 keys, pthread_setspecific also allocates, which a first use in a signal handler must
// not. The destructor runs at dlclose (and at exit, where it keeps the key: see `fini`).
#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = fini;

/// Deletes the own-area key if no thread's area is armed with it: after `prepare_unload` on
/// every thread that used the library (the unload contract), at `dlclose`. At exit other
/// threads may still hold armed areas, whose destructors must still run: the key stays.
extern "C" fn fini() {
    if ARMED.load(Ordering::Acquire) != 0 {
        return;
    }
    let set = OWN_KEY.swap(0, Ordering::AcqRel);
    if set != 0 {
        // SAFETY: a key this copy created; no thread has a value armed in it (ARMED is 0),
        // so no destructor is lost, and OWN_KEY no longer hands it out.
        unsafe { libc::pthread_key_delete((set - 1) as libc::pthread_key_t) };
    }
}
