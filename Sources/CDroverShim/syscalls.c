// Thin wrappers for syscalls Glibc's Swift module does not offer (pidfd, close_range, memfd,
// signalfd, pipe2): 0 or a value on success, -errno on failure.
#include "shim_private.h"

int drover_pidfd_open(pid_t pid) {
    long fd = syscall(__NR_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

int drover_pidfd_send_signal(int pidfd, int sig) {
    return syscall(__NR_pidfd_send_signal, pidfd, sig, NULL, 0) == 0 ? 0 : -errno;
}

int drover_pidfd_wait(int pidfd, int nohang, int *code, int *status) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int options = WEXITED | (nohang ? WNOHANG : 0);
    for (;;) {
        if (syscall(SYS_waitid, P_PIDFD, pidfd, &info, options, NULL) == 0) break;
        if (errno != EINTR) return -errno;
    }
    if (info.si_pid == 0) return 1;
    *code = info.si_code;
    *status = info.si_status;
    return 0;
}

int drover_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return syscall(__NR_close_range, first, last, flags) == 0 ? 0 : -errno;
}

int drover_memfd_create(const char *name) {
    long fd = syscall(SYS_memfd_create, name, MFD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

int drover_signalfd_block(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    int result = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (result != 0) return -result;
    int fd = signalfd(-1, &set, SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int drover_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    for (;;) {
        ssize_t n = read(fd, &info, sizeof info);
        if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -errno : -EIO;
    }
}

int drover_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}
