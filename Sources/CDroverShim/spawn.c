// The sandbox child: clone3, then a checklist of async-signal-safe steps, then execve of
// drover-init. Read top to bottom, like nsjail's containProc().
//
// Rules for everything reachable from sandbox_child():
//   - raw syscalls (or glibc wrappers that are plain syscalls) only; no malloc, stdio, locks;
//   - credentials change through syscall(2), never glibc's setuid() family: those broadcast
//     to the parent's other threads (nptl setxid), which do not exist in this child;
//   - every failure reports {step, errno, detail} and _exits.
#include "shim_private.h"

// The child's fd layout right before exec: 0-2 stdio, the report pipe at DROVER_REPORT_FD and
// the status file at DROVER_STATUS_FD (both inherited by drover-init), drover-init's O_PATH fd
// just above them (close-on-exec), then the user namespace's fd (close-on-exec).
#define INIT_FD (DROVER_STATUS_FD + 1)
#define USERNS_FD (INIT_FD + 1)
// Where fds are parked while stdio is rearranged, above anything the layout uses.
#define PARK_FD_MIN 10

__attribute__((noreturn)) static void fail(int report_fd, int step, int detail) {
    struct drover_report report = {.step = step, .error = errno, .detail = detail};
    ssize_t ignored = write(report_fd, &report, sizeof report);
    (void)ignored;
    _exit(125);
}

static void reset_signal_handlers(void) {
    // Ignored signals stay ignored across execve (SIGPIPE is ignored in most Swift servers);
    // the workload must start with defaults. The mask stays fully blocked: drover-init must
    // not lose a signal before it starts waiting for them, and unblocks for the workload.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &dfl, NULL); // EINVAL for glibc's internal signals: fine
    }
}

__attribute__((noreturn)) static void sandbox_child(const struct drover_spawn_plan *p, int report_fd) {
    reset_signal_handlers();

    // A session of its own: signals for the spawner's process group or terminal (Ctrl-C in
    // the shell that started droverd, `timeout`, a service manager's group kill) must not
    // reach the sandbox; droverd's own exit must leave it running.
    if (setsid() < 0) fail(report_fd, DROVER_STEP_SETSID, -1);

    // Joining a running sandbox (the parent joined its PID namespace for us); first, while
    // the pidfd is still open.
    if (p->join_pidfd >= 0 && setns(p->join_pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP | CLONE_NEWNET) != 0)
        fail(report_fd, DROVER_STEP_SETNS, -1);
    // Its user namespace apart and last: once in it, this process has no privilege over the
    // namespaces above (they belong to the host's user namespace), as the replica has none.
    if (p->join_pidfd >= 0 && p->join_userns && setns(p->join_pidfd, CLONE_NEWUSER) != 0)
        fail(report_fd, DROVER_STEP_USERNS, -1);

    // Stdio, report pipe and init fd into their final numbers. Park everything above
    // PARK_FD_MIN first so that no dup2 overwrites a source still needed.
    int parked_stdio[3];
    for (int i = 0; i < 3; i++) {
        parked_stdio[i] = -1;
        if (p->stdio[i] >= 0) {
            parked_stdio[i] = fcntl(p->stdio[i], F_DUPFD_CLOEXEC, PARK_FD_MIN);
            if (parked_stdio[i] < 0) fail(report_fd, DROVER_STEP_STDIO, i);
        }
    }
    int parked_report = fcntl(report_fd, F_DUPFD_CLOEXEC, PARK_FD_MIN);
    if (parked_report < 0) fail(report_fd, DROVER_STEP_STDIO, DROVER_REPORT_FD);
    int parked_status = -1;
    if (p->status_fd >= 0) {
        parked_status = fcntl(p->status_fd, F_DUPFD_CLOEXEC, PARK_FD_MIN);
        if (parked_status < 0) fail(report_fd, DROVER_STEP_STDIO, DROVER_STATUS_FD);
    }
    int parked_init = fcntl(p->init_fd, F_DUPFD_CLOEXEC, PARK_FD_MIN);
    if (parked_init < 0) fail(report_fd, DROVER_STEP_STDIO, INIT_FD);
    int parked_userns = -1;
    if (p->userns_fd >= 0) {
        parked_userns = fcntl(p->userns_fd, F_DUPFD_CLOEXEC, PARK_FD_MIN);
        if (parked_userns < 0) fail(report_fd, DROVER_STEP_STDIO, USERNS_FD);
    }
    for (int i = 0; i < 3; i++) {
        if (parked_stdio[i] >= 0 && dup2(parked_stdio[i], i) < 0) fail(report_fd, DROVER_STEP_STDIO, i);
    }
    if (dup2(parked_report, DROVER_REPORT_FD) < 0) fail(report_fd, DROVER_STEP_STDIO, DROVER_REPORT_FD);
    report_fd = DROVER_REPORT_FD; // now without close-on-exec: drover-init inherits it
    if (parked_status >= 0 && dup2(parked_status, DROVER_STATUS_FD) < 0) fail(report_fd, DROVER_STEP_STDIO, DROVER_STATUS_FD);
    if (dup3(parked_init, INIT_FD, O_CLOEXEC) < 0) fail(report_fd, DROVER_STEP_STDIO, INIT_FD);
    if (parked_userns >= 0 && dup3(parked_userns, USERNS_FD, O_CLOEXEC) < 0) fail(report_fd, DROVER_STEP_STDIO, USERNS_FD);
    // Nothing else of the spawner's crosses: only 0-2 (and 3, 4 for drover-init) survive exec.
    if (syscall(__NR_close_range, USERNS_FD + (parked_userns >= 0 ? 1 : 0), ~0U, 0) != 0) fail(report_fd, DROVER_STEP_STDIO, -1);

    // Every mode in the plan is meant as written; the workload gets the usual 022 below.
    umask(0);
    // Filesystem view, as host root in a mount namespace the host's user namespace owns: the
    // replica, later in a user namespace of its own, can change none of it.
    struct mount_state mount_state = {.tree_fds = p->tree_fds, .masked_directory = NULL};
    for (size_t i = 0; i < p->mount_count; i++) {
        const struct drover_mount *m = &p->mounts[i];
        if (apply_mount(m, &mount_state) != 0 && !(m->optional && errno == ENOENT))
            fail(report_fd, DROVER_STEP_MOUNT, (int)i);
    }
    if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) != 0)
        fail(report_fd, DROVER_STEP_HOSTNAME, -1);
    if (p->loopback_up && loopback_up() != 0) fail(report_fd, DROVER_STEP_LOOPBACK, -1);
    if (p->workdir && chdir(p->workdir) != 0) fail(report_fd, DROVER_STEP_CHDIR, -1);
    umask(022); // as systemd gives services (UMask=0022), whatever the spawner's own

    // Root inside is an unprivileged uid outside: from here on every capability this process
    // holds is one of the user namespace's, which owns none of the host's objects.
    if (parked_userns >= 0) {
        if (setns(USERNS_FD, CLONE_NEWUSER) != 0) fail(report_fd, DROVER_STEP_USERNS, -1);
        close(USERNS_FD);
    }

    // Capabilities and identity. The bounding set can only shrink while we still hold
    // CAP_SETPCAP, so it goes first; KEEPCAPS carries the kept ones across setuid.
    for (int cap = 0; cap <= p->last_capability; cap++) {
        if (cap < 64 && (p->capabilities & (1ULL << cap))) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            fail(report_fd, DROVER_STEP_CAP_BOUNDING, cap);
    }
    if (p->change_user) {
        if (p->capabilities != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
            fail(report_fd, DROVER_STEP_KEEPCAPS, -1);
        if (syscall(SYS_setgroups, p->group_count, p->groups) != 0) fail(report_fd, DROVER_STEP_SETGROUPS, -1);
        if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) != 0) fail(report_fd, DROVER_STEP_SETGID, -1);
        if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) != 0) fail(report_fd, DROVER_STEP_SETUID, -1);
    }
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    for (int word = 0; word < 2; word++) {
        uint32_t bits = (uint32_t)(p->capabilities >> (32 * word));
        data[word].effective = bits;
        data[word].permitted = bits;
        data[word].inheritable = bits; // ambient capabilities must also be inheritable
    }
    if (syscall(SYS_capset, &header, data) != 0) fail(report_fd, DROVER_STEP_CAPSET, -1);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail(report_fd, DROVER_STEP_CAP_AMBIENT, -1);
    for (int cap = 0; cap <= p->last_capability && cap < 64; cap++) {
        if (!(p->capabilities & (1ULL << cap))) continue;
        // Ambient caps survive execve of a non-root, non-file-cap program.
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
            fail(report_fd, DROVER_STEP_CAP_AMBIENT, cap);
    }

    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail(report_fd, DROVER_STEP_NO_NEW_PRIVS, -1);
    if (p->landlock_scope && landlock_scope() != 0) fail(report_fd, DROVER_STEP_LANDLOCK, -1);
    if (p->seccomp && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p->seccomp) != 0)
        fail(report_fd, DROVER_STEP_SECCOMP, -1);
    // Last: a credential change clears the parent-death signal.
    if (p->parent_death_signal && prctl(PR_SET_PDEATHSIG, p->parent_death_signal, 0, 0, 0) != 0)
        fail(report_fd, DROVER_STEP_PDEATHSIG, -1);

    syscall(SYS_execveat, INIT_FD, "", p->argv, p->envp, AT_EMPTY_PATH);
    fail(report_fd, DROVER_STEP_EXEC_INIT, -1);
}

struct child_start {
    const struct drover_spawn_plan *plan;
    int report_fd;
};

static int child_entry(void *arg) {
    struct child_start *start = arg;
    sandbox_child(start->plan, start->report_fd);
}

// The child's stack while it shares the parent's memory (until it execs drover-init).
#define CHILD_STACK_SIZE (256 * 1024)

int drover_spawn(const struct drover_spawn_plan *plan, pid_t *pid, int *pidfd, int *report_fd) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -errno;

    // Block every signal across clone so that no handler of the parent runs in the child.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);

    int child_pidfd = -1;
    struct drover_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = plan->clone_flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&child_pidfd;
    args.exit_signal = SIGCHLD;
    if (plan->cgroup_fd >= 0) {
        // Born inside its leaf: never visible in the parent's cgroup, no migration race.
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)plan->cgroup_fd;
    }
    // A child joins a PID namespace only at birth: the parent's thread switches the namespace
    // for its children for the length of the clone, and switches back.
    int own_pid_ns = -1;
    if (plan->join_pidfd >= 0) {
        own_pid_ns = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
        if (own_pid_ns < 0 || setns(plan->join_pidfd, CLONE_NEWPID) != 0) {
            int saved = errno;
            if (own_pid_ns >= 0) close(own_pid_ns);
            pthread_sigmask(SIG_SETMASK, &previous, NULL);
            close(pipe_fds[0]);
            close(pipe_fds[1]);
            return -saved;
        }
    }
    struct child_start start = {.plan = plan, .report_fd = pipe_fds[1]};
    long result;
#ifdef DROVER_HAVE_TRAMPOLINE
    // Like posix_spawn: share the parent's memory instead of copying its page tables (a large
    // daemon's fork costs more than the rest of the spawn), and sleep until the child has
    // exec'd drover-init or failed, so nothing of ours changes under it.
    void *stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int saved = errno;
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return -saved;
    }
    args.flags |= CLONE_VM | CLONE_VFORK;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = CHILD_STACK_SIZE;
    result = drover_clone3_trampoline(&args, sizeof args, child_entry, &start);
    int saved_errno = result < 0 ? (int)-result : 0;
    munmap(stack, CHILD_STACK_SIZE);
#else
    result = syscall(__NR_clone3, &args, sizeof args);
    if (result == 0) child_entry(&start);
    int saved_errno = result < 0 ? errno : 0;
#endif
    if (own_pid_ns >= 0) {
        setns(own_pid_ns, CLONE_NEWPID);
        close(own_pid_ns);
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(pipe_fds[1]);
    if (result < 0) {
        close(pipe_fds[0]);
        return -saved_errno;
    }
    *pid = (pid_t)result;
    *pidfd = child_pidfd;
    *report_fd = pipe_fds[0];
    return 0;
}

const char *drover_step_name(int step) {
    switch (step) {
    case DROVER_STEP_NONE: return "none";
    case DROVER_STEP_STDIO: return "dup2";
    case DROVER_STEP_MOUNT: return "mount";
    case DROVER_STEP_HOSTNAME: return "sethostname";
    case DROVER_STEP_CHDIR: return "chdir";
    case DROVER_STEP_CAP_BOUNDING: return "prctl(PR_CAPBSET_DROP)";
    case DROVER_STEP_KEEPCAPS: return "prctl(PR_SET_KEEPCAPS)";
    case DROVER_STEP_SETGROUPS: return "setgroups";
    case DROVER_STEP_SETGID: return "setresgid";
    case DROVER_STEP_SETUID: return "setresuid";
    case DROVER_STEP_CAPSET: return "capset";
    case DROVER_STEP_CAP_AMBIENT: return "prctl(PR_CAP_AMBIENT)";
    case DROVER_STEP_NO_NEW_PRIVS: return "prctl(PR_SET_NO_NEW_PRIVS)";
    case DROVER_STEP_SECCOMP: return "seccomp";
    case DROVER_STEP_PDEATHSIG: return "prctl(PR_SET_PDEATHSIG)";
    case DROVER_STEP_EXEC_INIT: return "execve drover-init";
    case DROVER_STEP_EXEC_WORKLOAD: return "execve";
    case DROVER_STEP_INIT_FORK: return "fork";
    case DROVER_STEP_SIGNALS: return "sigprocmask";
    case DROVER_STEP_SETNS: return "setns";
    case DROVER_STEP_SETSID: return "setsid";
    case DROVER_STEP_USERNS: return "setns(CLONE_NEWUSER)";
    case DROVER_STEP_LOOPBACK: return "ioctl(SIOCSIFFLAGS) lo up";
    case DROVER_STEP_LANDLOCK: return "landlock_restrict_self";
    default: return "unknown step";
    }
}
