/// Linux capabilities by name (capabilities(7)). A sandbox holds none unless named.
public struct Capability: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let number: Int

    public init?(number: Int) {
        guard Capability.names.indices.contains(number) else { return nil }
        self.number = number
    }

    /// Accepts `NET_BIND_SERVICE`, `CAP_NET_BIND_SERVICE`, any case.
    public static func named(_ text: String) throws(InputError) -> Capability {
        var name = text.uppercased()
        if name.hasPrefix("CAP_") { name.removeFirst(4) }
        guard let number = names.firstIndex(of: name) else {
            throw InputError(InputError.quoted(text), "is not a Linux capability (e.g. NET_BIND_SERVICE, SYS_PTRACE; see capabilities(7))")
        }
        return Capability(number: number)!
    }

    public var name: String { Capability.names[number] }
    public var description: String { "CAP_\(name)" }
    public static func < (a: Capability, b: Capability) -> Bool { a.number < b.number }

    /// In kernel order: the index is the capability number.
    static let names = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
        "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
        "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
        "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
        "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
        "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    ]
}

/// The capability sets a sandboxed process ends up with: the same mask in the bounding,
/// permitted, effective, inheritable and ambient sets, so that it survives the execve of an
/// ordinary (non-root, no file caps) program and nothing else can ever be gained.
public struct CapabilityPlan: Equatable, Sendable {
    public var kept: Set<Capability>

    public init(kept: Set<Capability> = []) { self.kept = kept }

    public var mask: UInt64 {
        kept.reduce(0) { $0 | (UInt64(1) << UInt64($1.number)) }
    }

    /// The /proc/<pid>/status rendering of `mask` (CapEff: 0000000000000400).
    public var statusHex: String {
        let hex = String(mask, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
