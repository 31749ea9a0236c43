// Probes of namespaces, credentials and other processes, and exec (contract: probe.c).
#include "probe.h"

// --- namespaces and credentials (in a forked child) ---------------------------------------

static int do_unshare(const void *flag) {
    return unshare(*(const int *)flag) == 0 ? 0 : errno;
}

int probe_unshare(const char *which) {
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

int do_setns(const void *path) {
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

int probe_setuid(const char *text) {
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
int probe_ptrace(const char *text) {
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

int probe_pidfd_getfd(const char *pid_text, const char *fd_text) {
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

int probe_kill(const char *pid_text, const char *signal_text) {
    long pid, sig;
    if (parse_long(pid_text, INT_MIN, INT_MAX, &pid) || parse_long(signal_text, 0, 64, &sig)) {
        return usage("kill PID SIGNUM");
    }
    if (kill((pid_t)pid, (int)sig) != 0) return refused(errno);
    return ok();
}

// --- exec ---------------------------------------------------------------------------------

// Runs PATH ARGS... and waits: ok when it exits 0, EXIT<n> or SIGNAL<n> otherwise, the errno
// when execv itself fails (carried back on a close-on-exec pipe).
int probe_exec(const char *path, char **args) {
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
