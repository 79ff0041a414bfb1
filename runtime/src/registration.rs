//! Per-thread registration, lazy and invisible to the user.
//!
//! Two owners are possible. Where glibc registered the thread (`__rseq_size > 0`), its area
//! lives at thread pointer + `__rseq_offset` and we only read it. Otherwise this crate
//! registers a thread-local area of its own and unregisters it from that thread-local's
//! destructor, before the thread's TLS block is freed.

use core::cell::{Cell, UnsafeCell};
use core::ptr::{self, NonNull};

use crate::abi::{self, RseqArea};
use crate::error::{last_errno, Reason, Unavailable};
use crate::once::OnceWord;

/// Who registered the calling thread's area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// glibc (2.35+) registered it at thread start; this crate only reads it.
    Glibc,
    /// This crate registered a thread-local area of its own.
    Own,
}

/// How the calling thread's rseq area is registered, for diagnostics.
///
/// ```
/// match rseq_dsl_runtime::registration() {
///     Ok(r) => println!("{:?} area, feature size {}", r.owner, r.feature_size),
///     Err(e) => println!("{e}"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    /// Who registered the area.
    pub owner: Owner,
    /// Bytes of the area the kernel fills in (`AT_RSEQ_FEATURE_SIZE`, 20 before Linux 6.3).
    pub feature_size: u32,
    /// glibc's `__rseq_offset` from the thread pointer, when glibc owns the area.
    pub thread_pointer_offset: Option<isize>,
    /// Address of the area.
    pub area: *const RseqArea,
}

/// What `AREA` points at while the thread has no usable area: its `cpu_id` reads
/// "not registered", so that [`current_cpu`](crate::current_cpu) needs only its sign check
/// (no null check) on the fast path. The kernel never sees it, so nothing writes it.
static UNREGISTERED: RseqArea = RseqArea::new();

#[inline(always)]
fn unregistered() -> *const RseqArea {
    &UNREGISTERED
}

thread_local! {
    // The fast path: one TLS load. UNREGISTERED until the first successful registration,
    // and again once the own area is unregistered at thread exit. No destructor, so it can
    // be read at any point of the thread's life.
    static AREA: Cell<*const RseqArea> = const { Cell::new(&UNREGISTERED) };
    // Why registration failed on this thread; read only on the slow path, so that a
    // failed thread makes one system call, not one per operation.
    static FAILURE: Cell<Option<Unavailable>> = const { Cell::new(None) };
    static OWNER: Cell<Option<Owner>> = const { Cell::new(None) };
    // This crate's own area, used only where glibc does not own one. Its destructor
    // unregisters it before the memory goes away.
    static OWN_AREA: OwnArea = const { OwnArea::new() };
}

struct OwnArea {
    area: UnsafeCell<RseqArea>,
    registered: Cell<bool>,
}

impl OwnArea {
    const fn new() -> Self {
        OwnArea {
            area: UnsafeCell::new(RseqArea::new()),
            registered: Cell::new(false),
        }
    }

    fn register(&self) -> Result<NonNull<RseqArea>, Unavailable> {
        let area = self.area.get();
        if !self.registered.get() {
            // SAFETY: `area` is a live, 32-byte aligned thread-local of length OWN_AREA_LEN;
            // the kernel writes it until we unregister it in Drop, which runs before the
            // thread-local storage is freed.
            let rc =
                unsafe { libc::syscall(abi::SYS_RSEQ, area, abi::OWN_AREA_LEN, 0, abi::SIGNATURE) };
            if rc != 0 {
                return Err(Unavailable::from_errno(last_errno()));
            }
            self.registered.set(true);
        }
        // SAFETY: `area` points into a live thread-local and is never null.
        Ok(unsafe { NonNull::new_unchecked(area) })
    }
}

impl Drop for OwnArea {
    fn drop(&mut self) {
        // Later TLS destructors must not use the area any more: route them to the slow path,
        // which reports ThreadExiting.
        let _ = AREA.try_with(|a| a.set(unregistered()));
        let _ = FAILURE.try_with(|f| f.set(Some(Unavailable::new(Reason::ThreadExiting))));
        if self.registered.get() {
            // SAFETY: unregisters exactly the area, length and signature registered above,
            // from the thread that registered it.
            let rc = unsafe {
                libc::syscall(
                    abi::SYS_RSEQ,
                    self.area.get(),
                    abi::OWN_AREA_LEN,
                    abi::RSEQ_FLAG_UNREGISTER,
                    abi::SIGNATURE,
                )
            };
            if rc != 0 {
                // The kernel would keep writing into memory about to be freed: there is no
                // safe way to continue.
                std::process::abort();
            }
            self.registered.set(false);
        }
    }
}

/// glibc's registration, looked up at run time so that builds against libcs without these
/// symbols (musl, glibc < 2.35, static binaries) still link: `Some(offset)` when glibc
/// registers threads. Both symbols are fixed before `main`, so every thread finds the same.
fn glibc_offset() -> Option<isize> {
    static GLIBC: OnceWord<Option<isize>> = OnceWord::new();
    GLIBC.get_or_compute(|| {
        // SAFETY: dlsym with RTLD_DEFAULT and NUL-terminated names; a null result means absent.
        let (size, offset) = unsafe {
            (
                libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_size".as_ptr()) as *const u32,
                libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr()) as *const isize,
            )
        };
        if size.is_null() || offset.is_null() {
            return None;
        }
        // SAFETY: glibc defines both as read-only data objects of these types, set before main.
        let (size, offset) = unsafe { (size.read(), offset.read()) };
        (size > 0).then_some(offset)
    })
}

/// Bytes of the area the kernel fills in (an auxiliary-vector entry: the same for every
/// thread, read without side effects).
pub(crate) fn feature_size() -> u32 {
    static SIZE: OnceWord<u32> = OnceWord::new();
    SIZE.get_or_compute(|| {
        // SAFETY: getauxval has no preconditions; 0 means the tag is absent (before 6.3).
        let size = unsafe { libc::getauxval(abi::AT_RSEQ_FEATURE_SIZE) } as u32;
        size.max(abi::ORIGINAL_FEATURE_SIZE)
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
    let area = AREA.with(Cell::get);
    if area != unregistered() {
        // SAFETY: AREA holds either UNREGISTERED or a registered area, never null.
        return Ok(unsafe { NonNull::new_unchecked(area.cast_mut()) });
    }
    register_slow()
}

/// The thread's registered area, or an area whose `cpu_id` reads "not registered"; never
/// registers. Only for reads of kernel-written fields.
#[inline(always)]
pub(crate) fn area_or_unregistered() -> *const RseqArea {
    AREA.try_with(Cell::get).unwrap_or(unregistered())
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
    let _ = OWNER.try_with(|o| o.set(Some(owner)));
    let _ = AREA.try_with(|a| a.set(area.as_ptr()));
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
    Ok(Registration {
        owner,
        feature_size: feature_size(),
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
