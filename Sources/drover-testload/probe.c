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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE 0x4206
#endif
#ifndef PTRACE_INTERRUPT
#define PTRACE_INTERRUPT 0x4207
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

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

static const char *probe_errno_name(int e) {
    static char unknown[16];
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++) {
        if (errno_names[i].value == e) return errno_names[i].name;
    }
    snprintf(unknown, sizeof unknown, "E%d", e);
    return unknown;
}

// --- output -------------------------------------------------------------------------------

static const char *probe_name = "?";

static int report_text(const char *result, int code) {
    printf("probe=%s result=%s\n", probe_name, result);
    fflush(stdout);
    return code;
}

static int ok(void) { return report_text("ok", 0); }
static int refused(int e) { return report_text(probe_errno_name(e), 1); }
// 0 → ok, else the errno (what the forked-child probes carry in their exit status).
static int report_errno(int e) { return e == 0 ? ok() : refused(e); }

static int usage(const char *text) {
    fprintf(stderr, "probe: usage: drover-testload probe %s\n", text);
    return 2;
}

static void detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void detail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("detail=", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

// Parses a whole decimal number in [min, max]; 0 on success.
static int parse_long(const char *text, long min, long max, long *out) {
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
static int in_child(int (*action)(const void *), const void *arg, int *result) {
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

static int report_child(int (*action)(const void *), const void *arg) {
    int result = 0;
    int r = in_child(action, arg, &result);
    if (r < 0) {
        char text[32];
        snprintf(text, sizeof text, "SIGNAL%d", -1 - r);
        return report_text(text, 1);
    }
    return report_errno(result);
}

// --- file system --------------------------------------------------------------------------

static int probe_open_write(const char *path) {
    int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return refused(errno);
    close(fd); // never written: see the contract above
    return ok();
}

// O_NONBLOCK so that a FIFO or a terminal cannot hang the probe (EAGAIN instead); regular and
// proc files ignore it.
static int probe_read(const char *path) {
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return refused(errno);
    char buf[64];
    ssize_t n;
    do n = read(fd, buf, sizeof buf); while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0) return refused(e);
    if (n == 0) return report_text("EMPTY", 1); // e.g. masked: /dev/null bound over it
    return ok();
}

static int probe_create(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0) return refused(errno);
    close(fd);
    if (unlink(path) != 0) detail("cleanup=unlink:%s", probe_errno_name(errno));
    return ok();
}

static int probe_mkdir(const char *path) {
    if (mkdir(path, 0700) != 0) return refused(errno);
    if (rmdir(path) != 0) detail("cleanup=rmdir:%s", probe_errno_name(errno));
    return ok();
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int probe_list(const char *path) {
    DIR *d = opendir(path);
    if (!d) return refused(errno);
    size_t count = 0, capacity = 16;
    char **names = malloc(capacity * sizeof *names);
    struct dirent *e;
    errno = 0;
    while (names && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (count == capacity) {
            capacity *= 2;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    if (!names) return refused(ENOMEM);
    qsort(names, count, sizeof *names, compare_strings);
    fputs("detail=", stdout);
    for (size_t i = 0; i < count; i++) {
        printf("%s%s", i ? "," : "", names[i] ? names[i] : "?");
        free(names[i]);
    }
    putchar('\n');
    free(names);
    return ok();
}

static int probe_chown(const char *path, const char *uid_text, const char *gid_text) {
    long uid, gid;
    if (parse_long(uid_text, -1, UINT_MAX, &uid) || parse_long(gid_text, -1, UINT_MAX, &gid)) {
        return usage("chown PATH UID GID");
    }
    if (chown(path, (uid_t)uid, (gid_t)gid) != 0) return refused(errno);
    return ok();
}

static int probe_mount_tmpfs(const char *dir) {
    if (mount("tmpfs", dir, "tmpfs", 0, NULL) != 0) return refused(errno);
    if (umount2(dir, MNT_DETACH) != 0) detail("cleanup=umount:%s", probe_errno_name(errno));
    return ok();
}

static int probe_mknod(const char *path) {
    if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) != 0) return refused(errno);
    if (unlink(path) != 0) detail("cleanup=unlink:%s", probe_errno_name(errno));
    return ok();
}

// --- namespaces and credentials (in a forked child) ---------------------------------------

static int do_unshare(const void *flag) {
    return unshare(*(const int *)flag) == 0 ? 0 : errno;
}

static int probe_unshare(const char *which) {
    static const struct { const char *name; int flag; } flags[] = {
        {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"net", CLONE_NEWNET},
        {"pid", CLONE_NEWPID}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
        {"cgroup", CLONE_NEWCGROUP},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (!strcmp(which, flags[i].name)) return report_child(do_unshare, &flags[i].flag);
    }
    return usage("unshare user|mnt|net|pid|ipc|uts|cgroup");
}

static int do_setns(const void *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    int r = setns(fd, 0) == 0 ? 0 : errno;
    close(fd);
    return r;
}

static int do_setuid(const void *uid) {
    uid_t u = *(const uid_t *)uid;
    return setresuid(u, u, u) == 0 ? 0 : errno;
}

static int probe_setuid(const char *text) {
    long value;
    if (parse_long(text, 0, UINT_MAX - 1, &value)) return usage("setuid UID");
    uid_t uid = (uid_t)value;
    return report_child(do_setuid, &uid);
}

// --- other processes ----------------------------------------------------------------------

// PTRACE_SEIZE rather than PTRACE_ATTACH: the same permission check, but it queues no SIGSTOP,
// so nothing can be left behind to stop the target after we let go. PTRACE_INTERRUPT brings
// the tracee to a ptrace-stop so that PTRACE_DETACH is possible; were this process to die
// before detaching, the kernel detaches a seized tracee just as cleanly.
static int probe_ptrace(const char *text) {
    long value;
    if (parse_long(text, 1, INT_MAX, &value)) return usage("ptrace PID");
    pid_t pid = (pid_t)value;
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) return refused(errno);
    if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0) {
        detail("cleanup=interrupt:%s", probe_errno_name(errno));
        return ok();
    }
    // Bounded wait: a tracee asleep in the kernel (D state) stops only when it gets back.
    for (int waited_ms = 0; waited_ms < 5000; waited_ms += 10) {
        int status;
        pid_t r = waitpid(pid, &status, __WALL | WNOHANG);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { detail("cleanup=wait:%s", probe_errno_name(errno)); return ok(); }
        if (r == 0) { usleep(10000); continue; }
        if (!WIFSTOPPED(status)) return ok(); // it exited meanwhile
        // A plain signal-delivery stop (not our interrupt, not a group-stop) means a signal
        // arrived for the target meanwhile: hand it back on detach instead of swallowing it.
        int event = status >> 16;
        long resend = event == 0 ? WSTOPSIG(status) : 0;
        if (ptrace(PTRACE_DETACH, pid, 0, resend) != 0) {
            detail("cleanup=detach:%s", probe_errno_name(errno));
        }
        return ok();
    }
    detail("cleanup=not-stopped-in-5s"); // exiting detaches it
    return ok();
}

static int probe_pidfd_getfd(const char *pid_text, const char *fd_text) {
    long pid, target;
    if (parse_long(pid_text, 1, INT_MAX, &pid) || parse_long(fd_text, 0, INT_MAX, &target)) {
        return usage("pidfd-getfd PID FD");
    }
    int pidfd = (int)syscall(__NR_pidfd_open, (pid_t)pid, 0);
    if (pidfd < 0) return refused(errno);
    int fd = (int)syscall(__NR_pidfd_getfd, pidfd, (int)target, 0);
    int e = errno;
    close(pidfd);
    if (fd < 0) return refused(e);
    close(fd);
    return ok();
}

static int probe_kill(const char *pid_text, const char *signal_text) {
    long pid, sig;
    if (parse_long(pid_text, INT_MIN, INT_MAX, &pid) || parse_long(signal_text, 0, 64, &sig)) {
        return usage("kill PID SIGNUM");
    }
    if (kill((pid_t)pid, (int)sig) != 0) return refused(errno);
    return ok();
}

// --- network ------------------------------------------------------------------------------

static int probe_bind(const char *port_text, int family) {
    long port;
    if (parse_long(port_text, 0, 65535, &port)) return usage(family == AF_INET ? "bind PORT" : "bind6 PORT");
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return refused(errno);
    int off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof off);
    struct sockaddr_storage address = {0};
    socklen_t length;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&address;
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        length = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&address;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        in6->sin6_addr = in6addr_loopback;
        length = sizeof *in6;
    }
    int r = bind(fd, (struct sockaddr *)&address, length);
    if (r == 0) r = listen(fd, 1);
    int e = errno;
    close(fd);
    return r == 0 ? ok() : refused(e);
}

static int connect_unix(const char *name, int abstract) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    // A path needs room for its NUL, an abstract name for its leading one.
    if (n > sizeof address.sun_path - 1) {
        return usage(abstract ? "connect-abstract NAME (at most 107 bytes)" : "connect-unix PATH (at most 107 bytes)");
    }
    memcpy(address.sun_path + (abstract ? 1 : 0), name, n);
    socklen_t length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (abstract ? 1 + n : n + 1));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return refused(errno);
    int r;
    do r = connect(fd, (struct sockaddr *)&address, length); while (r != 0 && errno == EINTR);
    int e = errno;
    close(fd);
    return r == 0 ? ok() : refused(e);
}

static int probe_connect_tcp(const char *host, const char *port_text) {
    long port;
    if (parse_long(port_text, 1, 65535, &port)) return usage("connect-tcp HOST PORT");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *found;
        int g = getaddrinfo(host, NULL, &hints, &found);
        if (g != 0) {
            detail("getaddrinfo=%s", gai_strerror(g));
            return report_text("EHOSTNAME", 1);
        }
        address.sin_addr = ((struct sockaddr_in *)found->ai_addr)->sin_addr;
        freeaddrinfo(found);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return refused(errno);
    int e = 0;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        e = errno;
        if (e == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int r;
            do r = poll(&p, 1, 2000); while (r < 0 && errno == EINTR);
            if (r < 0) e = errno;
            else if (r == 0) e = ETIMEDOUT;
            else {
                socklen_t length = sizeof e;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &length) != 0) e = errno;
            }
        }
    }
    close(fd);
    return report_errno(e);
}

// UDP connect sends nothing: it only looks the destination up in the routing table.
static int probe_route_out(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return refused(errno);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "192.0.2.1", &address.sin_addr); // TEST-NET-1
    int r = connect(fd, (struct sockaddr *)&address, sizeof address);
    int e = errno;
    close(fd);
    return r == 0 ? ok() : refused(e);
}

// --- system-wide settings -----------------------------------------------------------------

// Sets NAME, then puts the previous name back.
static int probe_sethostname(const char *name) {
    char previous[HOST_NAME_MAX + 1] = "";
    if (gethostname(previous, sizeof previous) != 0) return refused(errno);
    previous[HOST_NAME_MAX] = 0;
    if (sethostname(name, strlen(name)) != 0) return refused(errno);
    if (sethostname(previous, strlen(previous)) != 0) detail("cleanup=sethostname:%s", probe_errno_name(errno));
    return ok();
}

// Sets the clock to what it reads, plus the time spent between reading and setting (taken
// from the monotonic clock), so the wall clock steps by well under a microsecond.
static int probe_settime(void) {
    struct timespec real, mono_before, mono_after;
    if (clock_gettime(CLOCK_REALTIME, &real) != 0 || clock_gettime(CLOCK_MONOTONIC, &mono_before) != 0) {
        return refused(errno);
    }
    clock_gettime(CLOCK_MONOTONIC, &mono_after);
    long long ns = (long long)real.tv_nsec + (mono_after.tv_sec - mono_before.tv_sec) * 1000000000LL +
                   (mono_after.tv_nsec - mono_before.tv_nsec);
    real.tv_sec += ns / 1000000000LL;
    real.tv_nsec = ns % 1000000000LL;
    if (clock_settime(CLOCK_REALTIME, &real) != 0) return refused(errno);
    return ok();
}

// io_uring_setup(1, params): 120 bytes of params, zeroed (struct io_uring_params).
static int probe_io_uring(void) {
    unsigned long long params[15];
    memset(params, 0, sizeof params);
    _Static_assert(sizeof params == 120, "struct io_uring_params is 120 bytes");
    int fd = (int)syscall(__NR_io_uring_setup, 1, params);
    if (fd < 0) return refused(errno);
    close(fd);
    return ok();
}

// --- exec ---------------------------------------------------------------------------------

// Runs PATH ARGS... and waits: ok when it exits 0, EXIT<n> or SIGNAL<n> otherwise, the errno
// when execv itself fails (carried back on a close-on-exec pipe).
static int probe_exec(const char *path, char **args) {
    int channel[2];
    if (pipe2(channel, O_CLOEXEC) != 0) return refused(errno);
    int count = 0;
    while (args[count]) count++;
    char **child_argv = calloc((size_t)count + 2, sizeof *child_argv);
    if (!child_argv) return refused(ENOMEM);
    child_argv[0] = (char *)path;
    for (int i = 0; i < count; i++) child_argv[i + 1] = args[i];
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child < 0) return refused(errno);
    if (child == 0) {
        close(channel[0]);
        execv(path, child_argv);
        int e = errno;
        ssize_t ignored = write(channel[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    close(channel[1]);
    free(child_argv);
    int exec_errno = 0;
    ssize_t n;
    do n = read(channel[0], &exec_errno, sizeof exec_errno); while (n < 0 && errno == EINTR);
    close(channel[0]);
    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return refused(errno);
    }
    if (n == sizeof exec_errno) return refused(exec_errno);
    char text[32];
    if (WIFSIGNALED(status)) {
        snprintf(text, sizeof text, "SIGNAL%d", WTERMSIG(status));
        return report_text(text, 1);
    }
    if (WEXITSTATUS(status) == 0) return ok();
    snprintf(text, sizeof text, "EXIT%d", WEXITSTATUS(status));
    return report_text(text, 1);
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
