/* bench/stamp.c — the restart-latency workload of bench/daemon.sh.
 *
 *   stamp FILE [CODE]
 *
 * Appends "start <ns>\n" to FILE as soon as it runs, then "exit <ns>\n", then
 * exits with CODE (default 1). <ns> is CLOCK_REALTIME in nanoseconds, so the
 * stamps of successive runs (each a fresh process, possibly in a fresh PID
 * namespace) are comparable: restart latency k = start(k+1) - exit(k).
 * Each line is one write(2) on an O_APPEND descriptor.
 *
 * Freestanding on x86_64 and aarch64 (bench/daemon.sh builds it with
 * `cc -O2 -static -nostdlib -ffreestanding`): _start is the first instruction,
 * there is no dynamic loader and no libc start-up, so "start" is stamped right
 * after execve returns. That matters here: static glibc's start-up probes the
 * CPU caches with CPUID, which traps to the hypervisor in a VM and cost about
 * 0.25 ms per run on the machine this was written on — a tenth of what is being
 * measured. Built with -DSTAMP_LIBC (or on other architectures) it is a plain
 * libc program instead, stamping its first "start" at the top of main.
 */

#if defined(STAMP_LIBC) || !(defined(__x86_64__) || defined(__aarch64__))

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

#else /* freestanding */

#if defined(__x86_64__)
enum { SYS_write = 1, SYS_openat = 257, SYS_clock_gettime = 228, SYS_exit_group = 231 };
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
static long sys4(long n, long a, long b, long c, long d) {
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return r;
}
__asm__(".text\n.globl _start\n_start:\n"
        "  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call stamp_main\n  hlt\n");
#else /* __aarch64__ */
enum { SYS_write = 64, SYS_openat = 56, SYS_clock_gettime = 113, SYS_exit_group = 94 };
static long sys4(long n, long a, long b, long c, long d) {
    register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b,
                  x2 __asm__("x2") = c, x3 __asm__("x3") = d;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    return x0;
}
static long sys3(long n, long a, long b, long c) { return sys4(n, a, b, c, 0); }
__asm__(".text\n.globl _start\n_start:\n  mov x0, sp\n  bl stamp_main\n  brk #0\n");
#endif

#define AT_FDCWD_ (-100)
#define OPEN_FLAGS (01 | 0100 | 02000 | 02000000) /* O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC */

struct ts { long sec, nsec; };

static long now_ns(void) {
    struct ts t;
    sys3(SYS_clock_gettime, 0 /* CLOCK_REALTIME */, (long)&t, 0);
    return t.sec * 1000000000L + t.nsec;
}

static __attribute__((noreturn)) void leave(long code) {
    for (;;) sys3(SYS_exit_group, code, 0, 0);
}

static void stamp(long fd, const char *what, long ns) {
    char line[48];
    int n = 0;
    while (*what) line[n++] = *what++;
    line[n++] = ' ';
    char digits[24];
    int d = 0;
    do { digits[d++] = (char)('0' + ns % 10); ns /= 10; } while (ns > 0);
    while (d > 0) line[n++] = digits[--d];
    line[n++] = '\n';
    if (sys3(SYS_write, fd, (long)line, n) != n) leave(125);
}

__attribute__((used)) void stamp_main(long *sp) {
    long started = now_ns(); /* first thing after execve */
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    if (argc < 2) {
        static const char usage[] = "usage: stamp FILE [EXIT-CODE]\n";
        sys3(SYS_write, 2, (long)usage, sizeof usage - 1);
        leave(2);
    }
    long fd = sys4(SYS_openat, AT_FDCWD_, (long)argv[1], OPEN_FLAGS, 0666);
    if (fd < 0) {
        static const char failed[] = "stamp: cannot open the stamp file\n";
        sys3(SYS_write, 2, (long)failed, sizeof failed - 1);
        leave(125);
    }
    stamp(fd, "start", started);
    stamp(fd, "exit", now_ns());
    long code = 1;
    if (argc > 2) {
        code = 0;
        for (const char *p = argv[2]; *p >= '0' && *p <= '9'; p++) code = code * 10 + (*p - '0');
    }
    leave(code);
}

#endif
