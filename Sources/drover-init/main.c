// drover-init: PID 1 of every drover sandbox.
//
//   drover-init PATH ARG0 [ARGS...]
//
// Runs PATH as the workload, reaps every zombie in the PID namespace (orphans are reparented
// to PID 1), forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to the
// workload, and exits with the workload's status: its exit code, or 128+signal. When it exits
// the kernel kills whatever is left in the namespace.
//
// It starts with every signal blocked (the spawner keeps them blocked across execve): a PID 1
// ignores signals it has no handler for, but blocked signals stay pending, so nothing sent
// before the loop below is lost. The report pipe to the spawner is at DROVER_REPORT_FD; it is
// closed on the workload's successful execve, which is how the spawner learns it started.
#include "drover_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const int forwarded_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static void report(int step) {
    struct drover_report r = {.step = step, .error = errno, .detail = -1};
    ssize_t ignored = write(DROVER_REPORT_FD, &r, sizeof r);
    (void)ignored;
}

static int exit_code_for(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 125;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        static const char usage[] = "usage: drover-init PATH ARG0 [ARGS...]\n";
        ssize_t ignored = write(2, usage, sizeof usage - 1);
        (void)ignored;
        return 2;
    }
    sigset_t all, none, waited;
    sigfillset(&all);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &all, NULL); // already blocked when started by drover; not by hand
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        sigaddset(&waited, forwarded_signals[i]);

    // The workload inherits the pipe but must close it on its own execve.
    (void)fcntl(DROVER_REPORT_FD, F_SETFD, FD_CLOEXEC);

    pid_t workload = fork();
    if (workload < 0) {
        report(DROVER_STEP_INIT_FORK);
        return 125;
    }
    if (workload == 0) {
        if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) {
            report(DROVER_STEP_SIGNALS);
            _exit(125);
        }
        execve(argv[1], argv + 2, environ);
        int exec_errno = errno;
        report(DROVER_STEP_EXEC_WORKLOAD);
        _exit(exec_errno == ENOENT || exec_errno == ENOTDIR ? 127 : 126);
    }
    close(DROVER_REPORT_FD);

    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&waited, &info);
        if (sig < 0) continue; // EINTR
        if (sig != SIGCHLD) {
            kill(workload, sig);
            continue;
        }
        // SIGCHLD coalesces: reap everything that has exited, orphans included.
        int status;
        pid_t reaped;
        while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {
            if (reaped == workload) _exit(exit_code_for(status));
        }
    }
}
