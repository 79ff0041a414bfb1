//! The thread's words a section's fast path reads: its area (or the stand-in), its area
//! again where the kernel maintains `mm_cid` (or null), and whether it has none.
//!
//! Two homes, one interface (the functions below):
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

use crate::abi::RseqArea;

/// The calling thread's area, or the stand-in (`registration::unregistered`).
#[inline(always)]
pub(crate) fn area() -> *const RseqArea {
    imp::area().get()
}

pub(crate) fn set_area(area: *const RseqArea) {
    imp::area().set(area);
}

/// The registered area where the kernel maintains `mm_cid` in it, else null.
#[inline(always)]
pub(crate) fn mm_cid_area() -> *mut RseqArea {
    imp::mm_cid_area().get()
}

pub(crate) fn set_mm_cid_area(area: *mut RseqArea) {
    imp::mm_cid_area().set(area);
}

/// Whether [`area`] is the stand-in. Its address is computed afresh (not shared with
/// [`area`]'s), so that a section's abort path, which asks, keeps nothing live across the
/// section: that would take the caller one more register.
#[inline(always)]
pub(crate) fn no_area() -> bool {
    imp::no_area().get()
}

pub(crate) fn set_no_area(none: bool) {
    imp::no_area().set(none);
}

#[cfg(not(feature = "static-tls"))]
mod imp {
    use core::cell::Cell;
    use core::ptr;

    use crate::abi::RseqArea;

    // Three thread-locals rather than one struct: each access computes its own address.
    // No destructors, so they can be read at any point of the thread's life.
    thread_local! {
        static AREA: Cell<*const RseqArea> = const { Cell::new(crate::registration::UNREGISTERED.get()) };
        static MM_CID_AREA: Cell<*mut RseqArea> = const { Cell::new(ptr::null_mut()) };
        static NO_AREA: Cell<bool> = const { Cell::new(true) };
    }

    // SAFETY (of the three): the thread-local lives as long as its thread, and the
    // reference never leaves it (a `Cell` is not `Sync`); the callers take it for one read
    // or write.
    #[inline(always)]
    pub(super) fn area() -> &'static Cell<*const RseqArea> {
        AREA.with(|cell| unsafe { &*ptr::from_ref(cell) })
    }

    #[inline(always)]
    pub(super) fn mm_cid_area() -> &'static Cell<*mut RseqArea> {
        MM_CID_AREA.with(|cell| unsafe { &*ptr::from_ref(cell) })
    }

    #[inline(always)]
    pub(super) fn no_area() -> &'static Cell<bool> {
        NO_AREA.with(|cell| unsafe { &*ptr::from_ref(cell) })
    }
}

/// The `static-tls` block's layout, as a 64-bit `abi/<arch>.rs`'s `.tdata` image lays it
/// out (`static_tls_image!`); an architecture without an initial-exec access yet keeps
/// one in a Rust thread-local, initialised with [`Words::initial`].
#[cfg(feature = "static-tls")]
#[repr(C)]
pub(crate) struct Words {
    area: core::cell::Cell<*const RseqArea>,
    mm_cid_area: core::cell::Cell<*mut RseqArea>,
    no_area: core::cell::Cell<bool>,
}

#[cfg(feature = "static-tls")]
impl Words {
    /// No area: the stand-in, null, "no area".
    #[allow(dead_code)] // only architectures without an initial-exec access use it
    pub(crate) const fn initial() -> Words {
        Words {
            area: core::cell::Cell::new(crate::registration::UNREGISTERED.get()),
            mm_cid_area: core::cell::Cell::new(core::ptr::null_mut()),
            no_area: core::cell::Cell::new(true),
        }
    }
}

#[cfg(feature = "static-tls")]
const _: () = assert!(core::mem::size_of::<Words>() == 3 * core::mem::size_of::<usize>());

#[cfg(feature = "static-tls")]
mod imp {
    use core::cell::Cell;

    use super::Words;
    use crate::abi::{static_tls_words, RseqArea};

    // SAFETY (of the three): the block is this thread's, laid out as Words and initialised
    // by the TLS image (the stand-in, null, true), alive as long as the thread; the
    // reference never leaves it (a `Cell` is not `Sync`).
    #[inline(always)]
    fn words<const FRESH: bool>() -> &'static Words {
        unsafe { &*(static_tls_words::<FRESH>() as *const Words) }
    }

    #[inline(always)]
    pub(super) fn area() -> &'static Cell<*const RseqArea> {
        &words::<false>().area
    }

    #[inline(always)]
    pub(super) fn mm_cid_area() -> &'static Cell<*mut RseqArea> {
        &words::<false>().mm_cid_area
    }

    #[inline(always)]
    pub(super) fn no_area() -> &'static Cell<bool> {
        &words::<true>().no_area
    }
}
