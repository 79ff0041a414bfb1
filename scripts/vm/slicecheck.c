/*
 * Whether the running kernel offers the rseq time-slice extension (Linux 7.0, issue 26), as
 * a thread sees it: run in the VM that boots scripts/kernel-build.sh's kernel
 * (scripts/vm.sh x86_64 --kernel slice), before and after the slice tests.
 *
 *     slicecheck          the checks below; exit 1 if one fails
 *     slicecheck --stats  only prints debugfs rseq/ (after the tests: the grant counters)
 *
 * The thread's area is glibc's where glibc registered (__rseq_size > 0: glibc 2.41+ registers
 * 33 bytes on 7.x, V2 mode), else an own 64-byte area aligned to 64 (V2). Checks:
 * AT_RSEQ_FEATURE_SIZE >= 33; the kernel-owned status bit "available" (bit 4) in the area's
 * `flags`; prctl(PR_RSEQ_SLICE_EXTENSION = 79, GET = 1) answers, SET = 2 with ENABLE = 1
 * succeeds, GET then says 1 and `flags` bit 5 ("enabled") is set, and disabling clears it;
 * debugfs's rseq/ has slice_ext_nsec (in the VM, debugfs is mounted on /sys/kernel/debug here
 * if it is not yet: it stays mounted for the tests after this one; never on a host). One "RSEQ-SLICE:" line per fact.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

#define RSEQ_SIG 0x53053053u /* x86_64: the kernel build is x86_64 only for now */
#define PR_RSEQ_SLICE_EXTENSION 79
#define PR_RSEQ_SLICE_EXTENSION_GET 1
#define PR_RSEQ_SLICE_EXTENSION_SET 2
#define PR_RSEQ_SLICE_EXT_ENABLE 1
#define SLICE_AVAILABLE (1u << 4)
#define SLICE_ENABLED (1u << 5)

struct area {
    uint32_t cpu_id_start, cpu_id;
    uint64_t rseq_cs;
    uint32_t flags, node_id, mm_cid, slice_ctrl;
    uint8_t end[32];
} __attribute__((aligned(64)));
static __thread struct area own = {.cpu_id = (uint32_t)-1};

static int failed;
static void fact(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void fact(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("RSEQ-SLICE: %s ", ok ? "ok" : "FAILED");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!ok) failed = 1;
}

static void show_debugfs(void) {
    /* Mounted only in the VM (a child of its /init), never on a host where this runs as a trial. */
    if (getppid() == 1 && access("/sys/kernel/debug/rseq", F_OK) != 0) {
        mkdir("/sys/kernel/debug", 0755);
        if (mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) != 0 && errno != EBUSY)
            printf("RSEQ-SLICE: mount debugfs: %s\n", strerror(errno));
    }
    DIR *dir = opendir("/sys/kernel/debug/rseq");
    if (!dir) {
        printf("RSEQ-SLICE: debugfs rseq/: %s\n", strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.') continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/sys/kernel/debug/rseq/%s", e->d_name);
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0) close(fd);
        buf[n > 0 ? n : 0] = 0;
        /* One line per file: newlines become " | ". */
        printf("RSEQ-SLICE: debugfs rseq/%s: ", e->d_name);
        for (char *c = buf; *c; c++) {
            if (*c == '\n') {
                if (c[1]) printf(" | ");
            } else {
                putchar(*c);
            }
        }
        printf("\n");
    }
    closedir(dir);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--stats") == 0) {
        show_debugfs();
        return 0;
    }
    unsigned long feature = getauxval(27), align = getauxval(28);
    fact(feature >= 33, "AT_RSEQ_FEATURE_SIZE=%lu AT_RSEQ_ALIGN=%lu", feature, align);

    unsigned size = &__rseq_size ? __rseq_size : 0;
    volatile struct area *area;
    if (size > 0) {
        area = (struct area *)((char *)__builtin_thread_pointer() + __rseq_offset);
        printf("RSEQ-SLICE: area: glibc's (__rseq_size %u)\n", size);
    } else {
        long r = syscall(SYS_rseq, &own, sizeof own, 0, RSEQ_SIG);
        fact(r == 0, "area: own, %zu bytes at %p registered: %s", sizeof own, (void *)&own,
             r == 0 ? "yes" : strerror(errno));
        if (r != 0) return 1;
        area = &own;
    }
    uint32_t flags = area->flags;
    fact(flags & SLICE_AVAILABLE, "area flags %#x: slice extension available (bit 4) %s", flags,
         flags & SLICE_AVAILABLE ? "yes" : "no");

    int get = prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET, 0, 0, 0);
    fact(get >= 0, "prctl(79, GET) = %d%s%s", get, get < 0 ? " " : "", get < 0 ? strerror(errno) : "");
    int set = prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, PR_RSEQ_SLICE_EXT_ENABLE, 0, 0);
    fact(set == 0, "prctl(79, SET, ENABLE) = %d%s%s", set, set < 0 ? " " : "", set < 0 ? strerror(errno) : "");
    get = prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET, 0, 0, 0);
    flags = area->flags;
    fact(get == PR_RSEQ_SLICE_EXT_ENABLE && (flags & SLICE_ENABLED),
         "enabled: prctl(79, GET) = %d, area flags %#x (bit 5 %s)", get, flags,
         flags & SLICE_ENABLED ? "set" : "clear");
    set = prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, 0, 0, 0);
    get = prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET, 0, 0, 0);
    flags = area->flags;
    fact(set == 0 && get == 0 && !(flags & SLICE_ENABLED),
         "disabled again: SET 0 = %d, GET = %d, area flags %#x", set, get, flags);

    show_debugfs();
    fact(access("/sys/kernel/debug/rseq/slice_ext_nsec", R_OK) == 0, "debugfs rseq/slice_ext_nsec present");
    if (area == &own) syscall(SYS_rseq, &own, sizeof own, 1, RSEQ_SIG);
    printf("RSEQ-SLICE: %s\n", failed ? "FAIL" : "PASS");
    return failed;
}
