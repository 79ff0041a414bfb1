/*
 * What glibc registered for the calling thread, as the kernel sees it: built against the
 * cross glibc 2.36 and run in the VM on each glibc of the initramfs (scripts/vm.sh).
 *
 *     probe glibc   glibc must have registered: exit 1 otherwise
 *     probe none    glibc must not have registered (tunable off, or no signature for
 *                   this architecture): exit 1 if it did
 *
 * One line on stdout:
 *     RSEQ-PROBE: glibc 2.41 __rseq_size=33 __rseq_offset=-160 __rseq_flags=0
 *                 registered_length=33 mode=V2 cpu_id=1 feature_size=33 align=64
 * The registered length is read from the kernel, not assumed: rseq(2) on glibc's own area
 * with the length it registered and the right signature answers EBUSY, with any other
 * length EINVAL (the kernel compares area and length before anything else). A length
 * above 32 on a kernel whose feature size is above 32 is the kernel's V2 mode.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <gnu/libc-version.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
extern const unsigned int __rseq_flags __attribute__((weak));

#if defined(__x86_64__)
#define RSEQ_SIG 0x53053053u
#elif defined(__aarch64__)
#define RSEQ_SIG 0xd428bc00u
#elif defined(__riscv)
#define RSEQ_SIG 0xf1401073u
#elif defined(__s390x__)
#define RSEQ_SIG 0xB2FF0FFFu
#elif defined(__powerpc64__)
#define RSEQ_SIG 0x0fe5000bu
#elif defined(__arm__)
#define RSEQ_SIG 0xe7f5def3u
#elif defined(__loongarch64)
#define RSEQ_SIG 0x002a0010u
#else
#error "no rseq signature for this architecture"
#endif

/* The thread pointer glibc's __rseq_offset counts from: gcc 12 has no
   __builtin_thread_pointer for powerpc, where it is r13. */
static char *thread_pointer(void) {
#if defined(__powerpc64__)
    register char *tp __asm__("r13");
    return tp;
#else
    return (char *)__builtin_thread_pointer();
#endif
}

int main(int argc, char **argv) {
    int expect = argc > 1 && strcmp(argv[1], "glibc") == 0;
    unsigned long feature = getauxval(27), align = getauxval(28);
    unsigned size = &__rseq_size ? __rseq_size : 0;
    long offset = &__rseq_offset ? (long)__rseq_offset : 0;
    unsigned flags = &__rseq_flags ? __rseq_flags : 0;
    char *area = thread_pointer() + offset;
    int length = 0, sig_ok = 0;
    if (size > 0) {
        /* A registration's length lies between 20 (the original ABI) and a page. */
        for (int len = 20; len <= 4096 && !length; len++) {
            if (syscall(SYS_rseq, area, len, 0, RSEQ_SIG) == 0) {
                /* Nothing was registered after all: undo ours and say so. */
                syscall(SYS_rseq, area, len, 1, RSEQ_SIG);
                break;
            }
            if (errno == EBUSY || errno == EPERM) {
                length = len;
                sig_ok = errno == EBUSY;
            }
        }
    }
    int32_t cpu_id = length ? *(volatile int32_t *)(area + 4) : -1;
    const char *mode = !length ? "none" : (length > 32 && feature > 32) ? "V2" : "legacy";
    printf("RSEQ-PROBE: glibc %s __rseq_size=%u __rseq_offset=%ld __rseq_flags=%u "
           "registered_length=%d mode=%s%s cpu_id=%d feature_size=%lu align=%lu\n",
           gnu_get_libc_version(), size, offset, flags, length, mode,
           length && !sig_ok ? " (signature differs)" : "", cpu_id, feature, align);
    if (expect)
        return length && sig_ok && cpu_id >= 0 ? 0 : 1;
    return length ? 1 : 0;
}
