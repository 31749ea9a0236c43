// Network probes (contract: probe.c).
#include "probe.h"

// --- network ------------------------------------------------------------------------------

int probe_bind(const char *port_text, int family) {
    long port;
    if (parse_long(port_text, 0, 65535, &port)) return usage(family == AF_INET ? "bind PORT" : "bind6 PORT");
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return refused(errno);
    int off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof off);
    struct sockaddr_storage address = {0};
    socklen_t length;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&address;
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        length = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&address;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        in6->sin6_addr = in6addr_loopback;
        length = sizeof *in6;
    }
    int r = bind(fd, (struct sockaddr *)&address, length);
    if (r == 0) r = listen(fd, 1);
    int e = errno;
    close(fd);
    return r == 0 ? ok() : refused(e);
}

int connect_unix(const char *name, int abstract) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    // A path needs room for its NUL, an abstract name for its leading one.
    if (n > sizeof address.sun_path - 1) {
        return usage(abstract ? "connect-abstract NAME (at most 107 bytes)" : "connect-unix PATH (at most 107 bytes)");
    }
    memcpy(address.sun_path + (abstract ? 1 : 0), name, n);
    socklen_t length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (abstract ? 1 + n : n + 1));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return refused(errno);
    int r;
    do r = connect(fd, (struct sockaddr *)&address, length); while (r != 0 && errno == EINTR);
    int e = errno;
    close(fd);
    return r == 0 ? ok() : refused(e);
}

int probe_connect_tcp(const char *host, const char *port_text) {
    long port;
    if (parse_long(port_text, 1, 65535, &port)) return usage("connect-tcp HOST PORT");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *found;
        int g = getaddrinfo(host, NULL, &hints, &found);
        if (g != 0) {
            detail("getaddrinfo=%s", gai_strerror(g));
            return report_text("EHOSTNAME", 1);
        }
        address.sin_addr = ((struct sockaddr_in *)found->ai_addr)->sin_addr;
        freeaddrinfo(found);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return refused(errno);
    int e = 0;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        e = errno;
        if (e == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int r;
            do r = poll(&p, 1, 2000); while (r < 0 && errno == EINTR);
            if (r < 0) e = errno;
            else if (r == 0) e = ETIMEDOUT;
            else {
                socklen_t length = sizeof e;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &length) != 0) e = errno;
            }
        }
    }
    close(fd);
    return report_errno(e);
}

// UDP connect sends nothing: it only looks the destination up in the routing table.
int probe_route_out(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return refused(errno);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "192.0.2.1", &address.sin_addr); // TEST-NET-1
    int r = connect(fd, (struct sockaddr *)&address, sizeof address);
    int e = errno;
    close(fd);
    return r == 0 ? ok() : refused(e);
}
