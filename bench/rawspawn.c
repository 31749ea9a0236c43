#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * drover-rawspawn — the "raw kernel reference" for drover's spawn benchmark.
 *
 * Measures the cheapest possible "container-ish" spawn on this kernel:
 * clone3(2) (raw syscall) with fresh PID, mount, UTS and IPC namespaces,
 * the child execs /bin/true directly, the parent reaps it via its pidfd.
 * Nothing else: no rootfs, no pivot_root, no mounts, no cgroup writes.
 *
 *   drover-rawspawn [N] [--warmup K] [--cgroup DIR] [--exec PATH] [--no-ns]
 *
 *   N             measured iterations (default 200)
 *   --warmup K    unmeasured warm-up iterations first (default 5)
 *   --cgroup DIR  place each child into the existing cgroup2 directory DIR
 *                 atomically at clone time (CLONE_INTO_CGROUP).  DIR must be
 *                 on a cgroup2 filesystem (checked with statfs); the caller
 *                 creates and removes it.  Nothing is written to it.
 *   --exec PATH   program to exec instead of /bin/true (argv = {PATH})
 *   --no-ns       no namespace flags (plain clone3+exec baseline); the
 *                 label then starts with "raw-fork-exec" instead
 *
 * Output (stdout, one line, machine readable):
 *   raw-clone-exec median_us=<f> p90_us=<f> cpu_median_us=<f> n=<N>
 * or, with --cgroup:
 *   raw-clone-exec-cgroup median_us=<f> p90_us=<f> cpu_median_us=<f> n=<N>
 * or, with --no-ns: raw-fork-exec[-cgroup] ...
 *
 * median/p90 are per-iteration wall times (CLOCK_MONOTONIC, from just before
 * clone3 until the child has been reaped); cpu_median_us is the median
 * per-iteration delta of getrusage(RUSAGE_CHILDREN) user+sys, i.e. CPU
 * charged to the child only (not the parent's clone/wait work).
 * Errors go to stderr, exit status 1.  Must run as root (namespace creation).
 *
 * Builds standalone: cc -O2 -o drover-rawspawn main.c
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435 /* same number on every architecture */
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Own copy of the kernel's struct clone_args (CLONE_ARGS_SIZE_VER2 = 88
 * bytes), so we need neither <linux/sched.h> nor a recent libc. */
struct rawspawn_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: drover-rawspawn [N] [--warmup K] [--cgroup DIR] [--exec PATH] [--no-ns]\n"
            "  N            measured iterations (default 200)\n"
            "  --warmup K   unmeasured warm-up iterations (default 5)\n"
            "  --cgroup DIR clone each child into existing cgroup2 dir DIR\n"
            "               (CLONE_INTO_CGROUP); caller creates/removes DIR\n"
            "  --exec PATH  exec PATH instead of /bin/true\n"
            "  --no-ns      no namespaces (plain clone3+exec baseline)\n"
            "prints: raw-clone-exec[-cgroup] median_us=.. p90_us=.. "
            "cpu_median_us=.. n=N\n");
}

static int parse_count(const char *s, long min, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > 100000000L)
        return -1;
    *out = v;
    return 0;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double children_cpu_us(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place. Median: mean of the two middle values for even n. */
static double median(double *v, long n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    if (n % 2)
        return v[n / 2];
    return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Nearest-rank percentile on an already sorted array. */
static double percentile_sorted(const double *v, long n, double p) {
    long rank = (long)(p / 100.0 * (double)n + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/*
 * One spawn: clone3 + exec + reap.  Returns 0 on success (child exited 0),
 * -1 on error (message already printed).
 */
static int spawn_once(uint64_t flags, int cgroup_fd, const char *prog,
                      double *wall_us, double *cpu_us) {
    int pidfd = -1;
    struct rawspawn_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0)
        args.cgroup = (uint64_t)cgroup_fd;

    double cpu0 = children_cpu_us();
    double t0 = now_us();
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) {
        int e = errno;
        fprintf(stderr, "drover-rawspawn: clone3: %s%s\n", strerror(e),
                e == ENOSYS ? " (kernel < 5.3?)"
                : e == EPERM ? " (need root / CAP_SYS_ADMIN)"
                             : "");
        return -1;
    }
    if (pid == 0) {
        /* Child: fork-like copy of the parent; only async-signal-safe calls. */
        char *const argv[] = {(char *)prog, NULL};
        char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        execve(prog, argv, envp);
        _exit(127);
    }

    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do {
        r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EINVAL) {
        /* Very old kernel without P_PIDFD (< 5.4): fall back to waitpid. */
        int status = 0;
        pid_t w;
        do {
            w = waitpid((pid_t)pid, &status, 0);
        } while (w < 0 && errno == EINTR);
        if (w < 0) {
            perror("drover-rawspawn: waitpid");
            close(pidfd);
            return -1;
        }
        info.si_code = WIFEXITED(status) ? CLD_EXITED : CLD_KILLED;
        info.si_status = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
        r = 0;
    }
    double t1 = now_us();
    double cpu1 = children_cpu_us();
    close(pidfd);
    if (r < 0) {
        perror("drover-rawspawn: waitid(P_PIDFD)");
        return -1;
    }
    if (info.si_code != CLD_EXITED || info.si_status != 0) {
        fprintf(stderr, "drover-rawspawn: child %s %d (exec %s failed?)\n",
                info.si_code == CLD_EXITED ? "exited with status" : "killed by signal",
                info.si_status, prog);
        return -1;
    }
    *wall_us = t1 - t0;
    *cpu_us = cpu1 - cpu0;
    return 0;
}

int main(int argc, char **argv) {
    long n = 200, warmup = 5;
    const char *cgroup_dir = NULL;
    const char *prog = "/bin/true";
    int no_ns = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--cgroup") && i + 1 < argc) {
            cgroup_dir = argv[++i];
        } else if (!strcmp(a, "--no-ns")) {
            no_ns = 1;
        } else if (!strcmp(a, "--exec") && i + 1 < argc) {
            prog = argv[++i];
        } else if (!strcmp(a, "--warmup") && i + 1 < argc) {
            if (parse_count(argv[++i], 0, &warmup) != 0) {
                fprintf(stderr, "drover-rawspawn: bad --warmup value '%s'\n", argv[i]);
                return 1;
            }
        } else if (a[0] != '-' && parse_count(a, 1, &n) == 0) {
            /* N */
        } else {
            fprintf(stderr, "drover-rawspawn: bad argument '%s'\n", a);
            usage(stderr);
            return 1;
        }
    }

    uint64_t flags = CLONE_PIDFD;
    if (!no_ns)
        flags |= CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
    int cgroup_fd = -1;
    if (cgroup_dir) {
        cgroup_fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroup_fd < 0) {
            fprintf(stderr, "drover-rawspawn: open %s: %s\n", cgroup_dir, strerror(errno));
            return 1;
        }
        struct statfs sfs;
        if (fstatfs(cgroup_fd, &sfs) != 0 || (unsigned long)sfs.f_type != CGROUP2_SUPER_MAGIC) {
            fprintf(stderr, "drover-rawspawn: %s is not a cgroup2 directory (refusing)\n",
                    cgroup_dir);
            close(cgroup_fd);
            return 1;
        }
        flags |= CLONE_INTO_CGROUP;
    }

    double *wall = calloc((size_t)n, sizeof *wall);
    double *cpu = calloc((size_t)n, sizeof *cpu);
    if (!wall || !cpu) {
        fprintf(stderr, "drover-rawspawn: out of memory\n");
        return 1;
    }

    double w, c;
    for (long i = 0; i < warmup; i++)
        if (spawn_once(flags, cgroup_fd, prog, &w, &c) != 0)
            return 1;
    for (long i = 0; i < n; i++)
        if (spawn_once(flags, cgroup_fd, prog, &wall[i], &cpu[i]) != 0)
            return 1;

    double med = median(wall, n);
    double p90 = percentile_sorted(wall, n, 90.0);
    double cmed = median(cpu, n);
    printf("%s%s median_us=%.1f p90_us=%.1f cpu_median_us=%.1f n=%ld\n",
           no_ns ? "raw-fork-exec" : "raw-clone-exec", cgroup_fd >= 0 ? "-cgroup" : "",
           med, p90, cmed, n);
    if (cgroup_fd >= 0)
        close(cgroup_fd);
    free(wall);
    free(cpu);
    return 0;
}
