/// Everything a sandboxed process gets (SPEC §2), as a value: built by the CLI or the daemon,
/// turned into syscalls by the Linux layer.
public struct SandboxSpec: Sendable {
    /// argv; `command[0]` is looked up in the sandbox's PATH unless it contains a slash.
    public var command: [String]
    public var environment: [String: String]
    public var user: UserSpec
    public var hostname: String?
    public var workdir: String
    /// Host / read-only inside, except /tmp, /dev/shm, /proc and the state directory.
    public var readOnlyRoot: Bool
    /// Bound read-write at the same path.
    public var stateDirectory: String?
    /// Size of the private /tmp tmpfs; nil is the kernel default (half of RAM).
    public var tmpSize: UInt64?
    public var capabilities: CapabilityPlan
    public var limits: ResourceLimits
    /// Refuse to start when a limit cannot be enforced, instead of warning.
    public var strictLimits: Bool
    public var seccomp: SeccompPolicy?
    /// Kill the sandbox when the process that launched it dies (`drover run`); never for a
    /// daemon's replicas, which must outlive it.
    public var dieWithParent: Bool

    public init(command: [String], environment: [String: String] = [:], user: UserSpec = .nobody,
                hostname: String? = nil, workdir: String = "/", readOnlyRoot: Bool = false,
                stateDirectory: String? = nil, tmpSize: UInt64? = nil,
                capabilities: CapabilityPlan = CapabilityPlan(), limits: ResourceLimits = ResourceLimits(),
                strictLimits: Bool = false, seccomp: SeccompPolicy? = .default, dieWithParent: Bool = false) {
        self.command = command
        self.environment = environment
        self.user = user
        self.hostname = hostname
        self.workdir = workdir
        self.readOnlyRoot = readOnlyRoot
        self.stateDirectory = stateDirectory
        self.tmpSize = tmpSize
        self.capabilities = capabilities
        self.limits = limits
        self.strictLimits = strictLimits
        self.seccomp = seccomp
        self.dieWithParent = dieWithParent
    }

    /// PATH when the caller gives none (the same as systemd's default).
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

/// `--user NAME|UID[:GID]`, `user:` in a job. Names are looked up by the Linux layer.
public enum UserSpec: Equatable, Sendable, CustomStringConvertible {
    case name(String)
    case id(uid: UInt32, gid: UInt32?)

    public static let nobody = UserSpec.name("nobody")

    public static func parse(_ text: String) throws(InputError) -> UserSpec {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let hint = "is not a user (expected a name such as nobody, a uid such as 1000, or uid:gid such as 1000:1000)"
        guard (1...2).contains(parts.count), !parts[0].isEmpty else { throw InputError("\"\(text)\"", hint) }
        if let uid = UInt32(parts[0]) {
            if parts.count == 1 { return .id(uid: uid, gid: nil) }
            guard let gid = UInt32(parts[1]) else { throw InputError("\"\(text)\"", hint) }
            return .id(uid: uid, gid: gid)
        }
        guard parts.count == 1, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw InputError("\"\(text)\"", hint)
        }
        return .name(String(parts[0]))
    }

    public var description: String {
        switch self {
        case .name(let name): return name
        case .id(let uid, let gid?): return "\(uid):\(gid)"
        case .id(let uid, nil): return "\(uid)"
        }
    }
}

/// The filesystem view, step by step, in the order the child performs them.
public enum MountStep: Equatable, Sendable {
    /// Stop mount events propagating to or from the host.
    case makeRootPrivate
    case readOnlyTree(String)
    case tmpfs(target: String, mode: String, size: UInt64?)
    case bindWritable(source: String, target: String)
    /// A fresh procfs for the new PID namespace.
    case proc

    public static func plan(for spec: SandboxSpec) -> [MountStep] {
        var steps: [MountStep] = [.makeRootPrivate]
        // Read-only first: everything mounted after it is a new, writable mount.
        if spec.readOnlyRoot { steps.append(.readOnlyTree("/")) }
        steps.append(.tmpfs(target: "/tmp", mode: "1777", size: spec.tmpSize))
        // POSIX shared memory lives in /dev/shm: private like /tmp, or the IPC namespace leaks.
        steps.append(.tmpfs(target: "/dev/shm", mode: "1777", size: nil))
        if let state = spec.stateDirectory { steps.append(.bindWritable(source: state, target: state)) }
        steps.append(.proc)
        return steps
    }
}

/// How a sandbox ended, as drover-init reports it.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// The shell's convention: the code, or 128 + signal.
    public var exitCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exit code \(code)"
        case .signaled(let signal): return "killed by signal \(Signals.name(signal))"
        }
    }
}
