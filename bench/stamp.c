/* bench/stamp.c — the restart-latency workload of bench/daemon.sh.
 *
 *   stamp FILE [CODE]
 *
 * Appends "start <ns>\n" to FILE as soon as it runs, then "exit <ns>\n", then
 * exits with CODE (default 1). <ns> is CLOCK_REALTIME in nanoseconds, so the
 * stamps of successive runs (each a fresh process, possibly in a fresh PID
 * namespace) are comparable: restart latency k = start(k+1) - exit(k).
 *
 * Each line is one write(2) on an O_APPEND descriptor, so lines never
 * interleave. Built with `cc -O2 -static` when libc.a is there (no dynamic
 * loading between exec and the first stamp), else dynamically.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void stamp(int fd, const char *what, long long ns) {
    char line[64];
    int n = snprintf(line, sizeof line, "%s %lld\n", what, ns);
    if (write(fd, line, (size_t)n) != n) _exit(125);
}

int main(int argc, char **argv) {
    long long started = now_ns(); /* first thing: before open(2) */
    if (argc < 2) {
        static const char usage[] = "usage: stamp FILE [EXIT-CODE]\n";
        (void)!write(2, usage, sizeof usage - 1);
        return 2;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) {
        perror(argv[1]);
        return 125;
    }
    stamp(fd, "start", started);
    stamp(fd, "exit", now_ns());
    _exit(argc > 2 ? atoi(argv[2]) : 1);
}
