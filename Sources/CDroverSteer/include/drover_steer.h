// Kernel steering for the service proxy: a BPF sk_lookup program attached to droverd's network
// namespace hands each new TCP connection to a service's address:port straight to one of the
// job's ready replicas' own listening sockets, so a steered connection is the replica's from
// its first packet, with no relay in between. The replicas' listening sockets sit in a
// SOCKMAP, slots 0..count-1 (the kernel drops a socket from it when the socket closes); the
// program tries up to DROVER_STEER_ATTEMPTS slots round robin and, when none takes the
// connection or count is 0, lets the normal lookup find droverd's own listener (the user-space
// relay). Raw bpf(2): no libbpf, the program is assembled in steer.c.
#ifndef DROVER_STEER_H
#define DROVER_STEER_H

#include <stddef.h>
#include <stdint.h>

#define DROVER_STEER_ATTEMPTS 4

struct drover_steer {
    int link_fd;   // closing it detaches the program
    int config_fd; // ARRAY[2] of 16-byte values: [0] = {u32 count}, [1] = {u32 next, u32 _, u64 steered}
    int socks_fd;  // SOCKMAP of `capacity` slots
};

// Loads the program for TCP connections to address:port (address in network byte order,
// 0 = any IPv4 address of this host) and attaches it to the calling thread's network
// namespace. With `pin` (a path in a bpf file system): when a link is pinned there (left by
// an earlier droverd), the new program replaces that link's program atomically (no
// connection sees neither); otherwise the new link is pinned there, so that it outlives this
// process: steering goes on while droverd is down. `*pinned` says whether a pin is in place.
// 0, or -errno (the verifier's log, if any, in `log`).
int drover_steer_attach(uint32_t address_be, uint16_t port, uint32_t capacity, const char *pin,
                        int *pinned, struct drover_steer *out, char *log, size_t log_size);

// Closes the three descriptors. Without a pin this detaches the program; a pinned link
// stays attached (with the maps as they are) until its pin is removed.
void drover_steer_detach(struct drover_steer *steer);

// Puts a listening socket (a descriptor of this process) in a slot. 0 or -errno.
int drover_steer_put(const struct drover_steer *steer, uint32_t slot, int socket_fd);

// Empties a slot. 0 (also when it was empty) or -errno.
int drover_steer_clear(const struct drover_steer *steer, uint32_t slot);

// 1 when the slot holds a socket, 0 when it is empty (the socket closed), -errno.
int drover_steer_occupied(const struct drover_steer *steer, uint32_t slot);

// How many slots the program picks from (0 turns steering off). 0 or -errno.
int drover_steer_set_count(const struct drover_steer *steer, uint32_t count);

// Connections steered since attach, or -errno.
int64_t drover_steer_steered(const struct drover_steer *steer);

// A copy, in this process, of descriptor `fd` of process `pid` (pidfd_getfd), close-on-exec.
// The descriptor, or -errno.
int drover_steer_copy_fd(int pid, int fd);

// A bpf file system at `path` (made if missing), for pins: 0 when one is mounted there now
// (already, or by this call), or -errno.
int drover_steer_mount_pins(const char *path);

// 1 when `path` is a bpf file system.
int drover_steer_is_pin_fs(const char *path);

// How many steering programs are loaded on this host (by name), or -errno: for leak checks.
int drover_steer_count_loaded(void);

#endif
