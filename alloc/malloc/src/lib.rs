//! `rseq-dsl-alloc` as a drop-in C `malloc`: a shared object that any dynamically linked
//! program on Linux with glibc loads with `LD_PRELOAD`.
//!
//! ```text
//! cargo build --release -p rseq-dsl-malloc
//! LD_PRELOAD=$PWD/target/release/librseq_dsl_malloc.so RSEQ_MALLOC_STATS=1 python3 -c 'print(1)'
//! ```
//!
//! It defines `malloc`, `free`, `calloc`, `realloc`, `reallocarray`, `posix_memalign`,
//! `aligned_alloc`, `memalign`, `valloc`, `pvalloc` and `malloc_usable_size`, with glibc's
//! semantics:
//!
//! - **Small blocks** (up to 1024 bytes, aligned to at most 16, glibc's `malloc`
//!   alignment) come from the per-CPU caches of `rseq-dsl-alloc`, with no header: the
//!   allocator's page table (`RseqAlloc::usable_size`) says from the address alone whether
//!   a block is one of its objects, and of which size.
//! - **Everything else goes to glibc** through its `__libc_malloc`, `__libc_calloc`,
//!   `__libc_realloc`, `__libc_memalign`, `__libc_valloc`, `__libc_pvalloc` and
//!   `__libc_free`, never through `malloc` (which would be this library again), and so does
//!   the `free` of any block that is not ours: glibc's large blocks, and blocks that glibc
//!   allocated before this library was in place. `malloc_usable_size` of such a block is
//!   glibc's own (found with `dlsym(RTLD_NEXT)`).
//! - **Failures** set `errno` to `ENOMEM` (`EINVAL` for a bad alignment of `memalign` and
//!   `aligned_alloc`; `posix_memalign` returns the code and leaves `errno` alone). `calloc`
//!   and `reallocarray` check their multiplication. `free` keeps `errno`.
//! - **`realloc(p, 0)`** frees `p` and returns NULL, as glibc does; `realloc(NULL, n)` is
//!   `malloc(n)`. A small block keeps its address while the new size fits its class.
//! - **`aligned_alloc`** refuses an alignment that is not a power of two with `EINVAL`
//!   (glibc 2.38 and later; 2.36 and 2.37 round it up like `memalign`).
//!
//! What makes it safe to preload:
//!
//! - **No recursion**: the allocator maps its memory with `mmap`, locks `pthread_mutex_t`
//!   statics, sends its large requests to glibc's `__libc_*` functions, and a thread's rseq
//!   registration allocates nothing (glibc's area, or the runtime's own thread-local one
//!   with no Rust destructor). Nothing here allocates through Rust's global allocator.
//! - **Thread-local storage**: Rust has no stable way to choose a TLS model (`-Z
//!   tls-model=initial-exec` is nightly-only), so a cdylib's thread-locals (the runtime's
//!   area pointer) use the general-dynamic model: a call of `__tls_get_addr`. A library
//!   loaded with `LD_PRELOAD` is loaded at start-up, so its TLS block is in the static TLS
//!   area of every thread and its `dtv` entry is set when the thread is created:
//!   `__tls_get_addr` finds it without allocating. The exception is glibc before 2.40 in a
//!   program that later `dlopen`s enough libraries with TLS to outgrow the `dtv` (more than
//!   14): the next `__tls_get_addr` on each thread resizes the `dtv` with `malloc`, which
//!   re-enters it. Every malloc written in a language without initial-exec TLS shares this.
//! - **Fork**: the allocator's `pthread_atfork` handlers (installed by its constructor)
//!   hold its locks across `fork`; glibc keeps its own arenas consistent for the large path.
//! - **C++**: libstdc++'s `operator new` and `delete` call `malloc`, `aligned_alloc` and
//!   `free`, so they come here.
//!
//! `RSEQ_MALLOC_STATS=1` prints the allocator's counters to stderr when the program exits
//! (from a `.fini_array` entry, with one `write`, allocating nothing): its small allocations
//! and frees, cache hits and misses, and the requests handed to glibc. `RSEQ_MALLOC_STATS=`
//! an absolute path appends the line to that file instead: for programs that close stderr
//! before they exit (coreutils), and to collect the lines of every process of a run.
//!
//! Measured on a shared 2-vCPU machine (glibc 2.36): `g++ -O2` compiling a file takes the
//! same time under it as under glibc; `python3` with `PYTHONMALLOC=malloc` building and
//! round-tripping JSON of 200,000 entries takes about 1.35x glibc's user time. The profile
//! puts most of the difference in Python's garbage collector, whose walk over the objects
//! takes about twice as long: presumably locality, the size classes keeping apart blocks
//! that glibc places side by side. The hit paths also pay a `__tls_get_addr` call here.

#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use imp::*;
