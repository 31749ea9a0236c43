// What the probe files share (probe.c has the contract every probe keeps): the system
// headers, result reporting, argument parsing, running an action in a forked child, and each
// probe family's entry points.
#ifndef DROVER_TESTLOAD_PROBE_H
#define DROVER_TESTLOAD_PROBE_H
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

// --- result reporting and helpers (probe.c) -----------------------------------------------

// The probe being run, as `probe=NAME` prints it.
extern const char *probe_name;
// `EPERM` for EPERM; E<number> for an errno without a name here.
const char *probe_errno_name(int e);
// Prints the result line; returns the exit code to use.
int report_text(const char *result, int code);
int ok(void);
int refused(int e);
// 0 → ok, else the errno (what the forked-child probes carry in their exit status).
int report_errno(int e);
int usage(const char *text);
// A `detail=...` line before the result.
void detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Parses a whole decimal number in [min, max]; 0 on success.
int parse_long(const char *text, long min, long max, long *out);
// Runs `action` in a forked child, whose exit status is 0 or an errno; returns that, or
// reports a signal death itself (returning -1).
int in_child(int (*action)(const void *), const void *arg, int *result);
// in_child, then reports its result.
int report_child(int (*action)(const void *), const void *arg);

// --- file system (probe_files.c) ----------------------------------------------------------
int probe_open_write(const char *path);
int probe_read(const char *path);
int probe_create(const char *path);
int probe_mkdir(const char *path);
int probe_list(const char *path);
int probe_chown(const char *path, const char *uid_text, const char *gid_text);
int probe_mount_tmpfs(const char *dir);
int probe_mknod(const char *path);

// --- namespaces, credentials, other processes, exec (probe_processes.c) -------------------
int probe_unshare(const char *which);
// setns(open(path), 0), for report_child: 0 or the errno.
int do_setns(const void *path);
int probe_setuid(const char *text);
int probe_ptrace(const char *text);
int probe_pidfd_getfd(const char *pid_text, const char *fd_text);
int probe_kill(const char *pid_text, const char *signal_text);
int probe_exec(const char *path, char **args);

// --- network (probe_network.c) ------------------------------------------------------------
int probe_bind(const char *port_text, int family);
int connect_unix(const char *name, int abstract);
int probe_connect_tcp(const char *host, const char *port_text);
int probe_route_out(void);

// --- system-wide settings (probe_system.c) ------------------------------------------------
int probe_sethostname(const char *name);
int probe_settime(void);
int probe_io_uring(void);

#endif
