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
// If DROVER_STATUS_FD is open, the workload's wait status is written there (`status=N\n`)
// before exiting, for a supervisor that is not this process's parent.
//
// Freestanding: no libc calls, its own entry point (drover_init_start), raw syscalls. Every sandbox start pays for this
// program's start-up, and glibc's alone (CPU feature and cache detection, which traps to the
// hypervisor on virtual machines) cost more than the rest of it together.
#include "drover_shim.h"

#if defined(__x86_64__)
#define NR_write 1
#define NR_close 3
#define NR_rt_sigprocmask 14
#define NR_clone 56
#define NR_execve 59
#define NR_exit_group 231
#define NR_wait4 61
#define NR_kill 62
#define NR_fcntl 72
#define NR_rt_sigtimedwait 128
#define NR_prctl 157

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

__asm__(
    ".text\n"
    ".globl drover_init_start\n"
    "drover_init_start:\n"
    "    xor %rbp, %rbp\n"
    "    mov %rsp, %rdi\n"        // argc, argv..., NULL, envp..., NULL
    "    and $-16, %rsp\n"
    "    call init_main\n"
    "    hlt\n");
#elif defined(__aarch64__)
#define NR_write 64
#define NR_close 57
#define NR_rt_sigprocmask 135
#define NR_clone 220
#define NR_execve 221
#define NR_exit_group 94
#define NR_wait4 260
#define NR_kill 129
#define NR_fcntl 25
#define NR_rt_sigtimedwait 137
#define NR_prctl 167

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}

__asm__(
    ".text\n"
    ".globl drover_init_start\n"
    "drover_init_start:\n"
    "    mov x29, #0\n"
    "    mov x30, #0\n"
    "    mov x0, sp\n"
    "    and sp, x0, #-16\n"
    "    bl init_main\n"
    "    brk #0\n");
#else
#error "drover-init: add this architecture's syscall convention"
#endif

#define SIG_BLOCK_HOW 0
#define SIG_SETMASK_HOW 2
#define SIGSET_BYTES 8
#define WNOHANG_FLAG 1
#define F_SETFD_CMD 2
#define FD_CLOEXEC_FLAG 1
#define SIGNAL_CHLD 17
#define ERRNO_EINTR 4
#define ERRNO_ENOENT 2
#define ERRNO_ENOTDIR 20
#define PR_SET_DUMPABLE_OPTION 4

static const int forwarded_signals[] = {15 /* TERM */, 2 /* INT */, 1 /* HUP */, 3 /* QUIT */,
                                        10 /* USR1 */, 12 /* USR2 */, 28 /* WINCH */};

__attribute__((noreturn)) static void exit_now(int code) {
    for (;;) sys6(NR_exit_group, code, 0, 0, 0, 0, 0);
}

static void report(int step, long error) {
    struct drover_report r;
    r.step = step;
    r.error = (int32_t)error;
    r.detail = -1;
    sys6(NR_write, DROVER_REPORT_FD, (long)&r, sizeof r, 0, 0, 0);
}

static int exit_code_for(int status) {
    int signal = status & 0x7f;
    if (signal == 0) return (status >> 8) & 0xff; // exited
    if (signal != 0x7f) return 128 + signal;       // killed by a signal
    return 125;
}

static void write_status(int status) {
    // Built byte by byte: an initialised array may compile to a memcpy, and nothing of libc
    // may run here.
    char text[32];
    const char *prefix = "status=";
    int length = 0;
    while (prefix[length]) { text[length] = prefix[length]; length++; }
    char digits[12];
    int count = 0;
    unsigned value = (unsigned)status;
    do { digits[count++] = (char)('0' + value % 10); value /= 10; } while (value && count < 12);
    while (count) text[length++] = digits[--count];
    text[length++] = '\n';
    sys6(NR_write, DROVER_STATUS_FD, (long)text, length, 0, 0, 0); // EBADF when not given: fine
}

static void write_text(int fd, const char *text) {
    long length = 0;
    while (text[length]) length++;
    sys6(NR_write, fd, (long)text, length, 0, 0, 0);
}

__attribute__((noreturn, used)) void init_main(long *stack) {
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    char **envp = argv + argc + 1;
    if (argc < 3) {
        write_text(2, "usage: drover-init PATH ARG0 [ARGS...]\n");
        exit_now(2);
    }
    unsigned long all = ~0UL, none = 0, waited = 1UL << (SIGNAL_CHLD - 1);
    for (unsigned i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        waited |= 1UL << (forwarded_signals[i] - 1);
    // Not dumpable: the workload runs as the same uid, and could otherwise ptrace this
    // process or take its descriptors (pidfd_getfd, /proc/1/fd) and forge its status file.
    // The workload's own execve makes it dumpable again.
    sys6(NR_prctl, PR_SET_DUMPABLE_OPTION, 0, 0, 0, 0, 0);
    // Already blocked when started by drover; not when run by hand.
    sys6(NR_rt_sigprocmask, SIG_BLOCK_HOW, (long)&all, 0, SIGSET_BYTES, 0, 0);
    // The workload inherits the pipe but must close it on its own execve.
    sys6(NR_fcntl, DROVER_REPORT_FD, F_SETFD_CMD, FD_CLOEXEC_FLAG, 0, 0, 0);
    sys6(NR_fcntl, DROVER_STATUS_FD, F_SETFD_CMD, FD_CLOEXEC_FLAG, 0, 0, 0);

    long workload = sys6(NR_clone, SIGNAL_CHLD, 0, 0, 0, 0, 0);
    if (workload < 0) {
        report(DROVER_STEP_INIT_FORK, -workload);
        exit_now(125);
    }
    if (workload == 0) {
        long error = sys6(NR_rt_sigprocmask, SIG_SETMASK_HOW, (long)&none, 0, SIGSET_BYTES, 0, 0);
        if (error < 0) {
            report(DROVER_STEP_SIGNALS, -error);
            exit_now(125);
        }
        error = -sys6(NR_execve, (long)argv[1], (long)(argv + 2), (long)envp, 0, 0, 0);
        report(DROVER_STEP_EXEC_WORKLOAD, error);
        exit_now(error == ERRNO_ENOENT || error == ERRNO_ENOTDIR ? 127 : 126);
    }
    sys6(NR_close, DROVER_REPORT_FD, 0, 0, 0, 0, 0);

    for (;;) {
        unsigned char info[128]; // siginfo_t; only the signal number (the return value) is used
        long signal = sys6(NR_rt_sigtimedwait, (long)&waited, (long)info, 0, SIGSET_BYTES, 0, 0);
        if (signal < 0) continue; // EINTR
        if (signal != SIGNAL_CHLD) {
            sys6(NR_kill, workload, signal, 0, 0, 0, 0);
            continue;
        }
        // SIGCHLD coalesces: reap everything that has exited, orphans included.
        int status = 0;
        long reaped;
        while ((reaped = sys6(NR_wait4, -1, (long)&status, WNOHANG_FLAG, 0, 0, 0)) > 0) {
            if (reaped == workload) {
                write_status(status);
                exit_now(exit_code_for(status));
            }
        }
    }
}

// Never called: the kernel enters at drover_init_start (linker --entry). The C runtime's own
// start files, linked anyway, refer to main.
int main(void) { return 125; }
