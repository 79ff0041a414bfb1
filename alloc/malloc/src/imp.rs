//! The C ABI on Linux with glibc (see the crate docs).

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::{c_char, c_int, c_void};
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rseq_dsl_alloc::{RseqAlloc, MAX_SMALL};

// glibc's allocator under names that no preloaded library replaces.
extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    fn __libc_valloc(size: usize) -> *mut c_void;
    fn __libc_pvalloc(size: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    static program_invocation_short_name: *const c_char;
}

/// glibc's `malloc` alignment (`MALLOC_ALIGNMENT`, 16 on every 64-bit target and on i386)
/// and the alignment of every small object.
const ALIGN: usize = 16;

/// Requests handed to glibc, for the statistics: allocations (a `realloc` that moves a
/// small block to a large one included), `free`s of blocks that are not ours, and
/// `realloc`s of such blocks.
static GLIBC_ALLOCS: AtomicU64 = AtomicU64::new(0);
static GLIBC_FREES: AtomicU64 = AtomicU64::new(0);
static GLIBC_REALLOCS: AtomicU64 = AtomicU64::new(0);

/// The layout of a small request (`size <= MAX_SMALL`; 0 gets the smallest object, as
/// glibc returns a unique block for 0 bytes).
#[inline(always)]
fn small_layout(size: usize) -> Layout {
    // SAFETY: ALIGN is a power of two and `size.max(1) <= MAX_SMALL` is far from overflowing.
    unsafe { Layout::from_size_align_unchecked(size.max(1), ALIGN) }
}

#[inline(always)]
fn set_errno(value: c_int) {
    // SAFETY: glibc's thread-local errno, valid for the thread's life.
    unsafe { *libc::__errno_location() = value };
}

#[inline(always)]
fn errno() -> c_int {
    // SAFETY: as in `set_errno`.
    unsafe { *libc::__errno_location() }
}

#[inline(always)]
fn small_alloc(size: usize) -> *mut c_void {
    // SAFETY: a non-zero size (`small_layout`).
    let p = unsafe { RseqAlloc.alloc(small_layout(size)) };
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p.cast()
}

#[inline(never)]
fn glibc_counted(p: *mut c_void) -> *mut c_void {
    if !p.is_null() {
        GLIBC_ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
    p
}

/// # Safety
/// C's `malloc`.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    if size <= MAX_SMALL {
        small_alloc(size)
    } else {
        // SAFETY: glibc's malloc; it sets errno on failure.
        glibc_counted(unsafe { __libc_malloc(size) })
    }
}

/// # Safety
/// C's `free`: `p` is null or a live block of this allocator's or glibc's.
#[no_mangle]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    match RseqAlloc.usable_size(p as *const u8) {
        Some(size) => {
            // `free` must not change errno: the allocator's free restores it on its slow
            // path, the only one that makes system calls (a first registration, a fresh
            // mapping), so that the hit path pays for no save and restore.
            // SAFETY: one of our small objects, live (the caller's contract), freed with
            // its class's layout (the same class as the layout it was allocated with).
            unsafe { RseqAlloc.dealloc(p.cast(), small_layout(size)) };
        }
        None => {
            GLIBC_FREES.fetch_add(1, Ordering::Relaxed);
            // SAFETY: not ours, so glibc's (the caller's contract); glibc's free keeps errno.
            unsafe { __libc_free(p) }
        }
    }
}

/// # Safety
/// C's `calloc`.
#[no_mangle]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    if total <= MAX_SMALL {
        let p = small_alloc(total);
        if !p.is_null() {
            // SAFETY: a fresh object of at least `total` bytes.
            unsafe { p.cast::<u8>().write_bytes(0, total) };
        }
        p
    } else {
        // SAFETY: glibc's calloc (zeroed, and it knows which of its memory is fresh).
        glibc_counted(unsafe { __libc_calloc(n, size) })
    }
}

/// # Safety
/// C's `realloc`.
#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        // SAFETY: C's malloc.
        return unsafe { malloc(size) };
    }
    if size == 0 {
        // glibc (REALLOC_ZERO_BYTES_FREES): the block is freed and NULL returned.
        // SAFETY: a live block (the caller's contract).
        unsafe { free(p) };
        return ptr::null_mut();
    }
    let Some(old) = RseqAlloc.usable_size(p as *const u8) else {
        GLIBC_REALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: not ours, so glibc's; it stays glibc's, whatever the new size.
        return unsafe { __libc_realloc(p, size) };
    };
    let q = if size <= MAX_SMALL {
        // Same class: the same address; another class: moved, as GlobalAlloc::realloc does.
        // SAFETY: one of our objects, allocated with its class's layout; a non-zero size.
        unsafe { RseqAlloc.realloc(p.cast(), small_layout(old), size) }.cast()
    } else {
        // SAFETY: glibc's malloc; the copy reads the old object (`old` bytes, fewer than
        // `size`) and writes the new block; then the old object is freed as in `free`.
        unsafe {
            let q = glibc_counted(__libc_malloc(size));
            if !q.is_null() {
                ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), old);
                RseqAlloc.dealloc(p.cast(), small_layout(old));
            }
            q
        }
    };
    if q.is_null() {
        // The old block is untouched, as C requires.
        set_errno(libc::ENOMEM);
    }
    q
}

/// # Safety
/// glibc's `reallocarray`.
#[no_mangle]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        // SAFETY: C's realloc (glibc's reallocarray is realloc after the check, 0 included).
        Some(total) => unsafe { realloc(p, total) },
        None => {
            set_errno(libc::ENOMEM);
            ptr::null_mut()
        }
    }
}

/// `memalign` after the alignment checks that differ between the entry points: ours for a
/// small size and an alignment `malloc` gives anyway, else glibc's (which rounds an
/// alignment that is not a power of two up, and refuses one above `SIZE_MAX / 2 + 1` with
/// `EINVAL`).
fn aligned(align: usize, size: usize) -> *mut c_void {
    if align <= ALIGN && size <= MAX_SMALL {
        small_alloc(size)
    } else {
        // SAFETY: glibc's memalign, with glibc's rules; errno set on failure.
        glibc_counted(unsafe { __libc_memalign(align, size) })
    }
}

/// # Safety
/// glibc's `memalign`.
#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    aligned(align, size)
}

/// # Safety
/// C's `aligned_alloc`.
#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    }
    aligned(align, size)
}

/// # Safety
/// POSIX's `posix_memalign`: `out` is valid for a pointer's write.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    let word = core::mem::size_of::<*mut c_void>();
    if !align.is_multiple_of(word) || !(align / word).is_power_of_two() {
        return libc::EINVAL;
    }
    let saved = errno();
    let p = aligned(align, size);
    if p.is_null() {
        // POSIX: the error is returned; errno is not part of the interface.
        set_errno(saved);
        return libc::ENOMEM;
    }
    // SAFETY: the caller's contract.
    unsafe { out.write(p) };
    0
}

/// # Safety
/// glibc's `valloc`.
#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    // SAFETY: glibc's valloc (page aligned: never a small object).
    glibc_counted(unsafe { __libc_valloc(size) })
}

/// # Safety
/// glibc's `pvalloc`.
#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    // SAFETY: glibc's pvalloc (whole pages, its overflow check and errno).
    glibc_counted(unsafe { __libc_pvalloc(size) })
}

/// glibc's own `malloc_usable_size`, found with `dlsym(RTLD_NEXT)` by the constructor (or
/// on first use), 0 while not found.
static GLIBC_USABLE_SIZE: AtomicUsize = AtomicUsize::new(0);

fn glibc_usable_size() -> usize {
    let found = GLIBC_USABLE_SIZE.load(Ordering::Acquire);
    if found != 0 {
        return found;
    }
    // SAFETY: a NUL-terminated name; RTLD_NEXT searches the objects loaded after this one,
    // where glibc's definition is.
    let f = unsafe { libc::dlsym(libc::RTLD_NEXT, c"malloc_usable_size".as_ptr()) } as usize;
    GLIBC_USABLE_SIZE.store(f, Ordering::Release);
    f
}

/// # Safety
/// glibc's `malloc_usable_size`: `p` is null or a live block.
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
    if p.is_null() {
        return 0;
    }
    if let Some(size) = RseqAlloc.usable_size(p as *const u8) {
        return size;
    }
    match glibc_usable_size() {
        0 => 0,
        f => {
            // SAFETY: glibc's malloc_usable_size, of this very signature, on its own block.
            let f: unsafe extern "C" fn(*mut c_void) -> usize = unsafe { core::mem::transmute(f) };
            // SAFETY: as above.
            unsafe { f(p) }
        }
    }
}

// The constructor looks up glibc's `malloc_usable_size` while the program cannot be inside
// the dynamic loader yet; the destructor prints the statistics if asked.
#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = fini;

extern "C" fn init() {
    glibc_usable_size();
}

/// A formatter into a stack buffer: the statistics line is built without allocating.
struct Buffer {
    bytes: [u8; 768],
    len: usize,
}

impl Write for Buffer {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.bytes.len() - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// `RSEQ_MALLOC_STATS=1`: the statistics to stderr at exit; `RSEQ_MALLOC_STATS=/a/file`:
/// appended to that file (for programs that close stderr before exiting, as coreutils'
/// `close_stdout` does, and for collecting the lines of every process of a run).
extern "C" fn fini() {
    // SAFETY: a NUL-terminated name; the value is only read here, before any other call.
    let target = unsafe { libc::getenv(c"RSEQ_MALLOC_STATS".as_ptr()) };
    if target.is_null() {
        return;
    }
    // SAFETY: getenv's NUL-terminated value.
    let fd = match unsafe { *target } as u8 {
        b'1' => 2,
        // SAFETY: opens the NUL-terminated path; closed below.
        b'/' => unsafe {
            libc::open(
                target,
                libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC,
                0o644,
            )
        },
        _ => return,
    };
    if fd < 0 {
        return;
    }
    let s = RseqAlloc.stats();
    let small_allocs: u64 = s.classes.iter().map(|c| c.allocs).sum();
    let small_frees: u64 = s.classes.iter().map(|c| c.frees).sum();
    // SAFETY: glibc's name of the program, a NUL-terminated string set before main.
    let name = unsafe {
        let n = program_invocation_short_name;
        if n.is_null() {
            &b"?"[..]
        } else {
            core::ffi::CStr::from_ptr(n).to_bytes()
        }
    };
    let mut out = Buffer {
        bytes: [0; 768],
        len: 0,
    };
    let _ = writeln!(
        out,
        "rseq-dsl-malloc: {} [{}]: small allocs {} frees {} (cache hits {}, misses {}, \
         aborts {}, caches {} by {}); glibc allocs {} frees {} reallocs {}; mapped {} KiB",
        core::str::from_utf8(name).unwrap_or("?"),
        std::process::id(),
        small_allocs,
        small_frees,
        s.hits(),
        s.misses(),
        s.aborts,
        s.caches,
        match s.index {
            Some(rseq_dsl_alloc::Index::MmCid) => "mm_cid",
            Some(rseq_dsl_alloc::Index::Cpu) => "cpu",
            None => "none (no rseq)",
        },
        GLIBC_ALLOCS.load(Ordering::Relaxed),
        GLIBC_FREES.load(Ordering::Relaxed),
        GLIBC_REALLOCS.load(Ordering::Relaxed),
        s.mapped_bytes / 1024,
    );
    // SAFETY: writes our own buffer's initialised bytes (one write: lines of processes
    // appending to one file stay whole), then closes the file we opened.
    unsafe {
        libc::write(fd, out.bytes.as_ptr().cast(), out.len);
        if fd != 2 {
            libc::close(fd);
        }
    }
}
