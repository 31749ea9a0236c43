// Probes of the file system view (contract: probe.c).
#include "probe.h"

// --- file system --------------------------------------------------------------------------

int probe_open_write(const char *path) {
    int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return refused(errno);
    close(fd); // never written: see the contract above
    return ok();
}

// O_NONBLOCK so that a FIFO or a terminal cannot hang the probe (EAGAIN instead); regular and
// proc files ignore it.
int probe_read(const char *path) {
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return refused(errno);
    char buf[64];
    ssize_t n;
    do n = read(fd, buf, sizeof buf); while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0) return refused(e);
    if (n == 0) return report_text("EMPTY", 1); // e.g. masked: /dev/null bound over it
    return ok();
}

int probe_create(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0) return refused(errno);
    close(fd);
    if (unlink(path) != 0) detail("cleanup=unlink:%s", probe_errno_name(errno));
    return ok();
}

int probe_mkdir(const char *path) {
    if (mkdir(path, 0700) != 0) return refused(errno);
    if (rmdir(path) != 0) detail("cleanup=rmdir:%s", probe_errno_name(errno));
    return ok();
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int probe_list(const char *path) {
    DIR *d = opendir(path);
    if (!d) return refused(errno);
    size_t count = 0, capacity = 16;
    char **names = malloc(capacity * sizeof *names);
    struct dirent *e;
    errno = 0;
    while (names && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (count == capacity) {
            capacity *= 2;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    if (!names) return refused(ENOMEM);
    qsort(names, count, sizeof *names, compare_strings);
    fputs("detail=", stdout);
    for (size_t i = 0; i < count; i++) {
        printf("%s%s", i ? "," : "", names[i] ? names[i] : "?");
        free(names[i]);
    }
    putchar('\n');
    free(names);
    return ok();
}

int probe_chown(const char *path, const char *uid_text, const char *gid_text) {
    long uid, gid;
    if (parse_long(uid_text, -1, UINT_MAX, &uid) || parse_long(gid_text, -1, UINT_MAX, &gid)) {
        return usage("chown PATH UID GID");
    }
    if (chown(path, (uid_t)uid, (gid_t)gid) != 0) return refused(errno);
    return ok();
}

int probe_mount_tmpfs(const char *dir) {
    if (mount("tmpfs", dir, "tmpfs", 0, NULL) != 0) return refused(errno);
    if (umount2(dir, MNT_DETACH) != 0) detail("cleanup=umount:%s", probe_errno_name(errno));
    return ok();
}

int probe_mknod(const char *path) {
    if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) != 0) return refused(errno);
    if (unlink(path) != 0) detail("cleanup=unlink:%s", probe_errno_name(errno));
    return ok();
}
