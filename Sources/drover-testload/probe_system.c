// Probes of host-wide settings: hostname, clock, io_uring (contract: probe.c).
#include "probe.h"

// --- system-wide settings -----------------------------------------------------------------

// Sets NAME, then puts the previous name back.
int probe_sethostname(const char *name) {
    char previous[HOST_NAME_MAX + 1] = "";
    if (gethostname(previous, sizeof previous) != 0) return refused(errno);
    previous[HOST_NAME_MAX] = 0;
    if (sethostname(name, strlen(name)) != 0) return refused(errno);
    if (sethostname(previous, strlen(previous)) != 0) detail("cleanup=sethostname:%s", probe_errno_name(errno));
    return ok();
}

// Sets the clock to what it reads, plus the time spent between reading and setting (taken
// from the monotonic clock), so the wall clock steps by well under a microsecond.
int probe_settime(void) {
    struct timespec real, mono_before, mono_after;
    if (clock_gettime(CLOCK_REALTIME, &real) != 0 || clock_gettime(CLOCK_MONOTONIC, &mono_before) != 0) {
        return refused(errno);
    }
    clock_gettime(CLOCK_MONOTONIC, &mono_after);
    long long ns = (long long)real.tv_nsec + (mono_after.tv_sec - mono_before.tv_sec) * 1000000000LL +
                   (mono_after.tv_nsec - mono_before.tv_nsec);
    real.tv_sec += ns / 1000000000LL;
    real.tv_nsec = ns % 1000000000LL;
    if (clock_settime(CLOCK_REALTIME, &real) != 0) return refused(errno);
    return ok();
}

// io_uring_setup(1, params): 120 bytes of params, zeroed (struct io_uring_params).
int probe_io_uring(void) {
    unsigned long long params[15];
    memset(params, 0, sizeof params);
    _Static_assert(sizeof params == 120, "struct io_uring_params is 120 bytes");
    int fd = (int)syscall(__NR_io_uring_setup, 1, params);
    if (fd < 0) return refused(errno);
    close(fd);
    return ok();
}
