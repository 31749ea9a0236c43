import CDroverShim
import CSeccomp
import DroverCore
import Glibc

/// A seccomp policy compiled to a BPF program with libseccomp, in the parent, once: the child
/// only hands the finished `sock_fprog` to seccomp(2).
public final class SeccompFilter: @unchecked Sendable {
    private let instructions: UnsafeMutableBufferPointer<sock_filter>
    let program: UnsafeMutablePointer<sock_fprog>

    public var instructionCount: Int { instructions.count }

    public init(_ policy: SeccompPolicy) throws(SystemError) {
        guard let context = seccomp_init(UInt32(SCMP_ACT_ALLOW)) else { throw SystemError("seccomp_init", errno: ENOMEM) }
        defer { seccomp_release(context) }
        for rule in policy.rules {
            let number = seccomp_syscall_resolve_name(rule.syscall)
            if number == __NR_SCMP_ERROR { continue } // not a syscall on this architecture
            let action: UInt32
            switch rule.action {
            case .errno(let code): action = 0x0005_0000 | (UInt32(code) & 0xffff) // SCMP_ACT_ERRNO(code)
            }
            if let mask = rule.whenFirstArgumentHasAnyOf {
                // libseccomp has no "masked not-equal": one rule per bit, (arg0 & bit) == bit.
                for bit in 0..<64 where mask & (UInt64(1) << UInt64(bit)) != 0 {
                    var comparison = scmp_arg_cmp(arg: 0, op: SCMP_CMP_MASKED_EQ,
                                                  datum_a: UInt64(1) << UInt64(bit), datum_b: UInt64(1) << UInt64(bit))
                    let result = seccomp_rule_add_array(context, action, number, 1, &comparison)
                    if result < 0 { throw SystemError("seccomp_rule_add", rule.syscall, errno: -result) }
                }
            } else {
                let result = seccomp_rule_add_array(context, action, number, 0, nil)
                if result < 0 { throw SystemError("seccomp_rule_add", rule.syscall, errno: -result) }
            }
        }
        let memfd = drover_memfd_create("drover-seccomp")
        if memfd < 0 { throw SystemError("memfd_create", errno: -memfd) }
        defer { close(memfd) }
        let exported = seccomp_export_bpf(context, memfd)
        if exported < 0 { throw SystemError("seccomp_export_bpf", errno: -exported) }
        let size = Int(lseek(memfd, 0, SEEK_END))
        _ = lseek(memfd, 0, SEEK_SET)
        let count = size / MemoryLayout<sock_filter>.stride
        instructions = .allocate(capacity: count)
        let read = Glibc.read(memfd, instructions.baseAddress, size)
        if read != size {
            instructions.deallocate()
            throw SystemError("read", "exported seccomp program", errno: EIO)
        }
        program = .allocate(capacity: 1)
        program.initialize(to: sock_fprog(len: UInt16(count), filter: instructions.baseAddress))
    }

    deinit {
        instructions.deallocate()
        program.deallocate()
    }
}
