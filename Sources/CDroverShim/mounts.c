// The sandbox child's mount table, one entry at a time (called from sandbox_child in
// spawn.c, so async-signal-safe: raw syscalls, no allocation).
#include "shim_private.h"

struct drover_mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};

static int set_mount_attr(const char *target, unsigned int flags, uint64_t set, uint64_t clear) {
    struct drover_mount_attr attr = {.attr_set = set, .attr_clr = clear};
    return (int)syscall(__NR_mount_setattr, AT_FDCWD, target, flags, &attr, sizeof attr);
}

int apply_mount(const struct drover_mount *m, struct mount_state *state) {
    int *tree_fds = state->tree_fds;
    switch (m->kind) {
    case DROVER_MOUNT_PLAIN:
        return mount(m->source, m->target, m->fstype, m->flags, m->data);
    case DROVER_MOUNT_READONLY_TREE:
        return set_mount_attr(m->target, AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0);
    case DROVER_MOUNT_READONLY_ONE:
        return set_mount_attr(m->target, 0, MOUNT_ATTR_RDONLY, 0);
    case DROVER_MOUNT_CLONE_TREE: {
        int fd = (int)syscall(__NR_open_tree, AT_FDCWD, m->source, OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
        if (fd < 0) return -1;
        tree_fds[m->slot] = fd;
        return 0;
    }
    case DROVER_MOUNT_ATTACH_TREE: {
        int fd = tree_fds[m->slot];
        if (fd < 0) { errno = EBADF; return -1; }
        tree_fds[m->slot] = -1;
        int result = (int)syscall(__NR_move_mount, fd, "", AT_FDCWD, m->target, MOVE_MOUNT_F_EMPTY_PATH);
        int saved = errno;
        close(fd);
        errno = saved;
        if (result != 0) return -1;
        if (m->flags & MS_RDONLY) return set_mount_attr(m->target, AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0);
        // A writable hole in a read-only tree: the copy was taken before / became read-only,
        // but say so explicitly (the host may have mounted the source read-only itself).
        return 0;
    }
    case DROVER_MOUNT_MKDIR:
        if (mkdir(m->target, m->mode) != 0 && errno != EEXIST) return -1;
        return 0;
    case DROVER_MOUNT_MKNOD:
        return mknod(m->target, S_IFCHR | m->mode, (dev_t)m->device);
    case DROVER_MOUNT_SYMLINK:
        return symlink(m->source, m->target);
    case DROVER_MOUNT_READONLY_BIND:
        if (mount(m->target, m->target, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
        return set_mount_attr(m->target, AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0);
    case DROVER_MOUNT_MASK: {
        struct stat info;
        if (stat(m->target, &info) != 0) return -1;
        if (!S_ISDIR(info.st_mode)) return mount("/dev/null", m->target, NULL, MS_BIND, NULL);
        if (state->masked_directory) return mount(state->masked_directory, m->target, NULL, MS_BIND, NULL);
        if (mount("tmpfs", m->target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") != 0) return -1;
        state->masked_directory = m->target;
        return 0;
    }
    case DROVER_MOUNT_BIND_READONLY:
        if (mount(m->source, m->target, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
        return set_mount_attr(m->target, AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0);
    default:
        errno = EINVAL;
        return -1;
    }
}
