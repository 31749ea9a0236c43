import CDroverShim
import Glibc

/// SPEC §10 "Ports": each sandbox may bind only the ports it was given (and port 0, for an
/// ephemeral one); any other bind fails with EACCES. Cgroup bind4/bind6 BPF programs, loaded
/// once and attached to each sandbox's leaf before anything runs in it (port_guard.c).
public final class PortGuard: @unchecked Sendable {
    private var guardFDs = drover_port_guard()

    /// Nil, with the reason, where the kernel cannot load the programs (no BPF, not root).
    /// `capacity`: how many sandboxes may be guarded at once.
    public static func load(capacity: Int) -> Result<PortGuard, SystemError> {
        let guardian = PortGuard()
        var log = [CChar](repeating: 0, count: 4096)
        let result = drover_port_guard_load(&guardian.guardFDs, UInt32(clamping: capacity), &log, log.count)
        if result < 0 {
            let verifier = String(cString: log)
            return .failure(SystemError("bpf(BPF_PROG_LOAD) cgroup/bind4", verifier.isEmpty ? nil : verifier, errno: -result))
        }
        return .success(guardian)
    }

    private init() {}

    deinit { drover_port_guard_close(&guardFDs) }

    /// From now on, processes in `leaf` may bind only `ports`.
    func allow(_ ports: [Int], in leaf: CgroupLeaf) throws(SystemError) {
        guard ports.count <= Int(DROVER_PORT_GUARD_MAX) else {
            throw SystemError("port guard", "\(ports.count) ports (at most \(DROVER_PORT_GUARD_MAX))", errno: E2BIG)
        }
        var info = stat()
        guard fstat(leaf.directoryFD, &info) == 0 else { throw SystemError("fstat", leaf.path) }
        let numbers = ports.map { UInt16(truncatingIfNeeded: $0) }
        let result = numbers.withUnsafeBufferPointer { buffer in
            withUnsafePointer(to: guardFDs) { drover_port_guard_allow($0, leaf.directoryFD, UInt64(info.st_ino), buffer.baseAddress, buffer.count) }
        }
        if result < 0 { throw SystemError("bpf(BPF_PROG_ATTACH) cgroup/bind4", leaf.path, errno: -result) }
    }

    /// Drops the entry of a leaf that is gone (its cgroup id: the directory's inode).
    func forget(cgroupID: UInt64) {
        withUnsafePointer(to: guardFDs) { _ = drover_port_guard_forget($0, cgroupID) } // an entry left behind only wastes a slot
    }
}
