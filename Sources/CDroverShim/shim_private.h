// Shared by the shim's C files, never seen by Swift (its API is include/drover_shim.h): the
// system headers, the kernel constants older headers lack, clone3's argument block and
// trampoline, and the steps of the sandbox child that live in files of their own (mounts.c,
// landlock.c, loopback.c). Everything declared here runs in that child too: async-signal-safe.
#ifndef DROVER_SHIM_PRIVATE_H
#define DROVER_SHIM_PRIVATE_H

#include "drover_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif
#ifndef CLONE_NEWNET
#define CLONE_NEWNET 0x40000000
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

// Internal to the shim: linked into the same binary, exported from none.
#define DROVER_HIDDEN __attribute__((visibility("hidden")))

// The kernel's struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2).
struct drover_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};

#if defined(__x86_64__)
// clone3 with a fresh stack for the child, which calls fn(arg) there and exits with its
// result; the parent gets the syscall's return value. glibc offers this only for clone(),
// which cannot place the child in a cgroup. A C function cannot do it: the child would
// return into the parent's frames on a stack it does not own.
// (Defined in clone3.c.)
DROVER_HIDDEN long drover_clone3_trampoline(struct drover_clone_args *args, size_t size, int (*fn)(void *), void *arg);
#define DROVER_HAVE_TRAMPOLINE 1
#endif

// --- steps of the sandbox child (sandbox_child in spawn.c) ---

// What apply_mount remembers from one step to the next (the child may not allocate).
struct mount_state {
    int *tree_fds;
    // The first directory masked: the others get a bind of its empty tmpfs (a bind costs less
    // than a new file system).
    const char *masked_directory;
};

// One entry of the plan's mount table (mounts.c). 0, or -1 with errno set.
DROVER_HIDDEN int apply_mount(const struct drover_mount *m, struct mount_state *state);
// Landlock scoping where the kernel has it (landlock.c). 0, or -1 with errno set.
DROVER_HIDDEN int landlock_scope(void);
// Brings lo up in the sandbox's own network namespace (loopback.c). 0, or -1 with errno set.
DROVER_HIDDEN int loopback_up(void);

#endif
