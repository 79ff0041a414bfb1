/*
 * /init of the test VMs (scripts/vm.sh): a static PID 1 that mounts /proc,
 * /sys, /dev and /tmp, runs every line of /plan as a child process, prints one marker line
 * per test on the serial console, and powers the machine off.
 *
 * /plan, one test per line, fields separated by tabs:
 *     label <TAB> timeout_s <TAB> KEY=VALUE ... (or -) <TAB> /path/to/exe arg ...
 * Markers (the script decides pass/fail from these, never from qemu's exit code):
 *     RSEQ-VM: PASS <label> (<s> s)
 *     RSEQ-VM: FAIL <label> exit=N | signal=N | timeout (<s> s)
 *     RSEQ-VM: SUMMARY passed=N failed=N
 *     RSEQ-VM: END
 *
 * After each test, every CPU is put back online or offline as it was at boot (tests/hotplug.rs
 * offlines and onlines CPUs), with a line saying so.
 *
 * A test still running at its deadline is described before it is killed (dump_hang):
 * every thread of every process in its session, its /proc stat, wchan, syscall line and
 * kernel stack, its user-space return addresses (registers read with ptrace, then the
 * frame-pointer chain), the mappings of its binary, and the kernel's stacks of all tasks
 * (sysrq t). Lines "RSEQ-VM: PC ..." are symbolised by the host script after the boot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <elf.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__riscv)
#include <asm/ptrace.h> /* riscv64's struct user_regs_struct (glibc's sys/user.h has none) */
#endif
#if defined(__powerpc64__)
#include <asm/ptrace.h> /* powerpc's struct pt_regs: glibc's sys/user.h has no user_regs_struct */
#define user_regs_struct pt_regs
#endif
#if defined(__s390x__)
#define user_regs_struct _user_regs_struct /* glibc's name on s390 */
#endif
/* Where a frame record keeps the return address and the caller's frame pointer, from the
   frame pointer: [fp] and [fp + 8] on x86_64 and aarch64; the back chain and the LR save
   doubleword on ppc64; below the frame pointer (the canonical frame address) on loongarch64. */
#if defined(__powerpc64__)
#define FRAME_RET 16
#define FRAME_NEXT 0
#elif defined(__loongarch64)
#define FRAME_RET (-8)
#define FRAME_NEXT (-16)
#else
#define FRAME_RET 8
#define FRAME_NEXT 0
#endif

#define MAX_ARGS 64

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("RSEQ-VM: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static void mount_fs(const char *type, const char *dir) {
    mkdir(dir, 0755);
    if (mount(type, dir, type, 0, NULL) != 0 && errno != EBUSY)
        say("warning: mount %s on %s: %s", type, dir, strerror(errno));
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Splits `s` in place at `sep`, at most `max` fields; returns the count. */
static int split(char *s, const char *sep, char **out, int max) {
    int n = 0;
    for (char *tok = strtok(s, sep); tok && n < max; tok = strtok(NULL, sep)) out[n++] = tok;
    return n;
}

/* Prints a /proc file of `dir` on one line, after `tag` (newlines become spaces). */
static void show_file(const char *dir, const char *name, const char *tag) {
    char path[256], buf[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    for (char *c = buf; *c; c++)
        if (*c == '\n') *c = ' ';
    say("DUMP %s %s: %s", tag, name, buf);
}

/* Prints every line of a /proc file, each after `tag`. */
static void show_lines(const char *path, const char *tag, const char *only_with) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!only_with || strstr(line, only_with)) say("DUMP %s %s", tag, line);
    }
    fclose(f);
}

/* Reads one word of the stopped thread `tid`'s memory; 0 when it cannot. */
static unsigned long peek(pid_t tid, unsigned long addr) {
    unsigned long word = 0;
    struct iovec local = {&word, sizeof word}, remote = {(void *)addr, sizeof word};
    if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != sizeof word) return 0;
    return word;
}

/*
 * Stops thread `tid` with ptrace, reads its registers and prints its user-space return
 * addresses: the PC, the link register (aarch64, riscv64), then the frame-pointer chain (each
 * frame record holds the caller's frame pointer and the return address). The test
 * binaries are built with frame pointers; frames without one are skipped over.
 */
static void show_user_stack(pid_t pid, pid_t tid) {
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
        say("DUMP %d/%d ptrace: %s", pid, tid, strerror(errno));
        return;
    }
    int status;
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0 || waitpid(tid, &status, __WALL) != tid) {
        say("DUMP %d/%d interrupt: %s", pid, tid, strerror(errno));
        ptrace(PTRACE_DETACH, tid, 0, 0);
        return;
    }
    unsigned long pc, fp, sp, lr = 0;
    struct user_regs_struct regs;
    struct iovec io = {&regs, sizeof regs};
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &io) != 0) {
        say("DUMP %d/%d regs: %s", pid, tid, strerror(errno));
        ptrace(PTRACE_DETACH, tid, 0, 0);
        return;
    }
#if defined(__aarch64__)
    pc = regs.pc;
    fp = regs.regs[29];
    sp = regs.sp;
    lr = regs.regs[30];
#elif defined(__x86_64__)
    pc = regs.rip;
    fp = regs.rbp;
    sp = regs.rsp;
#elif defined(__riscv)
    pc = regs.pc;
    fp = regs.s0;
    sp = regs.sp;
    lr = regs.ra;
#elif defined(__s390x__)
    /* r14 holds the return address, r15 the stack pointer. Without -mbackchain (Rust's
       s390x code has none) no frame chain can be walked: the PC and r14 only. */
    pc = regs.psw.addr;
    fp = 0;
    sp = regs.gprs[15];
    lr = regs.gprs[14];
#elif defined(__powerpc64__)
    /* r1 is both stack and frame pointer: each frame's first doubleword is the caller's
       r1 (the back chain), its third the saved link register (FRAME_RET below). */
    pc = regs.nip;
    fp = regs.gpr[1];
    sp = regs.gpr[1] - 1;
    lr = regs.link;
#elif defined(__loongarch64)
    pc = regs.csr_era;
    fp = regs.regs[22];
    sp = regs.regs[3];
    lr = regs.regs[1];
#else
#error "no register names for this architecture's hang dumps"
#endif
    int frame = 0;
    say("PC %d %d %d %#lx", pid, tid, frame++, pc);
    if (lr) say("PC %d %d %d %#lx", pid, tid, frame++, lr);
    /* A frame record lies above the stack pointer and each one above the last. */
    unsigned long prev = sp;
    while (fp > prev && fp - prev < (8ul << 20) && frame < 48) {
        unsigned long ret = peek(tid, fp + FRAME_RET);
        if (!ret) break;
        say("PC %d %d %d %#lx", pid, tid, frame++, ret);
        prev = fp;
        fp = peek(tid, fp + FRAME_NEXT);
    }
    ptrace(PTRACE_DETACH, tid, 0, 0);
}

/* Process group of `pid`, from field 5 of its stat (the name in field 2 may hold spaces). */
static pid_t group_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    int ppid, pgrp;
    char state;
    if (!close_paren || sscanf(close_paren + 2, "%c %d %d", &state, &ppid, &pgrp) != 3) return -1;
    return pgrp;
}

/* Describes every thread of every process in the process group `group` (see the top). */
static void dump_hang(pid_t group, const char *label) {
    say("DUMP begin %s", label);
    DIR *procs = opendir("/proc");
    struct dirent *p;
    while (procs && (p = readdir(procs))) {
        pid_t pid = atoi(p->d_name);
        if (pid <= 1 || group_of(pid) != group) continue;
        char dir[64], path[128], tag[48];
        snprintf(dir, sizeof dir, "/proc/%d", pid);
        snprintf(tag, sizeof tag, "%d", pid);
        show_file(dir, "cmdline", tag);
        /* The executable's mappings: the host turns PCs into file addresses with them. */
        snprintf(path, sizeof path, "/proc/%d/maps", pid);
        char exe[256] = "";
        snprintf(dir, sizeof dir, "/proc/%d/exe", pid);
        ssize_t n = readlink(dir, exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        say("DUMP %d exe: %s", pid, exe);
        snprintf(tag, sizeof tag, "MAP %d", pid);
        show_lines(path, tag, " /"); /* file-backed mappings only */
        snprintf(path, sizeof path, "/proc/%d/task", pid);
        DIR *tasks = opendir(path);
        struct dirent *t;
        while (tasks && (t = readdir(tasks))) {
            pid_t tid = atoi(t->d_name);
            if (tid <= 0) continue;
            char tdir[96];
            snprintf(tdir, sizeof tdir, "/proc/%d/task/%d", pid, tid);
            snprintf(tag, sizeof tag, "%d/%d", pid, tid);
            show_file(tdir, "comm", tag);
            show_file(tdir, "stat", tag);
            show_file(tdir, "wchan", tag);
            show_file(tdir, "syscall", tag);
            char stack[128];
            snprintf(stack, sizeof stack, "%s/stack", tdir);
            snprintf(tag, sizeof tag, "%d/%d kernel", pid, tid);
            show_lines(stack, tag, NULL);
            show_user_stack(pid, tid);
        }
        if (tasks) closedir(tasks);
    }
    if (procs) closedir(procs);
    if (getpid() != 1) { /* a trial run on the host: its kernel log is not ours */
        say("DUMP end %s", label);
        return;
    }
    /* The kernel's view of every task, at a log level the console prints. */
    int fd = open("/proc/sys/kernel/printk", O_WRONLY);
    if (fd >= 0) {
        (void)!write(fd, "8", 1);
        close(fd);
    }
    fd = open("/proc/sysrq-trigger", O_WRONLY);
    if (fd >= 0) {
        (void)!write(fd, "t", 1);
        close(fd);
    }
    sleep(2); /* let the console drain the task dump before the markers go on */
    fd = open("/proc/sys/kernel/printk", O_WRONLY);
    if (fd >= 0) {
        (void)!write(fd, "4", 1);
        close(fd);
    }
    say("DUMP end %s", label);
}

/* Reaps every exited child that is not `keep` (orphans re-parented to PID 1). */
static void reap_others(pid_t keep, int *keep_status, int *keep_done) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == keep) {
            *keep_status = status;
            *keep_done = 1;
        }
    }
}

/* The first line of a small file, without its newline ("" where it cannot be read). */
static void read_line(const char *path, char *buf, size_t size) {
    buf[0] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
}

/* Each CPU's state at boot: 1 online, 0 offline, -1 no online file (never changes). */
#define MAX_CPUS 256
static int boot_online[MAX_CPUS];

static int cpu_state(int cpu) {
    char path[96], state[8];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/online", cpu);
    if (access(path, F_OK) != 0) return -1;
    read_line(path, state, sizeof state);
    return strcmp(state, "0") != 0;
}

static void record_cpus(void) {
    for (int cpu = 0; cpu < MAX_CPUS; cpu++) boot_online[cpu] = cpu_state(cpu);
}

/*
 * Puts every CPU back online or offline as it was at boot, saying so, after a test that
 * left it otherwise (tests/hotplug.rs offlines and onlines CPUs through sysfs and restores
 * them itself; this keeps the next tests' machine as booted if it died first).
 */
static void restore_cpus(const char *label) {
    for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
        int now = cpu_state(cpu);
        if (boot_online[cpu] < 0 || now < 0 || now == boot_online[cpu]) continue;
        char path[96];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/online", cpu);
        int fd = open(path, O_WRONLY);
        int ok = fd >= 0 && write(fd, boot_online[cpu] ? "1" : "0", 1) == 1;
        if (fd >= 0) close(fd);
        say("cpu%d left %s by %s: %s", cpu, now ? "online" : "offline", label,
            ok ? "restored" : strerror(errno));
    }
}

static int run(char *line, int *passed, int *failed) {
    char *fields[4];
    char *tab_save = line;
    for (int i = 0; i < 4; i++) {
        fields[i] = strsep(&tab_save, "\t");
        if (!fields[i]) return 0; /* blank or malformed line */
    }
    const char *label = fields[0];
    int timeout = atoi(fields[1]);
    char *envs[MAX_ARGS], *argv[MAX_ARGS + 1];
    int nenv = strcmp(fields[2], "-") == 0 ? 0 : split(fields[2], " ", envs, MAX_ARGS);
    int nargs = split(fields[3], " ", argv, MAX_ARGS);
    argv[nargs] = NULL;
    if (nargs == 0) return 0;

    say("START %s", label);
    double start = now();
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        for (int i = 0; i < nenv; i++) putenv(envs[i]);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        say("FAIL %s fork: %s", label, strerror(errno));
        (*failed)++;
        return 1;
    }
    int status = 0, done = 0, timed_out = 0;
    while (!done) {
        reap_others(pid, &status, &done);
        if (done) break;
        if (now() - start > timeout) {
            say("TIMEOUT %s after %d s: dumping before the kill", label, timeout);
            dump_hang(pid, label);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            timed_out = done = 1;
            break;
        }
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    /* Kill what the test left running in its process group. */
    kill(-pid, SIGKILL);
    double secs = now() - start;
    if (getpid() == 1) restore_cpus(label);
    if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        say("PASS %s (%.1f s)", label, secs);
        (*passed)++;
    } else {
        if (timed_out)
            say("FAIL %s timeout after %d s", label, timeout);
        else if (WIFSIGNALED(status))
            say("FAIL %s signal=%d (%.1f s)", label, WTERMSIG(status), secs);
        else
            say("FAIL %s exit=%d (%.1f s)", label, WEXITSTATUS(status), secs);
        (*failed)++;
    }
    return 1;
}

int main(int argc, char **argv) {
    /* Not PID 1: a trial run on the host (`init PLAN`), which mounts and powers off nothing. */
    int is_init = getpid() == 1;
    const char *plan_path = !is_init && argc > 1 ? argv[1] : "/plan";
    if (is_init) {
        mount_fs("proc", "/proc");
        mount_fs("sysfs", "/sys");
        mount_fs("devtmpfs", "/dev");
        mount_fs("tmpfs", "/tmp");
    }
    if (fcntl(1, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
    }
    if (is_init) {
        setenv("PATH", "/t:/bin", 1);
        setenv("HOME", "/", 1);
        setenv("TMPDIR", "/tmp", 1);
    }
    setenv("RUST_BACKTRACE", "1", 1);

    struct utsname u;
    uname(&u);
    say("kernel %s %s, %ld CPUs online, AT_RSEQ_FEATURE_SIZE=%lu AT_RSEQ_ALIGN=%lu", u.release,
        u.machine, sysconf(_SC_NPROCESSORS_ONLN), getauxval(27), getauxval(28));
    /* The CPUs as the kernel lists them (x86_64 boots with more possible than online). */
    char possible[64], present[64], online[64];
    read_line("/sys/devices/system/cpu/possible", possible, sizeof possible);
    read_line("/sys/devices/system/cpu/present", present, sizeof present);
    read_line("/sys/devices/system/cpu/online", online, sizeof online);
    cpu_set_t allowed;
    int nallowed = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : -1;
    say("cpus possible %s present %s online %s, affinity of /init: %d CPUs", possible, present,
        online, nallowed);
    if (is_init) record_cpus();
    /* The boot options (rseq_debug=1 on 7.x kernels), for the results table. */
    char cmdline[512] = "";
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
        cmdline[n > 0 ? n : 0] = 0;
        cmdline[strcspn(cmdline, "\n")] = 0;
        close(fd);
        say("cmdline %s", cmdline);
    }

    int passed = 0, failed = 0;
    FILE *plan = fopen(plan_path, "r");
    if (!plan) {
        say("FAIL plan: %s", strerror(errno));
        failed++;
    } else {
        char line[4096];
        while (fgets(line, sizeof line, plan)) {
            line[strcspn(line, "\n")] = 0;
            if (line[0] && line[0] != '#') run(line, &passed, &failed);
        }
        fclose(plan);
    }
    say("SUMMARY passed=%d failed=%d", passed, failed);
    say("END");
    if (!is_init) return failed != 0;
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
