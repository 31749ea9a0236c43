/// Everything a sandboxed process gets (SPEC §2), as a value: built by the CLI or the daemon,
/// turned into syscalls by the Linux layer.
public struct SandboxSpec: Sendable {
    /// argv; `command[0]` is looked up in the sandbox's PATH unless it contains a slash.
    public var command: [String]
    public var environment: [String: String]
    public var user: UserSpec
    public var hostname: String?
    public var workdir: String
    /// Runs without a user namespace, as the host's own uid (SPEC §10's explicit opt-out):
    /// uid 0 inside is then real root. Otherwise every sandbox has a user namespace whose only
    /// ids are its user's, and uid/gid 0 inside map onto `rootMapsTo`.
    public var hostRoot: Bool
    /// The unprivileged host uid and gid that root (uid/gid 0) inside maps onto: the job's own
    /// (SPEC §10), or one of the run's for `drover run`.
    public var rootMapsTo: HostIdentity?
    /// Bound read-write at the same path (the host's / is read-only inside).
    public var stateDirectory: String?
    /// Host paths the sandbox may write besides /tmp, /var/tmp and the state directory.
    public var writablePaths: [String]
    /// Host paths shown read-only at the same path even under a hidden one (the replica's
    /// lameduck notice directory).
    public var readOnlyPaths: [String]
    /// Host directories that are not there inside (an empty directory over them): droverd's
    /// state root and run directory. `stateDirectory`, `writablePaths` and `readOnlyPaths`
    /// under them reappear at their own paths.
    public var hiddenPaths: [String]
    /// The only ports it may bind (its allocated ports, its job's service port); nil: any.
    public var bindablePorts: [Int]?
    /// `.none`: a network namespace of its own with loopback only (SPEC §10).
    public var network: NetworkMode = .host
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
                hostname: String? = nil, workdir: String = "/", hostRoot: Bool = false,
                rootMapsTo: HostIdentity? = nil, stateDirectory: String? = nil, writablePaths: [String] = [],
                readOnlyPaths: [String] = [], hiddenPaths: [String] = [], tmpSize: UInt64? = nil,
                capabilities: CapabilityPlan = CapabilityPlan(), limits: ResourceLimits = ResourceLimits(),
                strictLimits: Bool = false, seccomp: SeccompPolicy? = .default, dieWithParent: Bool = false) {
        self.command = command
        self.environment = environment
        self.user = user
        self.hostname = hostname
        self.workdir = workdir
        self.hostRoot = hostRoot
        self.rootMapsTo = rootMapsTo
        self.stateDirectory = stateDirectory
        self.writablePaths = writablePaths
        self.readOnlyPaths = readOnlyPaths
        self.hiddenPaths = hiddenPaths
        self.bindablePorts = nil
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

/// `network:` (SPEC §10): the host's network (allocated ports), or none but its own loopback.
public enum NetworkMode: String, Codable, Equatable, Hashable, Sendable, CaseIterable {
    case host
    case none
}

/// A host uid and gid (SPEC §10: never 0 for a namespaced sandbox's root).
public struct HostIdentity: Equatable, Hashable, Sendable, Codable {
    public var uid: UInt32
    public var gid: UInt32
    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
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
        if parts[0].allSatisfy(\.isNumber) {
            let uid = try checkedID(parts[0], in: text, hint: hint)
            if parts.count == 1 { return .id(uid: uid, gid: nil) }
            return .id(uid: uid, gid: try checkedID(parts[1], in: text, hint: hint))
        }
        guard parts.count == 1, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw InputError("\"\(text)\"", hint)
        }
        return .name(String(parts[0]))
    }

    /// uid/gid values no sandbox may run as: (uid_t)-1 means "unchanged" to setresuid (the
    /// process would stay root), and 65535 is (uint16_t)-1, the same on 16-bit interfaces.
    public static let reservedIDs: Set<UInt32> = [4_294_967_295, 65_535]

    private static func checkedID(_ digits: Substring, in text: String, hint: String) throws(InputError) -> UInt32 {
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let id = UInt32(digits) else {
            throw InputError("\"\(text)\"", digits.isEmpty || !digits.allSatisfy(\.isNumber) ? hint : "is out of range: a uid or gid is at most 4294967294")
        }
        guard !reservedIDs.contains(id) else {
            throw InputError("\"\(text)\"", "uses \(id), which is reserved ((uid_t)-1 and (uint16_t)-1 mean \"no change\" to the kernel): choose another uid or gid")
        }
        return id
    }

    public var description: String {
        switch self {
        case .name(let name): return name
        case .id(let uid, let gid?): return "\(uid):\(gid)"
        case .id(let uid, nil): return "\(uid)"
        }
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
