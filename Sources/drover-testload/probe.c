// drover-testload probe: escape probes for the sandbox tests.
//
// Contract. `drover-testload probe NAME [ARGS...]` attempts ONE hostile action and prints
// exactly one result line, last:
//     probe=NAME result=ok            the action succeeded            (exit 0)
//     probe=NAME result=<ERRNO_NAME>  the kernel refused it, e.g. EPERM (exit 1)
// (plus, for a few probes, a `detail=...` line before it). Bad usage: `probe: usage ...` on
// stderr, exit 2. An errno this file has no name for prints as E<number>.
//
// Every probe must be harmless when run as real root on the host, because the tests run each
// one there as a control: a probe that cannot succeed proves nothing when it fails inside the
// sandbox, so the test first shows that the same probe, unconfined, does succeed. Hence each
// probe does the least that proves the point and undoes it: files that must not be written
// (/proc/sys/..., /proc/sysrq-trigger, cgroup files) are only opened for writing, never
// written; what is created is deleted (create, mkdir, mknod), mounted is unmounted, attached is
// detached, a changed hostname is put back, the clock is set to what it already reads.
// Probes that would change the probing process itself (unshare, setns, setuid) run in a forked
// child. Callers still choose the targets: chown changes the file it is given (pass your own),
// kill sends the signal it is given (pass 0), and open-write must not be pointed at a device
// whose mere opening acts (/dev/watchdog).
#include "probe.h"

// --- errno names --------------------------------------------------------------------------

// Where two names share a value (EWOULDBLOCK/EAGAIN, ENOTSUP/EOPNOTSUPP, EDEADLOCK/EDEADLK)
// the first listed wins.
#define N(e) {e, #e}
static const struct { int value; const char *name; } errno_names[] = {
    N(EPERM), N(ENOENT), N(ESRCH), N(EINTR), N(EIO), N(ENXIO), N(E2BIG), N(ENOEXEC), N(EBADF),
    N(ECHILD), N(EAGAIN), N(ENOMEM), N(EACCES), N(EFAULT), N(ENOTBLK), N(EBUSY), N(EEXIST),
    N(EXDEV), N(ENODEV), N(ENOTDIR), N(EISDIR), N(EINVAL), N(ENFILE), N(EMFILE), N(ENOTTY),
    N(ETXTBSY), N(EFBIG), N(ENOSPC), N(ESPIPE), N(EROFS), N(EMLINK), N(EPIPE), N(EDOM),
    N(ERANGE), N(EDEADLK), N(ENAMETOOLONG), N(ENOLCK), N(ENOSYS), N(ENOTEMPTY), N(ELOOP),
    N(ENOMSG), N(EIDRM), N(ECHRNG), N(EL2NSYNC), N(EL3HLT), N(EL3RST), N(ELNRNG), N(EUNATCH),
    N(ENOCSI), N(EL2HLT), N(EBADE), N(EBADR), N(EXFULL), N(ENOANO), N(EBADRQC), N(EBADSLT),
    N(EBFONT), N(ENOSTR), N(ENODATA), N(ETIME), N(ENOSR), N(ENONET), N(ENOPKG), N(EREMOTE),
    N(ENOLINK), N(EADV), N(ESRMNT), N(ECOMM), N(EPROTO), N(EMULTIHOP), N(EDOTDOT), N(EBADMSG),
    N(EOVERFLOW), N(ENOTUNIQ), N(EBADFD), N(EREMCHG), N(ELIBACC), N(ELIBBAD), N(ELIBSCN),
    N(ELIBMAX), N(ELIBEXEC), N(EILSEQ), N(ERESTART), N(ESTRPIPE), N(EUSERS), N(ENOTSOCK),
    N(EDESTADDRREQ), N(EMSGSIZE), N(EPROTOTYPE), N(ENOPROTOOPT), N(EPROTONOSUPPORT),
    N(ESOCKTNOSUPPORT), N(EOPNOTSUPP), N(EPFNOSUPPORT), N(EAFNOSUPPORT), N(EADDRINUSE),
    N(EADDRNOTAVAIL), N(ENETDOWN), N(ENETUNREACH), N(ENETRESET), N(ECONNABORTED),
    N(ECONNRESET), N(ENOBUFS), N(EISCONN), N(ENOTCONN), N(ESHUTDOWN), N(ETOOMANYREFS),
    N(ETIMEDOUT), N(ECONNREFUSED), N(EHOSTDOWN), N(EHOSTUNREACH), N(EALREADY), N(EINPROGRESS),
    N(ESTALE), N(EUCLEAN), N(ENOTNAM), N(ENAVAIL), N(EISNAM), N(EREMOTEIO), N(EDQUOT),
    N(ENOMEDIUM), N(EMEDIUMTYPE), N(ECANCELED), N(ENOKEY), N(EKEYEXPIRED), N(EKEYREVOKED),
    N(EKEYREJECTED), N(EOWNERDEAD), N(ENOTRECOVERABLE), N(ERFKILL), N(EHWPOISON),
    N(EWOULDBLOCK), N(EDEADLOCK), N(ENOTSUP),
};
#undef N

const char *probe_errno_name(int e) {
    static char unknown[16];
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++) {
        if (errno_names[i].value == e) return errno_names[i].name;
    }
    snprintf(unknown, sizeof unknown, "E%d", e);
    return unknown;
}

// --- output -------------------------------------------------------------------------------

const char *probe_name = "?";

int report_text(const char *result, int code) {
    printf("probe=%s result=%s\n", probe_name, result);
    fflush(stdout);
    return code;
}

int ok(void) { return report_text("ok", 0); }
int refused(int e) { return report_text(probe_errno_name(e), 1); }
// 0 → ok, else the errno (what the forked-child probes carry in their exit status).
int report_errno(int e) { return e == 0 ? ok() : refused(e); }

int usage(const char *text) {
    fprintf(stderr, "probe: usage: drover-testload probe %s\n", text);
    return 2;
}

void detail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("detail=", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

// Parses a whole decimal number in [min, max]; 0 on success.
int parse_long(const char *text, long min, long max, long *out) {
    if (!text || !*text) return -1;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || value < min || value > max) return -1;
    *out = value;
    return 0;
}

// Runs `action` in a forked child, whose exit status is 0 or an errno; returns that, or
// reports a signal death itself (returning -1).
int in_child(int (*action)(const void *), const void *arg, int *result) {
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child < 0) { *result = errno; return 0; }
    if (child == 0) _exit(action(arg) & 0xff);
    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) { *result = errno; return 0; }
    }
    if (WIFEXITED(status)) { *result = WEXITSTATUS(status); return 0; }
    return -1 - WTERMSIG(status);
}

int report_child(int (*action)(const void *), const void *arg) {
    int result = 0;
    int r = in_child(action, arg, &result);
    if (r < 0) {
        char text[32];
        snprintf(text, sizeof text, "SIGNAL%d", -1 - r);
        return report_text(text, 1);
    }
    return report_errno(result);
}

// --- plain commands -----------------------------------------------------------------------

static int cmd_euid(void) {
    uid_t euid = geteuid();
    printf("euid=%u\n", (unsigned)euid);
    fflush(stdout);
    return euid == 0 ? 0 : 1;
}

static int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmd_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        fprintf(stderr, "fds: /proc/self/fd: %s\n", strerror(errno));
        return 1;
    }
    int own = dirfd(d);
    int fds[4096];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long fd;
        if (parse_long(e->d_name, 0, INT_MAX, &fd) || fd == own) continue;
        if (count < sizeof fds / sizeof fds[0]) fds[count++] = (int)fd;
    }
    closedir(d);
    qsort(fds, count, sizeof fds[0], compare_ints);
    fputs("fds=", stdout);
    for (size_t i = 0; i < count; i++) printf("%s%d", i ? "," : "", fds[i]);
    putchar('\n');
    fflush(stdout);
    return 0;
}

// --- dispatch -----------------------------------------------------------------------------

static int probe(int argc, char **argv) {
    // argv[0] is the probe's name; argc counts it.
    if (argc < 1) return usage("NAME [ARGS...]");
    const char *name = argv[0];
    const char *a1 = argc > 1 ? argv[1] : NULL;
    const char *a2 = argc > 2 ? argv[2] : NULL;
    const char *a3 = argc > 3 ? argv[3] : NULL;
    probe_name = name;
#define NEEDS(n, text) do { if (argc - 1 != (n)) return usage(text); } while (0)
    if (!strcmp(name, "open-write")) { NEEDS(1, "open-write PATH"); return probe_open_write(a1); }
    if (!strcmp(name, "read")) { NEEDS(1, "read PATH"); return probe_read(a1); }
    if (!strcmp(name, "create")) { NEEDS(1, "create PATH"); return probe_create(a1); }
    if (!strcmp(name, "mkdir")) { NEEDS(1, "mkdir PATH"); return probe_mkdir(a1); }
    if (!strcmp(name, "list")) { NEEDS(1, "list PATH"); return probe_list(a1); }
    if (!strcmp(name, "chown")) { NEEDS(3, "chown PATH UID GID"); return probe_chown(a1, a2, a3); }
    if (!strcmp(name, "mount-tmpfs")) { NEEDS(1, "mount-tmpfs DIR"); return probe_mount_tmpfs(a1); }
    if (!strcmp(name, "unshare")) { NEEDS(1, "unshare user|mnt|net|pid|ipc|uts|cgroup"); return probe_unshare(a1); }
    if (!strcmp(name, "setns")) { NEEDS(1, "setns /proc/PID/ns/NAME"); return report_child(do_setns, a1); }
    if (!strcmp(name, "io-uring")) { NEEDS(0, "io-uring"); return probe_io_uring(); }
    if (!strcmp(name, "ptrace")) { NEEDS(1, "ptrace PID"); return probe_ptrace(a1); }
    if (!strcmp(name, "pidfd-getfd")) { NEEDS(2, "pidfd-getfd PID FD"); return probe_pidfd_getfd(a1, a2); }
    if (!strcmp(name, "kill")) { NEEDS(2, "kill PID SIGNUM"); return probe_kill(a1, a2); }
    if (!strcmp(name, "bind")) { NEEDS(1, "bind PORT"); return probe_bind(a1, AF_INET); }
    if (!strcmp(name, "bind6")) { NEEDS(1, "bind6 PORT"); return probe_bind(a1, AF_INET6); }
    if (!strcmp(name, "connect-unix")) { NEEDS(1, "connect-unix PATH"); return connect_unix(a1, 0); }
    if (!strcmp(name, "connect-abstract")) { NEEDS(1, "connect-abstract NAME"); return connect_unix(a1, 1); }
    if (!strcmp(name, "connect-tcp")) { NEEDS(2, "connect-tcp HOST PORT"); return probe_connect_tcp(a1, a2); }
    if (!strcmp(name, "mknod")) { NEEDS(1, "mknod PATH"); return probe_mknod(a1); }
    if (!strcmp(name, "sethostname")) { NEEDS(1, "sethostname NAME"); return probe_sethostname(a1); }
    if (!strcmp(name, "settime")) { NEEDS(0, "settime"); return probe_settime(); }
    if (!strcmp(name, "setuid")) { NEEDS(1, "setuid UID"); return probe_setuid(a1); }
    if (!strcmp(name, "exec")) { if (argc < 2) return usage("exec PATH [ARGS...]"); return probe_exec(a1, argv + 2); }
    if (!strcmp(name, "route-out")) { NEEDS(0, "route-out"); return probe_route_out(); }
#undef NEEDS
    fprintf(stderr, "probe: unknown probe %s\n", name);
    return usage("NAME [ARGS...]");
}

// Entry from main.c: argv[0] is the command (probe, euid or fds).
int testload_probe_command(int argc, char **argv);
int testload_probe_command(int argc, char **argv) {
    if (!strcmp(argv[0], "euid")) return cmd_euid();
    if (!strcmp(argv[0], "fds")) return cmd_fds();
    return probe(argc - 1, argv + 1);
}
