import CDroverShim
import DroverCore
import Glibc
import Synchronization

/// Starts sandboxes: resolves the user and the executable, creates and limits the cgroup leaf,
/// builds the child's plan completely, clones, and learns from the report pipe whether the
/// workload was exec'd. Everything reusable (drover-init's fd, the compiled seccomp program)
/// is prepared once, so a launch costs only the per-sandbox work.
public final class SandboxLauncher: @unchecked Sendable {
    public let initPath: String
    public let tree: CgroupTree?
    private let initFD: Int32
    private let defaultSeccomp: SeccompFilter
    private let lastCapability: Int32
    /// User namespaces by their maps: every replica of a job shares its job's (same ids), and
    /// creating one costs a clone, so each is made once.
    private let userNamespaces = Mutex<[String: Int32]>([:])
    /// Nil where the kernel cannot load it (a sandbox with `bindablePorts` then fails to start).
    private let portGuard: Result<PortGuard, SystemError>

    /// `initPath` is drover-init (see `defaultInitPath`); `tree` nil runs without a cgroup
    /// (only for hosts with no cgroup v2 at all: nothing could be limited, killed or counted).
    /// `capacity`: how many sandboxes of this launcher may run at once (sizes the port guard's
    /// table: `drover run` needs one, droverd many).
    public init(initPath: String = SandboxLauncher.defaultInitPath(), tree: CgroupTree?, capacity: Int = 65536) throws(LaunchError) {
        self.initPath = initPath
        self.tree = tree
        initFD = open(initPath, Int32(DROVER_O_PATH) | O_CLOEXEC)
        if initFD < 0 { throw .setup(SystemError("open", initPath)) }
        do { defaultSeccomp = try SeccompFilter(.default) } catch {
            close(initFD)
            throw .setup(error)
        }
        portGuard = tree == nil ? .failure(SystemError("port guard", "no cgroup v2", errno: ENOTSUP)) : PortGuard.load(capacity: capacity)
        let text = (try? Files.read("/proc/sys/kernel/cap_last_cap")) ?? "40"
        lastCapability = Int32(text.trimmingWhitespace()) ?? 40
    }

    deinit {
        close(initFD)
        userNamespaces.withLock { for fd in $0.values { close(fd) } }
    }

    /// The user namespace a sandbox of `user` enters (-1: none, `hostRoot`): its user's ids map
    /// onto themselves, and uid/gid 0 onto `rootMapsTo`, so that root inside is an
    /// unprivileged uid outside.
    func userNamespace(for spec: SandboxSpec, user: ResolvedUser) throws(LaunchError) -> Int32 {
        if spec.hostRoot { return -1 }
        func host(_ id: UInt32, _ root: UInt32?, _ what: String) throws(LaunchError) -> UInt32 {
            guard id == 0 else { return id }
            guard let root, root != 0 else {
                throw .input(InputError("user \(spec.user)", "runs as \(what) 0, which needs an unprivileged host \(what) to map onto (the job's own) or host_root"))
            }
            return root
        }
        let uidMap = "\(user.uid) \(try host(user.uid, spec.rootMapsTo?.uid, "uid")) 1\n"
        let gidMap = "\(user.gid) \(try host(user.gid, spec.rootMapsTo?.gid, "gid")) 1\n"
        let key = uidMap + gidMap
        let fd = userNamespaces.withLock { namespaces in
            if let fd = namespaces[key] { return fd }
            let fd = drover_userns_create(uidMap, gidMap)
            if fd >= 0 { namespaces[key] = fd }
            return fd
        }
        if fd < 0 { throw .setup(SystemError("user namespace", "uid_map \(uidMap.dropLast())", errno: -fd)) }
        return fd
    }

    /// drover-init next to the running executable, or `$DROVER_INIT`.
    public static func defaultInitPath() -> String {
        if let override = getenv("DROVER_INIT") { return String(cString: override) }
        return executableDirectory() + "/drover-init"
    }

    public static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "." }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }

    /// Launches `spec` in a new sandbox whose cgroup leaf is `name` under the tree.
    /// `stdio` gives the fds for the workload's 0, 1, 2 (-1 inherits this process's);
    /// `statusFD`, if given, receives `status=N` (the workload's wait status) when it ends.
    public func launch(_ spec: SandboxSpec, name: String, stdio: (Int32, Int32, Int32) = (-1, -1, -1),
                       statusFD: Int32 = -1) throws(LaunchError) -> Sandbox {
        let prepared = try prepare(spec)
        var leaf: CgroupLeaf?
        var unenforced: [UnenforcedLimit] = []
        if let tree {
            do {
                let created = try CgroupLeaf(tree: tree, name: name)
                leaf = created
                unenforced = try created.apply(spec.limits, available: tree.controllers)
            } catch {
                try? leaf?.destroy()
                throw .cgroup(error)
            }
            if spec.strictLimits, let first = unenforced.first {
                try? leaf?.destroy()
                throw .limitNotEnforced(first, why: tree.whyMissing(first.controller))
            }
            if let ports = spec.bindablePorts, let leaf {
                do { try portGuard.get().allow(ports, in: leaf) } catch {
                    try? leaf.destroy()
                    throw .setup(error)
                }
            }
        }
        let userNamespaceFD: Int32
        do { userNamespaceFD = try userNamespace(for: spec, user: prepared.user) } catch {
            try? leaf?.destroy()
            throw error
        }
        let plan = ChildPlan(spec: spec, executable: prepared.executable, environment: prepared.environment, user: prepared.user,
                             userNamespaceFD: userNamespaceFD, cgroupLeaf: leaf?.path)
        return try spawn(plan, seccomp: prepared.filter, cgroupFD: leaf?.directoryFD ?? -1, stdio: stdio,
                         statusFD: statusFD, leaf: leaf, unenforced: unenforced)
    }

    /// Runs `spec.command` inside a running sandbox (`drover exec`): in the PID, mount, UTS
    /// and IPC namespaces of `pid` (its drover-init) and in its cgroup, under a drover-init of
    /// its own, with the spec's user, capabilities, no_new_privs and seccomp filter. The
    /// returned sandbox owns no cgroup: the replica's stays when this ends.
    public func exec(_ spec: SandboxSpec, inside pid: Int32, cgroupPath: String,
                     stdio: (Int32, Int32, Int32) = (-1, -1, -1)) throws(LaunchError) -> Sandbox {
        let prepared = try prepare(spec)
        let target = drover_pidfd_open(pid)
        if target < 0 { throw .setup(SystemError("pidfd_open", "pid \(pid)", errno: -target)) }
        defer { close(target) }
        let cgroup: CgroupLeaf
        do { cgroup = try CgroupLeaf(existing: cgroupPath) } catch { throw .cgroup(error) }
        let plan = ChildPlan(spec: spec, executable: prepared.executable, environment: prepared.environment,
                             user: prepared.user, userNamespaceFD: -1, cgroupLeaf: nil, joinPIDFD: target,
                             joinUserNamespace: Self.namespace("user", of: "\(pid)") != Self.namespace("user", of: "self"))
        return try spawn(plan, seccomp: prepared.filter, cgroupFD: cgroup.directoryFD, stdio: stdio,
                         statusFD: -1, leaf: nil, unenforced: [])
    }

    /// The inode of a process's namespace of `kind` (`/proc/PID/ns/KIND`).
    static func namespace(_ kind: String, of process: String) -> UInt64? {
        var info = stat()
        guard stat("/proc/\(process)/ns/\(kind)", &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    private struct Prepared {
        var user: ResolvedUser
        var environment: [String: String]
        var executable: String
        var filter: SeccompFilter?
    }

    /// What every start needs before anything is created: the user, the environment, the
    /// executable's path, the seccomp program.
    private func prepare(_ spec: SandboxSpec) throws(LaunchError) -> Prepared {
        guard let program = spec.command.first, !program.isEmpty else {
            throw .input(InputError("command", "is empty: give the program to run"))
        }
        let user: ResolvedUser
        do { user = try ResolvedUser.resolve(spec.user) } catch { throw .input(error) }
        var environment = spec.environment
        if environment["PATH"] == nil { environment["PATH"] = SandboxSpec.defaultPath }
        // As systemd does for User=: the account's home and name, unless the spec sets them.
        if environment["HOME"] == nil { environment["HOME"] = user.home ?? "/" }
        if let name = user.name {
            if environment["USER"] == nil { environment["USER"] = name }
            if environment["LOGNAME"] == nil { environment["LOGNAME"] = name }
        }
        let executable = try Self.resolveExecutable(program, searchPath: environment["PATH"]!)
        let filter: SeccompFilter?
        if let policy = spec.seccomp {
            do { filter = policy == .default ? defaultSeccomp : try SeccompFilter(policy) } catch { throw .setup(error) }
        } else {
            filter = nil
        }
        return Prepared(user: user, environment: environment, executable: executable, filter: filter)
    }

    /// Clones, and learns from the report pipe whether the workload was exec'd.
    private func spawn(_ plan: ChildPlan, seccomp filter: SeccompFilter?, cgroupFD: Int32, stdio: (Int32, Int32, Int32),
                       statusFD: Int32, leaf: CgroupLeaf?, unenforced: [UnenforcedLimit]) throws(LaunchError) -> Sandbox {
        var pid: pid_t = 0
        var pidfd: Int32 = -1
        var reportFD: Int32 = -1
        let spawned = plan.withCPlan(initFD: initFD, cgroupFD: cgroupFD, stdio: stdio,
                                     statusFD: statusFD, seccomp: filter?.program, lastCapability: lastCapability) { cPlan in
            drover_spawn(cPlan, &pid, &pidfd, &reportFD)
        }
        if spawned < 0 {
            try? leaf?.destroy()
            throw .setup(SystemError(plan.joinPIDFD >= 0 ? "setns/clone3" : "clone3", errno: -spawned))
        }

        // EOF means the workload was exec'd; a report means a step failed before that.
        var report = drover_report()
        var received = 0
        while true {
            received = withUnsafeMutableBytes(of: &report) { Glibc.read(reportFD, $0.baseAddress, $0.count) }
            if received >= 0 || errno != EINTR { break }
        }
        close(reportFD)
        leaf?.closeDirectory()
        let sandbox = Sandbox(pid: pid, pidfd: pidfd, cgroup: leaf, unenforced: unenforced)
        if let leaf, case .success(let portGuard) = portGuard, let id = leaf.id {
            sandbox.onCleanup = { portGuard.forget(cgroupID: id) }
        }
        if received == 0 { return sandbox }

        _ = sandbox.wait()
        try? sandbox.cleanup()
        if received != MemoryLayout<drover_report>.size {
            throw .child(ChildFailure(step: Int32(DROVER_STEP_NONE.rawValue), errno: EIO, detail: -1, object: nil))
        }
        throw .child(ChildFailure(step: report.step, errno: report.error, detail: report.detail,
                                  object: plan.describe(step: report.step, detail: report.detail)))
    }

    /// PATH lookup in the parent: the sandbox sees the host's files (but for /tmp, /dev/shm
    /// and /proc), so this finds what the child would, and a missing command fails before
    /// anything is created.
    static func resolveExecutable(_ program: String, searchPath: String) throws(LaunchError) -> String {
        if program.contains("/") { return program }
        var nonExecutable: String?
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + program
            var info = stat()
            guard stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            if info.st_mode & 0o111 != 0 { return candidate }
            nonExecutable = nonExecutable ?? candidate
        }
        if let nonExecutable { return nonExecutable } // execve reports EACCES: exit 126
        throw .commandNotFound(program, searchPath: searchPath)
    }
}

/// A running (or finished) sandbox: its PID 1 (drover-init), a pidfd for race-free signals
/// and waiting, and its cgroup leaf.
public final class Sandbox: @unchecked Sendable {
    public let pid: Int32
    public let pidfd: Int32
    public let cgroup: CgroupLeaf?
    public let unenforced: [UnenforcedLimit]
    /// Spawned by this process: its exit status can be waited for. An adopted sandbox (spawned
    /// by an earlier daemon) reports its status through drover-init's status file instead.
    public let isChild: Bool
    public private(set) var status: ExitStatus?
    /// Run once its cgroup is gone (the port guard forgets it).
    var onCleanup: (() -> Void)?

    init(pid: Int32, pidfd: Int32, cgroup: CgroupLeaf?, unenforced: [UnenforcedLimit], isChild: Bool = true) {
        self.pid = pid
        self.pidfd = pidfd
        self.cgroup = cgroup
        self.unenforced = unenforced
        self.isChild = isChild
    }

    /// Re-adopts the sandbox living in `cgroupPath` (a daemon restarting after a crash): finds
    /// its PID 1 (the member whose PID inside its namespace is 1) and opens a pidfd on it.
    /// Nil when the cgroup is gone or holds no sandbox.
    public static func adopt(cgroupPath: String) -> Sandbox? {
        guard let leaf = try? CgroupLeaf(existing: cgroupPath) else { return nil }
        for pid in leaf.processIDs where namespacePID(of: pid) == 1 {
            let fd = drover_pidfd_open(pid)
            // The pid must still be in the cgroup after the pidfd pins it: not recycled.
            guard fd >= 0 else { continue }
            if leaf.processIDs.contains(pid) {
                // Only a clone into the leaf needs its directory open; an adopted one gets none.
                leaf.closeDirectory()
                return Sandbox(pid: pid, pidfd: fd, cgroup: leaf, unenforced: [], isChild: false)
            }
            close(fd)
        }
        return nil
    }

    /// The last `NSpid:` field of /proc/PID/status: the pid in its innermost namespace.
    static func namespacePID(of pid: Int32) -> Int32? {
        guard let status = try? Files.read("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
            return line.split(whereSeparator: \.isWhitespace).last.flatMap { Int32($0) }
        }
        return nil
    }

    deinit { close(pidfd) }

    /// Sends a signal to drover-init, which forwards TERM, INT, HUP, QUIT, USR1, USR2, WINCH.
    public func signal(_ number: Int32) throws(SystemError) {
        let result = drover_pidfd_send_signal(pidfd, number)
        if result < 0 && -result != ESRCH { throw SystemError("pidfd_send_signal", "pid \(pid)", errno: -result) }
    }

    /// SIGKILL to drover-init: the sandbox's PID namespace, and every process in it, ends.
    public func kill() throws(SystemError) {
        try signal(SIGKILL)
    }

    /// Blocks until drover-init exits; its status is the workload's.
    public func wait() -> ExitStatus {
        if let status { return status }
        return collect(nohang: false)!
    }

    /// Blocks until drover-init exits or `timeout` passes (nil then: still running).
    public func wait(timeout: Duration) -> ExitStatus? {
        let (seconds, attoseconds) = timeout.components
        let deadline = SystemClock.monotonicMilliseconds() + seconds * 1000 + attoseconds / 1_000_000_000_000_000
        while true {
            if let status = poll() { return status }
            let left = deadline - SystemClock.monotonicMilliseconds()
            if left <= 0 { return nil }
            var pfd = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            _ = Glibc.poll(&pfd, 1, Int32(min(left, 1000)))
        }
    }

    /// The status if it has exited, without blocking.
    public func poll() -> ExitStatus? {
        if let status { return status }
        return collect(nohang: true)
    }

    private func collect(nohang: Bool) -> ExitStatus? {
        if !isChild {
            // Not ours to wait for: only whether it is gone can be known here.
            var pfd = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            if Glibc.poll(&pfd, 1, nohang ? 0 : -1) <= 0 { return nil }
            status = .killed
            return status
        }
        var code: Int32 = 0
        var value: Int32 = 0
        let result = drover_pidfd_wait(pidfd, nohang ? 1 : 0, &code, &value)
        if result == 1 { return nil }
        if result < 0 {
            // ECHILD: reaped elsewhere; nothing more can be known than that it is gone.
            status = .killed
            return status
        }
        status = code == CLD_EXITED ? .exited(value) : .signaled(value)
        return status
    }

    /// SIGKILL to everything in the sandbox's cgroup at once.
    public func killAll() throws(CgroupError) {
        if let cgroup {
            try cgroup.killAll()
        } else {
            try? signal(SIGKILL) // PID 1's death takes the whole PID namespace with it
        }
    }

    /// After exit: kills stragglers (none remain once PID 1 is gone, but the kernel finishes
    /// them asynchronously), waits for the cgroup to empty and removes it.
    public func cleanup() throws(CgroupError) {
        try cgroup?.destroy()
        onCleanup?()
        onCleanup = nil
    }
}

public struct ChildFailure: Equatable, Sendable {
    public var step: Int32
    public var errno: Int32
    public var detail: Int32
    /// What the step worked on: "tmpfs on /tmp", the executable's path, ...
    public var object: String?

    public var stepName: String { String(cString: drover_step_name(step)) }
}

public enum LaunchError: Error, CustomStringConvertible, Sendable {
    case input(InputError)
    case commandNotFound(String, searchPath: String)
    case setup(SystemError)
    case cgroup(CgroupError)
    case limitNotEnforced(UnenforcedLimit, why: String)
    case child(ChildFailure)

    /// Exit codes as docker and systemd-run use them: 127 not found, 126 not executable,
    /// 125 drover itself failed.
    public var exitCode: Int32 {
        switch self {
        case .commandNotFound: return 127
        case .child(let failure) where failure.step == Int32(DROVER_STEP_EXEC_WORKLOAD.rawValue):
            return failure.errno == ENOENT || failure.errno == ENOTDIR ? 127 : 126
        default: return 125
        }
    }

    public var description: String {
        switch self {
        case .input(let error): return error.description
        case .commandNotFound(let program, let searchPath):
            return "\(program): command not found (searched PATH \(searchPath))"
        case .setup(let error): return error.description
        case .cgroup(let error): return error.description
        case .limitNotEnforced(let limit, let why):
            return "\(limit.limit) limit cannot be enforced (--strict-limits): \(why)"
        case .child(let failure):
            let object = failure.object.map { " `\($0)`" } ?? ""
            return "\(failure.stepName)\(object): \(errnoName(failure.errno)) (\(String(cString: strerror(failure.errno))))"
        }
    }
}
