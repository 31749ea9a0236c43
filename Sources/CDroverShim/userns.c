// drover_userns_create: a user namespace with the maps droverd wrote, held by an fd.
#include "shim_private.h"

// The user namespace helper: sleeps until the parent, done with its maps, kills it. (Not
// EOF on a pipe: a helper cloned by another thread at the same time would hold a copy of the
// write end, and two such helpers would wait for each other for ever.)
// It must not outlive its parent: orphaned by a droverd SIGKILLed meanwhile, it held copies
// of every descriptor droverd had (its instance lock, its API socket, its store) for ever,
// and no later droverd could start. So it drops them first, and dies with its parent. These
// calls cannot fail here, which matters: sharing the parent's memory, it shares its errno.
static int userns_helper(void *arg) {
    pid_t parent = *(const pid_t *)arg;
    syscall(__NR_close_range, 0, ~0U, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(0); // the parent died before PR_SET_PDEATHSIG took hold
    for (;;) pause();
}

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t length = strlen(text);
    ssize_t written = write(fd, text, length);
    int saved = errno;
    close(fd);
    if (written < 0) return -saved;
    return (size_t)written == length ? 0 : -EIO;
}

#define USERNS_HELPER_STACK (64 * 1024)

int drover_userns_create(const char *uid_map, const char *gid_map) {
    int helper_pidfd = -1;
    struct drover_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&helper_pidfd;
    args.exit_signal = SIGCHLD;
    pid_t parent = getpid();
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    long pid;
#ifdef DROVER_HAVE_TRAMPOLINE
    void *stack = mmap(NULL, USERNS_HELPER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int saved = errno;
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        return -saved;
    }
    // Shares our memory (no page-table copy) and only sleeps meanwhile.
    args.flags |= CLONE_VM;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = USERNS_HELPER_STACK;
    pid = drover_clone3_trampoline(&args, sizeof args, userns_helper, &parent);
#else
    pid = syscall(__NR_clone3, &args, sizeof args);
    if (pid == 0) _exit(userns_helper(&parent));
    if (pid < 0) pid = -errno;
#endif
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
#ifdef DROVER_HAVE_TRAMPOLINE
        munmap(stack, USERNS_HELPER_STACK);
#endif
        return (int)pid;
    }
    char path[64];
    int result = 0;
    snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
    result = write_file(path, uid_map);
    if (result == 0) {
        snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
        result = write_file(path, gid_map);
    }
    int ns_fd = -1;
    if (result == 0) {
        snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
        ns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0) result = -errno;
    }
    syscall(__NR_pidfd_send_signal, helper_pidfd, SIGKILL, NULL, 0);
    siginfo_t info;
    while (syscall(SYS_waitid, P_PIDFD, helper_pidfd, &info, WEXITED, NULL) != 0 && errno == EINTR) {}
    close(helper_pidfd);
#ifdef DROVER_HAVE_TRAMPOLINE
    munmap(stack, USERNS_HELPER_STACK); // only once the helper is gone: it ran on it
#endif
    return result == 0 ? ns_fd : result;
}
