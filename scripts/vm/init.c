/*
 * /init of the aarch64 test VM (scripts/aarch64-vm.sh): a static PID 1 that mounts /proc,
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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

int main(void) {
    mount_fs("proc", "/proc");
    mount_fs("sysfs", "/sys");
    mount_fs("devtmpfs", "/dev");
    mount_fs("tmpfs", "/tmp");
    if (fcntl(1, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
    }
    setenv("PATH", "/t:/bin", 1);
    setenv("HOME", "/", 1);
    setenv("TMPDIR", "/tmp", 1);
    setenv("RUST_BACKTRACE", "1", 1);

    struct utsname u;
    uname(&u);
    say("kernel %s %s, %ld CPUs online, AT_RSEQ_FEATURE_SIZE=%lu AT_RSEQ_ALIGN=%lu", u.release,
        u.machine, sysconf(_SC_NPROCESSORS_ONLN), getauxval(27), getauxval(28));

    int passed = 0, failed = 0;
    FILE *plan = fopen("/plan", "r");
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
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
