/*
 * An LD_PRELOAD shim that makes a prefixed allocator (mimalloc's mi_*, or the _rjem_*
 * jemalloc that tikv-jemalloc-sys builds) the process's malloc, for larson.c: the C
 * allocators measured through the same C entry points as rseq-dsl-malloc. Built by
 * scripts/alloc-bench.sh against the static libraries the Rust benchmark's build left:
 *
 *     cc -O2 -fPIC -shared -DPREFIX=mi_ preload.c libmimalloc.a -o libmimalloc-preload.so
 */
#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define P(name) CAT(PREFIX, name)

void *P(malloc)(size_t);
void P(free)(void *);
void *P(calloc)(size_t, size_t);
void *P(realloc)(void *, size_t);
int P(posix_memalign)(void **, size_t, size_t);
void *P(aligned_alloc)(size_t, size_t);
void *P(memalign)(size_t, size_t);
size_t P(malloc_usable_size)(void *);

void *malloc(size_t n) { return P(malloc)(n); }
void free(void *p) { P(free)(p); }
void *calloc(size_t n, size_t size) { return P(calloc)(n, size); }
void *realloc(void *p, size_t n) { return P(realloc)(p, n); }
int posix_memalign(void **out, size_t align, size_t n) { return P(posix_memalign)(out, align, n); }
void *aligned_alloc(size_t align, size_t n) { return P(aligned_alloc)(align, n); }
void *memalign(size_t align, size_t n) { return P(memalign)(align, n); }
void *valloc(size_t n) { return P(memalign)(sysconf(_SC_PAGESIZE), n); }
void *pvalloc(size_t n)
{
    size_t page = sysconf(_SC_PAGESIZE);
    return P(memalign)(page, (n + page - 1) / page * page);
}
size_t malloc_usable_size(void *p) { return p ? P(malloc_usable_size)(p) : 0; }
