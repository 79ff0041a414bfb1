//! The thread's words a section's fast path reads: its area (or the stand-in), its area
//! again where the kernel maintains `mm_cid` (or null), and whether it has none.
//!
//! Two homes, one interface ([`words`]):
//!
//! - by default a Rust `thread_local!`: in an executable one load at a fixed offset from
//!   the thread pointer; in a shared object, general-dynamic TLS, a call to
//!   `__tls_get_addr`, which makes every caller of a section a non-leaf function;
//! - with the `static-tls` feature, a block in the static TLS image reached with the
//!   initial-exec model (`abi::static_tls_words`): two instructions in executables and
//!   shared objects alike, no call. For shared objects loaded with the program (`LD_PRELOAD`,
//!   a dependency of the executable), as the drop-in malloc is; a library `dlopen`ed later
//!   takes its block from the C library's small reserve of static TLS (glibc reuses a
//!   closed library's), and where that is exhausted `dlopen` fails.

use core::cell::Cell;

use crate::abi::RseqArea;

/// One thread's words; the `static-tls` image in `abi/<arch>.rs` lays out the same fields.
#[repr(C)]
pub(crate) struct FastWords {
    /// The registered area, or the stand-in (`registration::unregistered`).
    pub(crate) area: Cell<*const RseqArea>,
    /// The registered area where the kernel maintains `mm_cid` in it, else null.
    pub(crate) mm_cid_area: Cell<*mut RseqArea>,
    /// Whether `area` is the stand-in: a word of its own, so that a section's abort path
    /// keeps no address of `area` live across the section to read it again.
    pub(crate) no_area: Cell<bool>,
}

#[cfg(not(feature = "static-tls"))]
thread_local! {
    // No destructor, so it can be read at any point of the thread's life.
    static WORDS: FastWords = const {
        FastWords {
            area: Cell::new(crate::registration::UNREGISTERED.get()),
            mm_cid_area: Cell::new(core::ptr::null_mut()),
            no_area: Cell::new(true),
        }
    };
}

/// The calling thread's words (never fails: neither home has a destructor).
#[cfg(not(feature = "static-tls"))]
#[inline(always)]
pub(crate) fn words() -> &'static FastWords {
    // SAFETY: the thread-local lives as long as its thread, and the reference never leaves
    // it (the functions below take it for one read or write).
    WORDS.with(|words| unsafe { &*(words as *const FastWords) })
}

#[cfg(feature = "static-tls")]
#[inline(always)]
pub(crate) fn words() -> &'static FastWords {
    const _: () = assert!(core::mem::size_of::<FastWords>() == 24);
    // SAFETY: the block is this thread's, laid out as FastWords and initialised by the TLS
    // image (area = the stand-in, mm_cid_area = null, no_area = true), alive as long as
    // the thread; Cell makes the writes through it sound.
    unsafe { &*(crate::abi::static_tls_words() as *const FastWords) }
}
