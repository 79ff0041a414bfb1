/* glibc's malloc semantics, checked against librseq_dsl_malloc.so under LD_PRELOAD
 * (scripts/malloc-ci.sh builds it with the host's gcc and runs it):
 *
 *     gcc -O1 -pthread -o semantics alloc/malloc/tests/semantics.c
 *     LD_PRELOAD=target/release/librseq_dsl_malloc.so ./semantics
 *
 * Exits 0 when every check passed; prints the failed check and aborts otherwise. It first
 * makes sure that the library is in place (the usable sizes of small blocks are its
 * classes', not glibc's). */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* glibc's own allocator: blocks that did not come from the preloaded library, as those
 * allocated before it was in place. */
extern void *__libc_malloc(size_t);
extern void *__libc_memalign(size_t, size_t);

static int checks;

/* Sizes the compiler cannot see (so that it neither folds nor warns about the impossible
 * requests below). */
static volatile size_t opaque_zero;
#define V(x) ((size_t)(x) + opaque_zero)

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        checks++;                                                                         \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "semantics.c:%d: check failed: %s (errno %d)\n", __LINE__,  \
                    #cond, errno);                                                        \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static void fill(void *p, size_t n, unsigned char seed) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(seed + i * 7);
}

static int intact(const void *p, size_t n, unsigned char seed) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed + i * 7)) return 0;
    return 1;
}

static void preloaded(void) {
    /* Our classes: 16, ..., 112 for 100 bytes; glibc would give 24 and 104. */
    void *a = malloc(1), *b = malloc(100);
    CHECK(malloc_usable_size(a) == 16);
    CHECK(malloc_usable_size(b) == 112);
    free(a);
    free(b);
}

static void sizes(void) {
    for (size_t n = 0; n <= 5000; n += (n < 1100 ? 1 : 97)) {
        void *p = malloc(n);
        CHECK(p != NULL);
        CHECK(((uintptr_t)p & 15) == 0);
        CHECK(malloc_usable_size(p) >= n);
        fill(p, malloc_usable_size(p), (unsigned char)n);
        CHECK(intact(p, malloc_usable_size(p), (unsigned char)n));
        free(p);
    }
    CHECK(malloc_usable_size(NULL) == 0);
    void *zero[64];
    for (int i = 0; i < 64; i++) {
        zero[i] = malloc(0); /* unique, freeable */
        CHECK(zero[i] != NULL);
        for (int j = 0; j < i; j++) CHECK(zero[i] != zero[j]);
    }
    for (int i = 0; i < 64; i++) free(zero[i]);
    errno = 0;
    CHECK(malloc(V(SIZE_MAX)) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(V(PTRDIFF_MAX) + 1) == NULL && errno == ENOMEM);
}

static void calloc_semantics(void) {
    /* Dirty memory first, so that calloc must clear recycled objects. */
    for (size_t n = 16; n <= 4096; n *= 2) {
        void *p = malloc(n);
        memset(p, 0xAB, n);
        free(p);
        unsigned char *z = calloc(1, n);
        CHECK(z != NULL);
        for (size_t i = 0; i < n; i++) CHECK(z[i] == 0);
        free(z);
    }
    unsigned char *z = calloc(10, 100);
    CHECK(z != NULL);
    for (int i = 0; i < 1000; i++) CHECK(z[i] == 0);
    free(z);
    CHECK((z = calloc(0, 5)) != NULL);
    free(z);
    errno = 0;
    CHECK(calloc(V(SIZE_MAX / 2), 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc(V(1) << 33, V(1) << 32) == NULL && errno == ENOMEM);
}

static void realloc_semantics(void) {
    char *p = realloc(NULL, 10); /* malloc */
    CHECK(p != NULL);
    fill(p, 10, 1);
    /* Within the class: same address. */
    char *q = realloc(p, 16);
    CHECK(q == p && intact(q, 10, 1));
    /* Small to small, small to large, large to larger, large to small: contents kept. */
    size_t steps[] = {100, 1000, 1024, 1025, 5000, 200000, 3000, 40, 8};
    size_t kept = 10;
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        q = realloc(q, steps[i]);
        CHECK(q != NULL);
        size_t now = kept < steps[i] ? kept : steps[i];
        CHECK(intact(q, now, 1));
        fill(q, steps[i], 1);
        kept = steps[i];
        CHECK(malloc_usable_size(q) >= steps[i]);
    }
    /* Failure: NULL, ENOMEM, the block untouched. */
    errno = 0;
    char *r = realloc(q, V(SIZE_MAX - 4096));
    CHECK(r == NULL && errno == ENOMEM && intact(q, 8, 1));
    /* realloc(p, 0) frees and returns NULL (glibc). */
    CHECK(realloc(q, 0) == NULL);
    char *big = malloc(100000);
    CHECK(realloc(big, 0) == NULL);

    CHECK((p = reallocarray(NULL, 10, 10)) != NULL);
    fill(p, 100, 3);
    CHECK((p = reallocarray(p, 300, 10)) != NULL && intact(p, 100, 3));
    errno = 0;
    CHECK(reallocarray(p, V(SIZE_MAX / 2), 3) == NULL && errno == ENOMEM && intact(p, 100, 3));
    free(p);
}

static void alignment(void) {
    size_t aligns[] = {8, 16, 32, 64, 128, 4096, 65536, 1 << 21};
    size_t sizes[] = {0, 1, 24, 100, 1024, 5000, 100000};
    for (size_t a = 0; a < sizeof aligns / sizeof *aligns; a++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            void *p = (void *)1;
            CHECK(posix_memalign(&p, aligns[a], sizes[s]) == 0);
            CHECK(p != NULL && ((uintptr_t)p & (aligns[a] - 1)) == 0);
            CHECK(malloc_usable_size(p) >= sizes[s]);
            fill(p, sizes[s], 9);
            free(p);
            p = aligned_alloc(aligns[a], sizes[s]);
            CHECK(p != NULL && ((uintptr_t)p & (aligns[a] - 1)) == 0);
            fill(p, sizes[s], 9);
            free(p);
            p = memalign(aligns[a], sizes[s]);
            CHECK(p != NULL && ((uintptr_t)p & (aligns[a] - 1)) == 0);
            p = realloc(p, sizes[s] + 10);
            CHECK(p != NULL);
            free(p);
        }
    }
    /* posix_memalign: EINVAL for an alignment that is not a power-of-two multiple of
     * sizeof(void *), *memptr untouched; ENOMEM for an impossible size. */
    void *untouched = (void *)0x1234;
    size_t bad[] = {0, 1, 3, sizeof(void *) / 2, 24, 48, 100, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        void *p = untouched;
        CHECK(posix_memalign(&p, bad[i], 16) == EINVAL && p == untouched);
    }
    void *p = untouched;
    CHECK(posix_memalign(&p, 64, V(SIZE_MAX - 4096)) == ENOMEM && p == untouched);
    /* aligned_alloc: a power of two or EINVAL (glibc 2.38's rule). */
    errno = 0;
    CHECK(aligned_alloc(24, 100) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(aligned_alloc(0, 100) == NULL && errno == EINVAL);
    /* memalign: rounds up to a power of two; EINVAL above SIZE_MAX / 2 + 1. */
    CHECK((p = memalign(24, 100)) != NULL && ((uintptr_t)p & 31) == 0);
    free(p);
    errno = 0;
    CHECK(memalign(V(SIZE_MAX / 2 + 2), 16) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(memalign(64, V(SIZE_MAX - 4096)) == NULL && errno == ENOMEM);
    /* valloc and pvalloc: page aligned; pvalloc rounds the size to whole pages. */
    long page = sysconf(_SC_PAGESIZE);
    CHECK((p = valloc(10)) != NULL && ((uintptr_t)p & (page - 1)) == 0);
    free(p);
    CHECK((p = pvalloc(1)) != NULL && ((uintptr_t)p & (page - 1)) == 0);
    CHECK(malloc_usable_size(p) >= (size_t)page);
    free(p);
}

static void errno_kept_by_free(void) {
    /* Enough frees of one class to fill the cache and spill to the depot (its slow path),
     * small and large. */
    void *blocks[2000];
    for (int i = 0; i < 2000; i++) blocks[i] = malloc(i % 2 ? 48 : 70000);
    for (int i = 0; i < 2000; i++) {
        errno = 4242;
        free(blocks[i]);
        CHECK(errno == 4242);
    }
    errno = 77;
    free(NULL);
    CHECK(errno == 77);
}

static void foreign_blocks(void) {
    /* Blocks of glibc's own (as those allocated before the library was in place): free,
     * realloc and malloc_usable_size must hand them to glibc. */
    char *p = __libc_malloc(40);
    CHECK(p != NULL);
    fill(p, 40, 5);
    CHECK(malloc_usable_size(p) >= 40);
    p = realloc(p, 4000);
    CHECK(p != NULL && intact(p, 40, 5));
    free(p);
    free(__libc_malloc(10));
    free(__libc_memalign(64, 100));
}

/* Threads: each one's first call is a malloc (the runtime's first use on the thread must
 * not allocate through it), then blocks freed by other threads through a shared ring. */
#define THREADS 4
#define ROUNDS 100000
static void *ring[256];
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *first = malloc(24);
    CHECK(first != NULL);
    for (int i = 0; i < ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 8) % (seed & 1 ? 1100 : 200);
        /* The size in the first word, a canary in the last byte. */
        size_t *p = malloc(sizeof(size_t) + n + 1);
        CHECK(p != NULL);
        p[0] = n;
        ((unsigned char *)(p + 1))[n] = (unsigned char)n;
        pthread_mutex_lock(&ring_lock);
        size_t *old = ring[seed % 256];
        ring[seed % 256] = p;
        pthread_mutex_unlock(&ring_lock);
        if (old) {
            CHECK(((unsigned char *)(old + 1))[old[0]] == (unsigned char)old[0]);
            free(old);
        }
    }
    free(first);
    return NULL;
}

/* A child's thread: its first call is a malloc, then blocks of its own. */
static void *child_worker(void *arg) {
    void *blocks[64] = {0};
    for (unsigned i = 0; i < 20000; i++) {
        unsigned slot = (i * 2654435761u + (unsigned)(uintptr_t)arg) % 64;
        free(blocks[slot]);
        blocks[slot] = malloc((i * 37) % 1500);
        CHECK(blocks[slot] != NULL);
    }
    for (int i = 0; i < 64; i++) free(blocks[i]);
    return NULL;
}

/* Forks while the other threads allocate: the child allocates and frees (every lock must
 * be free there) and exits with a status the parent checks. */
static volatile int stop_forking;
static void *forker(void *arg) {
    (void)arg;
    for (int i = 0; i < 20 && !stop_forking; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            for (int j = 0; j < 1000; j++) free(malloc((size_t)j % 1500));
            void *t;
            pthread_t thread;
            if (pthread_create(&thread, NULL, child_worker, (void *)7) != 0) _exit(2);
            pthread_join(thread, &t);
            _exit(0);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    return NULL;
}

static void threads(void) {
    pthread_t t[THREADS], f;
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(i + 1)) == 0);
    CHECK(pthread_create(&f, NULL, forker, NULL) == 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    stop_forking = 1;
    pthread_join(f, NULL);
    for (int i = 0; i < 256; i++) free(ring[i]);
}

int main(void) {
    preloaded();
    sizes();
    calloc_semantics();
    realloc_semantics();
    alignment();
    errno_kept_by_free();
    foreign_blocks();
    threads();
    printf("semantics: %d checks passed\n", checks);
    return 0;
}
