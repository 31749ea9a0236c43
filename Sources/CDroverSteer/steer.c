#include "drover_steer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int bpf_call(int cmd, union bpf_attr *attr) {
    long result = syscall(SYS_bpf, cmd, attr, sizeof *attr);
    return result < 0 ? -errno : (int)result;
}

// struct bpf_sk_lookup field offsets (linux/bpf.h, stable uapi).
enum {
    CTX_FAMILY = 8,
    CTX_PROTOCOL = 12,
    CTX_LOCAL_IP4 = 40,
    CTX_LOCAL_PORT = 60,
};

// A tiny assembler: instructions, with forward jumps to two kinds of label patched at the end.
#define MAX_INSNS 160
struct program {
    struct bpf_insn insn[MAX_INSNS];
    int count;
    int to_pass[16];  // jumps to the final "SK_PASS, no socket chosen" (or chosen: same exit)
    int passes;
    int to_next[8];   // jumps to the next attempt
    int nexts;
};

static void emit(struct program *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    if (p->count < MAX_INSNS) {
        p->insn[p->count] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
    }
    p->count++;
}

static void jump_to_pass(struct program *p, uint8_t code, uint8_t dst, int32_t imm) {
    if (p->passes < 16) p->to_pass[p->passes++] = p->count;
    emit(p, code, dst, 0, 0, imm);
}

static void jump_to_next(struct program *p, uint8_t code, uint8_t dst, int32_t imm) {
    if (p->nexts < 8) p->to_next[p->nexts++] = p->count;
    emit(p, code, dst, 0, 0, imm);
}

static void patch(struct program *p, int *sites, int *n) {
    for (int i = 0; i < *n; i++) p->insn[sites[i]].off = (int16_t)(p->count - sites[i] - 1);
    *n = 0;
}

static void load_map(struct program *p, uint8_t dst, int map_fd) {
    emit(p, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, map_fd);
    emit(p, 0, 0, 0, 0, 0);
}

// r0 = map_lookup_elem(map, &u32 key at r10+stack_off)
static void lookup(struct program *p, int map_fd, int16_t stack_off) {
    load_map(p, BPF_REG_1, map_fd);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
    emit(p, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, stack_off);
    emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
}

// Registers: r6 context, r7 config[1] (next, steered), r8 count, r9 this connection's start slot.
static void assemble(struct program *p, uint32_t address_be, uint16_t port, int config_fd, int socks_fd) {
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
    // Only TCP over IPv4 to the service's address and port.
    emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6, CTX_PROTOCOL, 0);
    jump_to_pass(p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, IPPROTO_TCP);
    emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6, CTX_FAMILY, 0);
    jump_to_pass(p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, AF_INET);
    emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6, CTX_LOCAL_PORT, 0);
    jump_to_pass(p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, port);
    if (address_be != 0) {
        emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6, CTX_LOCAL_IP4, 0);
        jump_to_pass(p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, (int32_t)address_be);
    }
    // count = config[0].count; none: the normal lookup (droverd's listener).
    emit(p, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0);
    lookup(p, config_fd, -4);
    jump_to_pass(p, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0);
    emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_8, BPF_REG_0, 0, 0);
    jump_to_pass(p, BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_8, 0);
    // start = config[1].next++ (a lost increment under a race only skews the rotation).
    emit(p, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 1);
    lookup(p, config_fd, -4);
    jump_to_pass(p, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0);
    emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_9, BPF_REG_7, 0, 0);
    emit(p, BPF_ALU | BPF_ADD | BPF_K, BPF_REG_9, 0, 0, 1);
    emit(p, BPF_STX | BPF_W | BPF_MEM, BPF_REG_7, BPF_REG_9, 0, 0);
    for (int attempt = 0; attempt < DROVER_STEER_ATTEMPTS; attempt++) {
        // slot = (start + attempt) % count
        emit(p, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_9, 0, 0);
        emit(p, BPF_ALU | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, attempt);
        emit(p, BPF_ALU | BPF_MOD | BPF_X, BPF_REG_1, BPF_REG_8, 0, 0);
        emit(p, BPF_STX | BPF_W | BPF_MEM, BPF_REG_10, BPF_REG_1, -8, 0);
        lookup(p, socks_fd, -8);
        // An empty slot (its socket closed: the replica died) is skipped.
        jump_to_next(p, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0);
        emit(p, BPF_STX | BPF_DW | BPF_MEM, BPF_REG_10, BPF_REG_0, -16, 0);
        emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0);
        emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_0, 0, 0);
        emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0);
        emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_assign);
        emit(p, BPF_STX | BPF_DW | BPF_MEM, BPF_REG_10, BPF_REG_0, -24, 0);
        emit(p, BPF_LDX | BPF_DW | BPF_MEM, BPF_REG_1, BPF_REG_10, -16, 0);
        emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_release);
        emit(p, BPF_LDX | BPF_DW | BPF_MEM, BPF_REG_0, BPF_REG_10, -24, 0);
        // The socket refused (say, an IPv6-only one): the next slot.
        jump_to_next(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0);
        emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1);
        emit(p, BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_7, BPF_REG_1, 8, BPF_ADD);
        jump_to_pass(p, BPF_JMP | BPF_JA, 0, 0);
        patch(p, p->to_next, &p->nexts);
    }
    patch(p, p->to_pass, &p->passes);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_PASS);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int create_map(uint32_t type, uint32_t value_size, uint32_t entries) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = type;
    attr.key_size = 4;
    attr.value_size = value_size;
    attr.max_entries = entries;
    return bpf_call(BPF_MAP_CREATE, &attr);
}

// The link pinned at `pin`, its program replaced by `prog`; or a new link, pinned there if
// possible. The link's descriptor, or -errno.
static int link_program(int prog, int netns, const char *pin, int *pinned) {
    union bpf_attr attr;
    *pinned = 0;
    if (pin) {
        memset(&attr, 0, sizeof attr);
        attr.pathname = (uint64_t)(uintptr_t)pin;
        attr.file_flags = 0;
        int old = bpf_call(BPF_OBJ_GET, &attr);
        if (old >= 0) {
            memset(&attr, 0, sizeof attr);
            attr.link_update.link_fd = (uint32_t)old;
            attr.link_update.new_prog_fd = (uint32_t)prog;
            if (bpf_call(BPF_LINK_UPDATE, &attr) == 0) {
                *pinned = 1;
                return old;
            }
            // Not a link of ours any more (or of another kind): replace the pin.
            close(old);
            unlink(pin);
        }
    }
    memset(&attr, 0, sizeof attr);
    attr.link_create.prog_fd = (uint32_t)prog;
    attr.link_create.target_fd = (uint32_t)netns;
    attr.link_create.attach_type = BPF_SK_LOOKUP;
    int link = bpf_call(BPF_LINK_CREATE, &attr);
    if (link < 0 || !pin) return link;
    memset(&attr, 0, sizeof attr);
    attr.pathname = (uint64_t)(uintptr_t)pin;
    attr.bpf_fd = (uint32_t)link;
    *pinned = bpf_call(BPF_OBJ_PIN, &attr) == 0;
    return link;
}

int drover_steer_attach(uint32_t address_be, uint16_t port, uint32_t capacity, const char *pin,
                        int *pinned, struct drover_steer *out, char *log, size_t log_size) {
    out->link_fd = out->config_fd = out->socks_fd = -1;
    *pinned = 0;
    if (log && log_size) log[0] = 0;
    int config = create_map(BPF_MAP_TYPE_ARRAY, 16, 2);
    if (config < 0) return config;
    int socks = create_map(BPF_MAP_TYPE_SOCKMAP, 8, capacity);
    if (socks < 0) { close(config); return socks; }
    struct program program;
    memset(&program, 0, sizeof program);
    assemble(&program, address_be, port, config, socks);
    if (program.count > MAX_INSNS) { close(config); close(socks); return -E2BIG; }
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
    attr.expected_attach_type = BPF_SK_LOOKUP;
    attr.insns = (uint64_t)(uintptr_t)program.insn;
    attr.insn_cnt = (uint32_t)program.count;
    // sk_assign and sk_release are available to GPL-compatible programs only.
    attr.license = (uint64_t)(uintptr_t)"Dual MIT/GPL";
    memcpy(attr.prog_name, "drover_steer", sizeof "drover_steer");
    if (log && log_size > 1) {
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = (uint32_t)log_size;
        attr.log_level = 1;
    }
    int prog = bpf_call(BPF_PROG_LOAD, &attr);
    if (prog < 0 && prog != -EPERM && log && log_size > 1) {
        // Retry without the log: a too small log buffer alone fails the load (ENOSPC).
        attr.log_buf = 0; attr.log_size = 0; attr.log_level = 0;
        int again = bpf_call(BPF_PROG_LOAD, &attr);
        if (again >= 0) prog = again;
    }
    if (prog < 0) { close(config); close(socks); return prog; }
    int netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (netns < 0) { int e = -errno; close(prog); close(config); close(socks); return e; }
    int link = link_program(prog, netns, pin, pinned);
    close(netns);
    close(prog); // the link holds the program
    if (link < 0) { close(config); close(socks); return link; }
    out->link_fd = link;
    out->config_fd = config;
    out->socks_fd = socks;
    return 0;
}

void drover_steer_detach(struct drover_steer *steer) {
    if (steer->link_fd >= 0) close(steer->link_fd);
    if (steer->config_fd >= 0) close(steer->config_fd);
    if (steer->socks_fd >= 0) close(steer->socks_fd);
    steer->link_fd = steer->config_fd = steer->socks_fd = -1;
}

static int update(int map, uint32_t key, const void *value) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)map;
    attr.key = (uint64_t)(uintptr_t)&key;
    attr.value = (uint64_t)(uintptr_t)value;
    attr.flags = BPF_ANY;
    return bpf_call(BPF_MAP_UPDATE_ELEM, &attr);
}

static int lookup_value(int map, uint32_t key, void *value) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)map;
    attr.key = (uint64_t)(uintptr_t)&key;
    attr.value = (uint64_t)(uintptr_t)value;
    return bpf_call(BPF_MAP_LOOKUP_ELEM, &attr);
}

int drover_steer_put(const struct drover_steer *steer, uint32_t slot, int socket_fd) {
    uint64_t value = (uint64_t)socket_fd;
    return update(steer->socks_fd, slot, &value);
}

int drover_steer_clear(const struct drover_steer *steer, uint32_t slot) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)steer->socks_fd;
    attr.key = (uint64_t)(uintptr_t)&slot;
    int result = bpf_call(BPF_MAP_DELETE_ELEM, &attr);
    return result == -ENOENT ? 0 : result;
}

int drover_steer_occupied(const struct drover_steer *steer, uint32_t slot) {
    uint64_t cookie = 0;
    int result = lookup_value(steer->socks_fd, slot, &cookie);
    if (result == -ENOENT) return 0;
    return result < 0 ? result : 1;
}

int drover_steer_set_count(const struct drover_steer *steer, uint32_t count) {
    uint32_t value[4] = { count, 0, 0, 0 };
    return update(steer->config_fd, 0, value);
}

int64_t drover_steer_steered(const struct drover_steer *steer) {
    uint64_t value[2] = { 0, 0 };
    int result = lookup_value(steer->config_fd, 1, value);
    return result < 0 ? result : (int64_t)value[1];
}

int drover_steer_copy_fd(int pid, int fd) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) return -errno;
    int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    int e = errno;
    close(pidfd);
    return copy < 0 ? -e : copy;
}

int drover_steer_count_loaded(void) {
    int count = 0;
    uint32_t id = 0;
    for (;;) {
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.start_id = id;
        int result = bpf_call(BPF_PROG_GET_NEXT_ID, &attr);
        if (result == -ENOENT) return count;
        if (result < 0) return result;
        id = attr.next_id;
        memset(&attr, 0, sizeof attr);
        attr.prog_id = id;
        int fd = bpf_call(BPF_PROG_GET_FD_BY_ID, &attr);
        if (fd < 0) continue; // unloaded meanwhile
        struct bpf_prog_info info;
        memset(&info, 0, sizeof info);
        memset(&attr, 0, sizeof attr);
        attr.info.bpf_fd = (uint32_t)fd;
        attr.info.info_len = sizeof info;
        attr.info.info = (uint64_t)(uintptr_t)&info;
        if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0 && !strcmp(info.name, "drover_steer")) count++;
        close(fd);
    }
}

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define BPF_FS_MAGIC_NUMBER 0xCAFE4A11

int drover_steer_is_pin_fs(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 && (unsigned long)info.f_type == BPF_FS_MAGIC_NUMBER;
}

int drover_steer_mount_pins(const char *path) {
    if (mkdir(path, 0700) < 0 && errno != EEXIST) return -errno;
    if (drover_steer_is_pin_fs(path)) return 0;
    if (mount("bpf", path, "bpf", 0, "mode=0700") < 0) return -errno;
    return 0;
}
