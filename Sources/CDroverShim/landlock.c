#include "shim_private.h"

// Landlock scoping (kernel 6.12+, ABI 6): no connecting to abstract Unix sockets and no
// signals outside the sandbox's own processes. Abstract sockets belong to the network
// namespace, so with the host network this is the only thing keeping a replica from the
// host's (and other replicas') abstract sockets. Older kernels: nothing to do (SPEC §10 says
// so in README).
#define LANDLOCK_CREATE_RULESET_VERSION_FLAG 1U
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET_BIT 1ULL
#define LANDLOCK_SCOPE_SIGNAL_BIT 2ULL
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_restrict_self 446
#endif
struct drover_landlock_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

int landlock_scope(void) {
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION_FLAG);
    if (abi < 6) return 0;
    struct drover_landlock_ruleset_attr attr = {
        .scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET_BIT | LANDLOCK_SCOPE_SIGNAL_BIT,
    };
    int fd = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (fd < 0) return -1;
    int result = (int)syscall(__NR_landlock_restrict_self, fd, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}
