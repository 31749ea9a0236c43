// drover-testload: the workload integration tests run inside sandboxes, so that they observe
// the sandbox from within (like crun's tests/init.c). One command per invocation; output is
// `key=value` lines a test can parse. Not installed for users.
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static const char *errno_name(int e) {
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case ENOENT: return "ENOENT";
    case EADDRINUSE: return "EADDRINUSE";
    case EROFS: return "EROFS";
    default: return "OTHER";
    }
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

// Prints the /proc/self/status lines that describe privileges.
static void print_status_fields(void) {
    static const char *fields[] = {"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:",
                                   "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:"};
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) { say("status_error=%s", strerror(errno)); return; }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            size_t n = strlen(fields[i]);
            if (strncmp(line, fields[i], n) != 0) continue;
            char *value = line + n;
            while (*value == ' ' || *value == '\t') value++;
            value[strcspn(value, "\n")] = 0;
            char key[32];
            snprintf(key, sizeof key, "%.*s", (int)(n - 1), fields[i]);
            for (char *k = key; *k; k++) if (*k >= 'A' && *k <= 'Z') *k += 'a' - 'A';
            say("%s=%s", key, value);
        }
    }
    fclose(f);
}

static int count_proc(int zombies_only) {
    DIR *d = opendir("/proc");
    if (!d) return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        if (!zombies_only) { count++; continue; }
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f)) {
            char *close_paren = strrchr(buf, ')');
            if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z') count++;
        }
        fclose(f);
    }
    closedir(d);
    return count;
}

static void cmd_info(void) {
    char buf[256];
    say("pid=%d", getpid());
    FILE *f = fopen("/proc/1/comm", "r");
    if (f && fgets(buf, sizeof buf, f)) { buf[strcspn(buf, "\n")] = 0; say("pid1_comm=%s", buf); }
    if (f) fclose(f);
    say("visible_pids=%d", count_proc(0));
    gethostname(buf, sizeof buf);
    say("hostname=%s", buf);
    ssize_t n = readlink("/proc/self/ns/ipc", buf, sizeof buf - 1);
    if (n > 0) { buf[n] = 0; say("ipc_ns=%s", buf); }
    n = readlink("/proc/self/ns/mnt", buf, sizeof buf - 1);
    if (n > 0) { buf[n] = 0; say("mnt_ns=%s", buf); }
    n = readlink("/proc/self/ns/user", buf, sizeof buf - 1);
    if (n > 0) { buf[n] = 0; say("user_ns=%s", buf); }
    n = readlink("/proc/self/ns/cgroup", buf, sizeof buf - 1);
    if (n > 0) { buf[n] = 0; say("cgroup_ns=%s", buf); }
    f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(buf, sizeof buf, f)) {
        if (strncmp(buf, "0::", 3) == 0) { buf[strcspn(buf, "\n")] = 0; say("cgroup=%s", buf + 3); }
    }
    if (f) fclose(f);
    if (getcwd(buf, sizeof buf)) say("cwd=%s", buf);
    DIR *d = opendir("/tmp");
    int entries = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) entries++;
    if (d) closedir(d);
    say("tmp_entries=%d", entries);
    struct stat st;
    if (stat("/tmp", &st) == 0) say("tmp_mode=%o", st.st_mode & 07777);
    print_status_fields();
}

static void cmd_syscalls(void) {
    errno = 0;
    int r = mount("none", "/mnt", "tmpfs", 0, NULL);
    say("mount=%s", errno_name(r == 0 ? 0 : errno));
    errno = 0;
    r = unshare(CLONE_NEWNS);
    say("unshare=%s", errno_name(r == 0 ? 0 : errno));
    errno = 0;
    long k = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
    say("keyctl=%s", errno_name(k >= 0 ? 0 : errno));
    errno = 0;
    r = (int)syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
    say("ptrace=%s", errno_name(r == 0 ? 0 : errno));
}

// Forks children that fork grandchildren and exit at once: the grandchildren become orphans
// of PID 1; when they exit, only PID 1 can reap them.
static void cmd_orphans(int count) {
    for (int i = 0; i < count; i++) {
        pid_t child = fork();
        if (child == 0) {
            if (fork() == 0) { sleep_ms(50); _exit(0); }
            _exit(0);
        }
        waitpid(child, NULL, 0);
    }
    sleep_ms(400);
    say("zombies=%d", count_proc(1));
}

static void on_term(int sig) {
    (void)sig;
    static const char msg[] = "got=SIGTERM\n";
    ssize_t ignored = write(1, msg, sizeof msg - 1);
    (void)ignored;
    _exit(0);
}

static void cmd_fork_tree(int width) {
    // Each child forks once more, all sleep: a tree of 2*width processes besides this one.
    // Every descendant reports on a pipe once it runs, so "forked" means they all exist.
    int started[2];
    if (pipe(started) != 0) { say("fork_tree=%s", errno_name(errno)); exit(1); }
    for (int i = 0; i < width; i++) {
        if (fork() == 0) {
            if (fork() == 0) {
                ssize_t ignored = write(started[1], "g", 1);
                (void)ignored;
                for (;;) pause();
            }
            ssize_t ignored = write(started[1], "c", 1);
            (void)ignored;
            for (;;) pause();
        }
    }
    char byte;
    for (int seen = 0; seen < width * 2; seen++) {
        if (read(started[0], &byte, 1) != 1) { say("fork_tree=short"); exit(1); }
    }
    say("forked=%d", width * 2);
    for (;;) pause();
}

static void cmd_fork_until_eagain(int limit) {
    pid_t kids[4096];
    int n = 0;
    int err = 0;
    while (n < limit && n < 4096) {
        pid_t p = fork();
        if (p == 0) { for (;;) pause(); }
        if (p < 0) { err = errno; break; }
        kids[n++] = p;
    }
    say("forked=%d", n);
    say("fork_error=%s", errno_name(err));
    for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
    say("survived=yes");
}

static void cmd_alloc(long long bytes) {
    long page = sysconf(_SC_PAGESIZE);
    char *p = malloc((size_t)bytes);
    if (!p) { say("alloc=failed"); exit(1); }
    for (long long i = 0; i < bytes; i += page) p[i] = 1;
    say("allocated=%lld", bytes);
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Spins for `seconds` of wall time; prints the CPU it got in that window (start-up excluded)
// and the window's length.
static void cmd_spin(double seconds) {
    struct timespec start, now;
    double cpu_at_start = cpu_seconds();
    clock_gettime(CLOCK_MONOTONIC, &start);
    volatile unsigned long x = 0;
    double elapsed;
    do {
        for (int i = 0; i < 100000; i++) x += i;
        clock_gettime(CLOCK_MONOTONIC, &now);
        elapsed = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
    } while (elapsed < seconds);
    say("cpu_seconds=%.3f", cpu_seconds() - cpu_at_start);
    say("wall_seconds=%.3f", elapsed);
}

// N spinning children for a while; prints their total CPU time (what the scheduler gave them).
static void cmd_spin_many(int count, double seconds) {
    for (int i = 0; i < count; i++) {
        if (fork() == 0) {
            struct timespec start, now;
            clock_gettime(CLOCK_MONOTONIC, &start);
            volatile unsigned long x = 0;
            do {
                for (int j = 0; j < 100000; j++) x += j;
                clock_gettime(CLOCK_MONOTONIC, &now);
            } while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
            _exit(0);
        }
    }
    say("ready=1");
    for (int i = 0; i < count; i++) wait(NULL);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    say("cpu_seconds=%.3f", ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

static void cmd_listen(const char *port_text) {
    const char *value = port_text;
    if (port_text[0] < '0' || port_text[0] > '9') value = getenv(port_text);
    if (!value) { say("listen=no-such-env"); exit(1); }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(value)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 16) != 0) {
        say("listen=%s", errno_name(errno));
        exit(1);
    }
    say("listening=%s", value);
}

static volatile sig_atomic_t got_term = 0;
static void note_term(int sig) { (void)sig; got_term = 1; }

// The polite replica (SPEC §4): on SIGTERM it reports what it could see at that moment (the
// notice file, and whether the published names file still lists its port), "finishes its
// in-flight work" (200 ms) and exits 0.
static void cmd_lameduck(const char *names_file) {
    signal(SIGTERM, note_term);
    say("ready=1");
    while (!got_term) pause();
    const char *notice = getenv("DROVER_LAMEDUCK_FILE");
    char text[512] = "";
    FILE *f = notice ? fopen(notice, "r") : NULL;
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
        for (char *c = text; *c; c++) if (*c == '\n') *c = ' ';
    }
    say("notice_at_signal=%s", f ? "yes" : "no");
    say("notice=%s", text);
    const char *port = getenv("PORT_HTTP");
    char needle[64] = "", names[4096] = "";
    if (port) snprintf(needle, sizeof needle, "127.0.0.1:%s\n", port);
    FILE *n = names_file ? fopen(names_file, "r") : NULL;
    if (n) {
        size_t len = fread(names, 1, sizeof names - 1, n);
        names[len] = 0;
        fclose(n);
    }
    say("listed_at_signal=%s", port && strstr(names, needle) ? "yes" : "no");
    sleep_ms(200);
    say("drained=1");
    exit(0);
}

// Ignores SIGTERM and forks children that do too: only the deadline's cgroup.kill ends it.
static void cmd_stubborn(int children) {
    signal(SIGTERM, SIG_IGN);
    for (int i = 0; i < children; i++) {
        if (fork() == 0) { for (;;) pause(); }
    }
    say("ready=1");
    for (;;) pause();
}

// Local-Port: the port the connection arrived on, as this replica sees it: its own port when
// droverd relayed it, the service port when the kernel steered the client straight here.
static void serve_one(int client, const char *flag) {
    char request[2048];
    ssize_t ignored = read(client, request, sizeof request);
    (void)ignored;
    struct sockaddr_storage local;
    socklen_t length = sizeof local;
    int port = 0;
    if (getsockname(client, (struct sockaddr *)&local, &length) == 0) {
        port = local.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&local)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&local)->sin_port);
    }
    char answer[256];
    int size = access(flag, F_OK) == 0
        ? snprintf(answer, sizeof answer, "HTTP/1.0 200 OK\r\nLocal-Port: %d\r\nContent-Length: 3\r\n\r\nok\n", port)
        : snprintf(answer, sizeof answer, "HTTP/1.0 503 Service Unavailable\r\nLocal-Port: %d\r\nContent-Length: 5\r\n\r\nsick\n", port);
    ignored = write(client, answer, (size_t)size);
    close(client);
}

// A tiny HTTP server on the port in env PORT_VAR: 200 while $DROVER_STATE_DIR/healthy exists,
// 503 otherwise; one connection at a time. A polite server: on SIGTERM it answers what is
// already queued (connections made before it was unpublished), then exits 0.
static void cmd_serve(const char *port_variable) {
    const char *value = getenv(port_variable);
    const char *state = getenv("DROVER_STATE_DIR");
    if (!value || !state) { say("serve=missing-env"); exit(1); }
    char flag[4096];
    snprintf(flag, sizeof flag, "%s/healthy", state);
    struct sigaction term = {0};
    term.sa_handler = note_term; // no SA_RESTART: accept returns EINTR
    sigaction(SIGTERM, &term, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(value)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0) {
        say("serve=%s", errno_name(errno));
        exit(1);
    }
    say("serving=%s", value);
    while (!got_term) {
        int client = accept(fd, NULL, NULL);
        if (client >= 0) serve_one(client, flag);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int client;
    while ((client = accept(fd, NULL, NULL)) >= 0) serve_one(client, flag);
    say("drained=1");
    exit(0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: drover-testload COMMAND [ARG]\n");
        return 2;
    }
    const char *cmd = argv[1];
    const char *arg = argc > 2 ? argv[2] : NULL;
    if (!strcmp(cmd, "true")) return 0;
    if (!strcmp(cmd, "exit")) return arg ? atoi(arg) : 0;
    if (!strcmp(cmd, "kill-self")) { kill(getpid(), arg ? atoi(arg) : SIGKILL); for (;;) pause(); }
    if (!strcmp(cmd, "info")) { cmd_info(); return 0; }
    if (!strcmp(cmd, "landlock-abi")) { say("landlock_abi=%ld", syscall(444 /* landlock_create_ruleset */, NULL, 0, 1U)); return 0; }
    if (!strcmp(cmd, "syscalls")) { cmd_syscalls(); return 0; }
    if (!strcmp(cmd, "orphans")) { cmd_orphans(arg ? atoi(arg) : 5); return 0; }
    if (!strcmp(cmd, "pause")) { say("ready=1"); for (;;) pause(); }
    if (!strcmp(cmd, "trap-term")) {
        signal(SIGTERM, on_term);
        say("ready=1");
        for (;;) pause();
    }
    if (!strcmp(cmd, "ignore-sigterm")) {
        signal(SIGTERM, SIG_IGN);
        say("ready=1");
        for (;;) pause();
    }
    if (!strcmp(cmd, "fork-tree")) { cmd_fork_tree(arg ? atoi(arg) : 4); return 0; }
    if (!strcmp(cmd, "fork-bomb")) { cmd_fork_until_eagain(arg ? atoi(arg) : 4096); return 0; }
    if (!strcmp(cmd, "alloc")) { cmd_alloc(arg ? atoll(arg) : 1 << 20); return 0; }
    if (!strcmp(cmd, "spin")) { cmd_spin(arg ? atof(arg) : 1.0); return 0; }
    if (!strcmp(cmd, "spin-many")) { cmd_spin_many(arg ? atoi(arg) : 2, argc > 3 ? atof(argv[3]) : 1.0); return 0; }
    if (!strcmp(cmd, "lameduck")) { cmd_lameduck(arg); return 0; }
    if (!strcmp(cmd, "stubborn")) { cmd_stubborn(arg ? atoi(arg) : 3); return 0; }
    if (!strcmp(cmd, "serve")) { cmd_serve(arg ? arg : "PORT_HTTP"); return 0; }
    if (!strcmp(cmd, "listen")) { cmd_listen(arg ? arg : "0"); return 0; }
    if (!strcmp(cmd, "write-tmp") && arg) {
        char path[4096];
        snprintf(path, sizeof path, "/tmp/%s", arg);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        say("write_tmp=%s", fd >= 0 ? "ok" : errno_name(errno));
        if (fd >= 0) close(fd);
        say("ready=1");
        if (argc > 3 && !strcmp(argv[3], "--wait")) for (;;) pause();
        return 0;
    }
    if (!strcmp(cmd, "exists") && arg) {
        say("exists=%s", access(arg, F_OK) == 0 ? "yes" : "no");
        return 0;
    }
    if (!strcmp(cmd, "write") && arg) {
        int fd = open(arg, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        say("write=%s", fd >= 0 ? "ok" : errno_name(errno));
        if (fd >= 0) close(fd);
        return 0;
    }
    if (!strcmp(cmd, "env") && arg) {
        const char *v = getenv(arg);
        say("%s=%s", arg, v ? v : "(unset)");
        return 0;
    }
    if (!strcmp(cmd, "probe") || !strcmp(cmd, "euid") || !strcmp(cmd, "fds")) { extern int testload_probe_command(int, char **); return testload_probe_command(argc - 1, argv + 1); } // probe.c
    fprintf(stderr, "drover-testload: unknown command %s\n", cmd);
    return 2;
}
