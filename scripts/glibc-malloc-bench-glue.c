/* Build glue for glibc's malloc benchmarks (scripts/glibc-malloc-bench.sh): ours, not
   glibc's. It is linked into bench-malloc-thread and bench-malloc-simple, whose sources
   are compiled unchanged from Debian's glibc-source package.

   - glue_alarm: bench-malloc-thread.c is compiled with -Dalarm=glue_alarm. Its one call,
     alarm (BENCHMARK_DURATION), arms glibc's fixed 10 s; with GLIBC_MALLOC_BENCH_SECONDS
     set (seconds, fractions allowed) the same SIGALRM comes after that time instead,
     from setitimer. Unset, it is alarm itself.
   - With GLIBC_MALLOC_BENCH_MAPS=/a/file, a constructor copies /proc/self/maps there
     before main: which libraries the benchmark process really has mapped (the preloaded
     malloc among them), read from inside it. open, read and write only: no malloc.  */

#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

unsigned int
glue_alarm (unsigned int seconds)
{
  const char *value = getenv ("GLIBC_MALLOC_BENCH_SECONDS");
  if (value == NULL || *value == '\0')
    return alarm (seconds);
  double d = strtod (value, NULL);
  if (d <= 0)
    return alarm (seconds);
  struct itimerval it = { 0 };
  it.it_value.tv_sec = (time_t) d;
  it.it_value.tv_usec = (suseconds_t) ((d - (double) it.it_value.tv_sec) * 1e6);
  if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
    it.it_value.tv_usec = 1;
  setitimer (ITIMER_REAL, &it, NULL);
  return 0;
}

__attribute__ ((constructor)) static void
glue_dump_maps (void)
{
  const char *path = getenv ("GLIBC_MALLOC_BENCH_MAPS");
  if (path == NULL || *path != '/')
    return;
  int in = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  int out = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in >= 0 && out >= 0)
    {
      char buf[4096];
      ssize_t n;
      while ((n = read (in, buf, sizeof buf)) > 0)
        if (write (out, buf, (size_t) n) != n)
          break;
    }
  if (in >= 0)
    close (in);
  if (out >= 0)
    close (out);
}
