// The C layer of drover has exactly two jobs:
//   1. wrappers for syscalls Glibc does not export (clone3, pidfd_*, mount_setattr, capset,
//      seccomp, close_range);
//   2. the code that runs in the child between clone3 and execve.
// The child runs a plan the parent built completely beforehand. It never allocates, formats,
// locks or calls back into Swift. On failure it writes a drover_report to the report pipe and
// _exits; EOF on that pipe (it is close-on-exec) means the workload was exec'd.
#ifndef DROVER_SHIM_H
#define DROVER_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

// Steps the child can fail at, reported with errno. Keep in sync with drover_step_name().
enum drover_step {
    DROVER_STEP_NONE = 0,
    DROVER_STEP_STDIO = 1,
    DROVER_STEP_MOUNT = 2,          // detail: index into plan->mounts
    DROVER_STEP_HOSTNAME = 3,
    DROVER_STEP_CHDIR = 4,
    DROVER_STEP_CAP_BOUNDING = 5,   // detail: capability number
    DROVER_STEP_KEEPCAPS = 6,
    DROVER_STEP_SETGROUPS = 7,
    DROVER_STEP_SETGID = 8,
    DROVER_STEP_SETUID = 9,
    DROVER_STEP_CAPSET = 10,
    DROVER_STEP_CAP_AMBIENT = 11,   // detail: capability number
    DROVER_STEP_NO_NEW_PRIVS = 12,
    DROVER_STEP_SECCOMP = 13,
    DROVER_STEP_PDEATHSIG = 14,
    DROVER_STEP_EXEC_INIT = 15,
    DROVER_STEP_EXEC_WORKLOAD = 16, // reported by drover-init's child
    DROVER_STEP_INIT_FORK = 17,     // reported by drover-init
    DROVER_STEP_SIGNALS = 18,
    DROVER_STEP_SETNS = 19,
    DROVER_STEP_SETSID = 20,
    DROVER_STEP_USERNS = 21,        // setns into the sandbox's user namespace
    DROVER_STEP_LOOPBACK = 22,      // bringing lo up in a network namespace of its own
    DROVER_STEP_LANDLOCK = 23,      // Landlock scoping (abstract Unix sockets, signals)
};

// Wire format of the report pipe (also written by drover-init, which does not link this
// library: the layout is three native ints).
struct drover_report {
    int32_t step;
    int32_t error;   // errno
    int32_t detail;  // step-specific index, or -1
};

// Namespaces every sandbox gets: PID, mount, UTS, IPC (CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC). Spelled
// as numbers because Swift imports Glibc without _GNU_SOURCE, which hides the CLONE_* names.
#define DROVER_SANDBOX_NAMESPACES 0x2C020000ULL
// CLONE_NEWCGROUP: with CLONE_INTO_CGROUP the namespace's root is the sandbox's own leaf.
#define DROVER_CLONE_NEWCGROUP 0x02000000ULL
// CLONE_NEWNET: `network: none`, loopback only.
#define DROVER_CLONE_NEWNET 0x40000000ULL
#define DROVER_O_PATH 010000000

// The fd on which drover-init and its child find the report pipe.
#define DROVER_REPORT_FD 3
// Where drover-init writes the workload's wait status when it ends (`status=N\n`), if open:
// a daemon that did not spawn the sandbox (it restarted since) cannot waitid for it.
#define DROVER_STATUS_FD 4

enum drover_mount_kind {
    // mount(source, target, fstype, flags, data)
    DROVER_MOUNT_PLAIN = 0,
    // mount_setattr(target, AT_RECURSIVE, set MOUNT_ATTR_RDONLY): a read-only view of a tree
    DROVER_MOUNT_READONLY_TREE = 1,
    // open_tree(source, OPEN_TREE_CLONE|AT_RECURSIVE) into tree slot `slot`: a detached copy
    // taken before the tree is made read-only or hidden, attached later
    DROVER_MOUNT_CLONE_TREE = 2,
    // move_mount(tree slot `slot`) onto target; read-only (recursively) if flags has MS_RDONLY
    DROVER_MOUNT_ATTACH_TREE = 3,
    // mkdir(target, mode)
    DROVER_MOUNT_MKDIR = 4,
    // mknod(target, S_IFCHR|mode, device)
    DROVER_MOUNT_MKNOD = 5,
    // symlink(source, target)
    DROVER_MOUNT_SYMLINK = 6,
    // bind target onto itself, then mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY)
    DROVER_MOUNT_READONLY_BIND = 7,
    // hide target: an empty read-only tmpfs over a directory, /dev/null over anything else
    DROVER_MOUNT_MASK = 8,
    // mount_setattr(target, 0, MOUNT_ATTR_RDONLY): this mount only, not the ones below it
    DROVER_MOUNT_READONLY_ONE = 9,
    // bind source on target (recursively), read-only
    DROVER_MOUNT_BIND_READONLY = 10,
};

struct drover_mount {
    int kind;
    int optional;                // ENOENT on target (or source) skips the step
    int slot;                    // tree slot for CLONE_TREE / ATTACH_TREE
    unsigned int mode;           // MKDIR, MKNOD
    unsigned long long device;   // MKNOD: makedev(major, minor)
    const char *source;
    const char *target;
    const char *fstype;
    unsigned long flags;
    const char *data;
};

struct drover_spawn_plan {
    int init_fd;                 // O_PATH fd of drover-init, exec'd with execveat
    char *const *argv;           // argv for drover-init: {"drover-init", PATH, ARG0, ARGS..., NULL}
    char *const *envp;           // the workload's environment
    int stdio[3];                // fds for 0, 1, 2; -1 keeps the parent's
    int status_fd;               // becomes DROVER_STATUS_FD for drover-init, or -1
    int cgroup_fd;               // O_DIRECTORY fd of the leaf cgroup, or -1
    uint64_t clone_flags;        // CLONE_NEW* flags
    int join_pidfd;              // >= 0: join this process's PID, mount, UTS, IPC and cgroup
                                 // namespaces instead of creating new ones (`drover exec`)
    int join_userns;             // with join_pidfd: also join its user namespace
    int loopback_up;             // a network namespace of its own: bring lo up in it
    int userns_fd;               // >= 0: enter this user namespace after the mounts, before
                                 // changing user (see drover_userns_create)
    const struct drover_mount *mounts;
    size_t mount_count;
    int *tree_fds;               // scratch for CLONE_TREE slots, written by the child
    size_t tree_slots;
    const char *hostname;        // NULL keeps it
    const char *workdir;         // NULL keeps it
    int change_user;             // set groups, gid and uid below
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t group_count;
    uint64_t capabilities;       // bitmask kept in every set (bounding, permitted, effective,
                                 // inheritable, ambient); all others are dropped
    int last_capability;         // /proc/sys/kernel/cap_last_cap
    int no_new_privs;
    int landlock_scope;          // where the kernel has it (ABI 6+): no abstract Unix sockets
                                 // or signals outside the sandbox
    const struct sock_fprog *seccomp; // NULL: no filter
    int parent_death_signal;     // 0: none (a daemon's replicas must outlive it)
};

// Clones the sandbox's PID 1 and runs the plan in it. Returns 0 and sets *pid, *pidfd and
// *report_fd (the read end of the report pipe, close-on-exec), or returns -errno if clone3
// itself failed (nothing was created then).
int drover_spawn(const struct drover_spawn_plan *plan, pid_t *pid, int *pidfd, int *report_fd);

// A user namespace whose maps are `uid_map` and `gid_map` (the /proc/PID/uid_map text, e.g.
// "0 61184 1\n"), held by the returned fd (O_CLOEXEC), or -errno. A short-lived helper is
// cloned into a new user namespace, the maps are written from here (only a process in the
// parent namespace may map ids other than its own), and the helper exits.
int drover_userns_create(const char *_Nonnull uid_map, const char *_Nonnull gid_map);

// The port guard (port_guard.c): cgroup bind4/bind6 programs that let a sandbox bind only the
// ports listed for its leaf cgroup (and port 0), EACCES otherwise.
#define DROVER_PORT_GUARD_MAX 32
struct drover_port_guard {
    int map_fd;    // HASH: cgroup id (u64) -> u16 ports[DROVER_PORT_GUARD_MAX], network order
    int bind4_fd;
    int bind6_fd;
};
// Loads the map (room for `capacity` sandboxes at once) and both programs. 0, or -errno (the
// verifier's log, if any, in `log`).
int drover_port_guard_load(struct drover_port_guard *_Nonnull guard, uint32_t capacity, char *_Nullable log, size_t log_size);
void drover_port_guard_close(struct drover_port_guard *_Nonnull guard);
// Lets the cgroup (its directory fd and id) bind `ports` only, and attaches the programs to
// it. 0 or -errno.
int drover_port_guard_allow(const struct drover_port_guard *_Nonnull guard, int cgroup_fd, uint64_t cgroup_id,
                            const uint16_t *_Nullable ports, size_t count);
// Drops the cgroup's entry (after the cgroup is gone). 0 or -errno.
int drover_port_guard_forget(const struct drover_port_guard *_Nonnull guard, uint64_t cgroup_id);

// A human name for a step ("mount", "setuid", ...).
const char *drover_step_name(int step);

// Thin syscall wrappers.
int drover_pidfd_open(pid_t pid);
int drover_pidfd_send_signal(int pidfd, int sig);
// waitid(P_PIDFD, pidfd, WEXITED [| WNOHANG]). Returns 0 with *code/*status set like siginfo
// si_code/si_status, 1 if nohang and not yet exited, or -errno.
int drover_pidfd_wait(int pidfd, int nohang, int *code, int *status);
int drover_close_range(unsigned int first, unsigned int last, unsigned int flags);
int drover_memfd_create(const char *name);
// pipe2(O_CLOEXEC): both ends close-on-exec from the start, so no concurrent spawn inherits them.
int drover_pipe_cloexec(int fds[2]);
// Blocks `signals` in the calling thread (and threads it creates later) and returns a signalfd
// that receives them, or -errno.
int drover_signalfd_block(const int *signals, int count);
// Reads one signal from a signalfd: its number, or -errno.
int drover_signalfd_read(int fd);


// epoll, for watching many pidfds from one thread (Glibc's module does not export it).
int drover_epoll_create(void);
// Adds fd with a token, readable events, one-shot. Returns 0 or -errno.
int drover_epoll_add(int epfd, int fd, uint64_t token);
int drover_epoll_remove(int epfd, int fd);
// Waits (timeout_ms -1: forever) and stores up to max tokens. Returns the count or -errno.
int drover_epoll_wait(int epfd, uint64_t *tokens, int max, int timeout_ms);
int drover_eventfd(void);

#endif
