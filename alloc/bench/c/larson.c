/*
 * larson through the C ABI: the Rust port's larson (alloc/bench/src/workloads.rs) as a C
 * program calling malloc and free, so that an allocator preloaded with LD_PRELOAD
 * (rseq-dsl-malloc, alloc/malloc) is measured on the path real C programs take: free
 * without a size, the allocator reached through the PLT from a shared object, its
 * thread-locals through the dynamic TLS model. Same parameters as the port: per lane
 * 5000 blocks of 8 to 999 bytes allocated by the main thread, 500,000 replacements (free,
 * malloc, two bytes written, one read) per thread, which then starts its successor on the
 * same blocks and exits.
 *
 *     cc -O2 -pthread alloc/bench/c/larson.c -o larson-c
 *     LD_PRELOAD=target/release/librseq_dsl_malloc.so ./larson-c rseq-dsl-alloc 2 1.0
 *
 * Prints one JSON line in the benchmark binary's format (workload "larson-c").
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { BLOCKS = 5000, PER_THREAD = 500000, MIN_SIZE = 8, MAX_SIZE = 1000 };

struct lane {
    char *blocks[BLOCKS];
    unsigned long long rng;
    long long ops;
    atomic_int over; /* set by the lane's last thread */
};

static atomic_int stop;

/* xorshift64, as the port's. */
static unsigned long long next(unsigned long long *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static char *block(unsigned long long *rng)
{
    volatile char *p = malloc(MIN_SIZE + next(rng) % (MAX_SIZE - MIN_SIZE));
    if (!p) {
        perror("malloc");
        exit(1);
    }
    p[0] = 'a';
    (void)p[0];
    p[1] = 'b';
    return (char *)p;
}

static void *generation(void *arg)
{
    struct lane *lane = arg;
    long long done = 0;
    while (done < PER_THREAD) {
        size_t victim = next(&lane->rng) % BLOCKS;
        free(lane->blocks[victim]);
        lane->blocks[victim] = block(&lane->rng);
        done++;
        if (atomic_load_explicit(&stop, memory_order_relaxed))
            break;
    }
    lane->ops += done;
    pthread_t successor;
    if (atomic_load(&stop) || pthread_create(&successor, NULL, generation, lane) != 0) {
        atomic_store(&lane->over, 1);
        return NULL;
    }
    pthread_detach(successor);
    return NULL;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s ALLOCATOR-NAME THREADS SECONDS\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]);
    double seconds = atof(argv[3]);
    struct lane *lanes = calloc(threads, sizeof *lanes);
    for (int t = 0; t < threads; t++) {
        lanes[t].rng = (t + 1) * 0x9e3779b97f4a7c15ULL | 1;
        for (int i = 0; i < BLOCKS; i++)
            lanes[t].blocks[i] = block(&lanes[t].rng);
    }
    double cpu0 = now(CLOCK_PROCESS_CPUTIME_ID), start = now(CLOCK_MONOTONIC);
    for (int t = 0; t < threads; t++) {
        pthread_t first;
        if (pthread_create(&first, NULL, generation, &lanes[t]) != 0) {
            perror("pthread_create");
            return 1;
        }
        pthread_detach(first);
    }
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&stop, 1);
    long long ops = 0;
    for (int t = 0; t < threads; t++) {
        while (!atomic_load(&lanes[t].over))
            usleep(100);
        ops += lanes[t].ops;
    }
    double secs = now(CLOCK_MONOTONIC) - start, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("{\"allocator\": \"%s\", \"workload\": \"larson-c\", \"threads\": %d, \"ops\": %lld, "
           "\"seconds\": %.4f, \"ops_per_sec\": %.1f, \"cpu_seconds\": %.4f, \"max_rss_kib\": %ld}\n",
           argv[1], threads, ops, secs, ops / secs, cpu, usage.ru_maxrss);
    return 0;
}
