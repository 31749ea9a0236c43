// The port guard (SPEC §10 "Ports"): a replica binds only its own ports. Two BPF programs
// (cgroup/bind4 and cgroup/bind6, systemd's SocketBindAllow= idea) are loaded once per
// process and attached to each sandbox's leaf cgroup; they look the binding process's cgroup
// up in a hash map (cgroup id -> allowed ports) and refuse any other port with EACCES. A
// cgroup not in the map is not governed. Port 0 (the kernel picks an ephemeral port) is always
// allowed. Raw bpf(2), assembled here like CDroverSteer's program: no libbpf.
#include "drover_shim.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int bpf_call(int cmd, union bpf_attr *attr) {
    long result = syscall(SYS_bpf, cmd, attr, sizeof *attr);
    return result < 0 ? -errno : (int)result;
}

// struct bpf_sock_addr: user_port (network byte order in its low 16 bits).
#define CTX_USER_PORT 24
#define GUARD_INSNS (24 + 2 * DROVER_PORT_GUARD_MAX)

struct assembler {
    struct bpf_insn insn[GUARD_INSNS];
    int count;
    int to_allow[DROVER_PORT_GUARD_MAX + 4];
    int allows;
};

static void emit(struct assembler *a, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    if (a->count < GUARD_INSNS) a->insn[a->count] = (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
    a->count++;
}

static void jump_to_allow(struct assembler *a, uint8_t code, uint8_t dst, uint8_t src, int32_t imm) {
    a->to_allow[a->allows++] = a->count;
    emit(a, code, dst, src, 0, imm);
}

static int load(int map_fd, enum bpf_attach_type type, char *log, size_t log_size) {
    struct assembler a;
    memset(&a, 0, sizeof a);
    // key = bpf_get_current_cgroup_id() at r10-8; r0 = map[key]
    emit(&a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
    emit(&a, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_current_cgroup_id);
    emit(&a, BPF_STX | BPF_DW | BPF_MEM, BPF_REG_10, BPF_REG_0, -8, 0);
    emit(&a, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd);
    emit(&a, 0, 0, 0, 0, 0);
    emit(&a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
    emit(&a, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8);
    emit(&a, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
    jump_to_allow(&a, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0);         // not governed
    emit(&a, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6, CTX_USER_PORT, 0);
    jump_to_allow(&a, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_2, 0, 0);         // port 0: ephemeral
    for (int i = 0; i < DROVER_PORT_GUARD_MAX; i++) {
        emit(&a, BPF_LDX | BPF_H | BPF_MEM, BPF_REG_3, BPF_REG_0, (int16_t)(2 * i), 0);
        jump_to_allow(&a, BPF_JMP | BPF_JEQ | BPF_X, BPF_REG_2, BPF_REG_3, 0);
    }
    // Refused: EACCES, as binding a privileged port without the capability reads.
    emit(&a, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, -EACCES);
    emit(&a, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_set_retval);
    emit(&a, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
    emit(&a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (int i = 0; i < a.allows; i++) a.insn[a.to_allow[i]].off = (int16_t)(a.count - a.to_allow[i] - 1);
    emit(&a, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
    emit(&a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    if (a.count > GUARD_INSNS) return -E2BIG;

    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
    attr.expected_attach_type = type;
    attr.insns = (uint64_t)(uintptr_t)a.insn;
    attr.insn_cnt = (uint32_t)a.count;
    attr.license = (uint64_t)(uintptr_t)"GPL";
    memcpy(attr.prog_name, "drover_ports", sizeof "drover_ports");
    int result = bpf_call(BPF_PROG_LOAD, &attr);
    if (result < 0 && log && log_size) {
        // Again with the verifier's log, for the message (a log asked for on success can
        // overflow the buffer and fail the load with ENOSPC).
        log[0] = 0;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = (uint32_t)log_size;
        attr.log_level = 1;
        int again = bpf_call(BPF_PROG_LOAD, &attr);
        if (again >= 0) return again;
    }
    return result;
}

int drover_port_guard_load(struct drover_port_guard *guard, uint32_t capacity, char *log, size_t log_size) {
    guard->map_fd = guard->bind4_fd = guard->bind6_fd = -1;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_HASH;
    attr.key_size = sizeof(uint64_t);
    attr.value_size = sizeof(uint16_t) * DROVER_PORT_GUARD_MAX;
    // Sized for the caller (one for `drover run`), entries allocated as they come: a table for
    // 65536 sandboxes costs milliseconds that every `drover run` would pay.
    attr.max_entries = capacity ? capacity : 1;
    attr.map_flags = BPF_F_NO_PREALLOC;
    memcpy(attr.map_name, "drover_ports", sizeof "drover_ports");
    int result = bpf_call(BPF_MAP_CREATE, &attr);
    if (result < 0) return result;
    guard->map_fd = result;
    result = load(guard->map_fd, BPF_CGROUP_INET4_BIND, log, log_size);
    if (result >= 0) {
        guard->bind4_fd = result;
        result = load(guard->map_fd, BPF_CGROUP_INET6_BIND, log, log_size);
        if (result >= 0) guard->bind6_fd = result;
    }
    if (result < 0) drover_port_guard_close(guard);
    return result < 0 ? result : 0;
}

void drover_port_guard_close(struct drover_port_guard *guard) {
    if (guard->bind4_fd >= 0) close(guard->bind4_fd);
    if (guard->bind6_fd >= 0) close(guard->bind6_fd);
    if (guard->map_fd >= 0) close(guard->map_fd);
    guard->map_fd = guard->bind4_fd = guard->bind6_fd = -1;
}

int drover_port_guard_allow(const struct drover_port_guard *guard, int cgroup_fd, uint64_t cgroup_id,
                            const uint16_t *ports, size_t count) {
    if (count > DROVER_PORT_GUARD_MAX) return -E2BIG;
    uint16_t value[DROVER_PORT_GUARD_MAX];
    memset(value, 0, sizeof value);
    for (size_t i = 0; i < count; i++) value[i] = (uint16_t)((ports[i] >> 8) | (ports[i] << 8)); // htons
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)guard->map_fd;
    attr.key = (uint64_t)(uintptr_t)&cgroup_id;
    attr.value = (uint64_t)(uintptr_t)value;
    attr.flags = BPF_ANY;
    int result = bpf_call(BPF_MAP_UPDATE_ELEM, &attr);
    if (result < 0) return result;
    // Attached to the leaf, the programs live as long as it does (no descriptor to keep).
    int programs[2] = {guard->bind4_fd, guard->bind6_fd};
    enum bpf_attach_type types[2] = {BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET6_BIND};
    for (int i = 0; i < 2; i++) {
        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)programs[i];
        attr.attach_type = types[i];
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        result = bpf_call(BPF_PROG_ATTACH, &attr);
        if (result < 0) return result;
    }
    return 0;
}

int drover_port_guard_forget(const struct drover_port_guard *guard, uint64_t cgroup_id) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)guard->map_fd;
    attr.key = (uint64_t)(uintptr_t)&cgroup_id;
    int result = bpf_call(BPF_MAP_DELETE_ELEM, &attr);
    return result == -ENOENT ? 0 : result;
}
