import ArgumentParser
import DroverCore
import DroverLinux
import Glibc

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one command in a sandbox, in the foreground, without the daemon.",
        discussion: """
            The command gets exactly what a replica gets: its own PID, mount, UTS, IPC, cgroup \
            and user namespaces with drover-init as PID 1, the host's / read-only (but for a \
            private /tmp and /var/tmp, --state-dir and --writable paths), a private /dev, \
            /proc and /sys with the kernel's knobs read-only or hidden, a cgroup v2 leaf with \
            the limits given, no capabilities (unless --cap), no_new_privs, the default \
            seccomp filter, and a uid of its own for this run (unless --user; root inside is \
            that unprivileged uid outside, unless --host-root). Output passes \
            through; SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH are \
            forwarded to the command. The exit code is the command's (128+N when killed by \
            signal N); 125 when drover could not start it, 126 when it is not executable, \
            127 when it is not found.
            """
    )

    @Option(help: ArgumentHelp("Memory limit (memory.max), e.g. 256Mi.", valueName: "size"))
    var memory: String?

    @Option(help: ArgumentHelp("CPU limit in cores (cpu.max), e.g. 0.5 or 250m.", valueName: "cores"))
    var cpu: String?

    @Option(help: ArgumentHelp("Maximum number of tasks (pids.max).", valueName: "n"))
    var pids: Int?

    @Option(name: .customLong("port"), help: ArgumentHelp("Allocate a host port; its number is in PORT_<NAME>. Repeatable.", valueName: "name"))
    var ports: [String] = []

    @Option(help: ArgumentHelp("User to run as: NAME, UID or UID:GID (default: a uid of this run's own, \(DynamicIdentity.runRange.lowerBound) + drover's pid).", valueName: "user"))
    var user: String?

    @Flag(name: .customLong("host-root"), help: "No user namespace: uid 0 inside is the host's real root (SPEC §10's opt-out).")
    var hostRoot = false

    @Option(help: ArgumentHelp("host (the host's network; the default) or none (loopback only).", valueName: "mode"))
    var network: String = "host"

    @Option(name: .customLong("writable"), help: ArgumentHelp("A host path the command may write (the host's / is read-only inside). Repeatable.", valueName: "path"))
    var writablePaths: [String] = []

    @Option(name: .customLong("cap"), help: ArgumentHelp("Keep this capability, e.g. NET_BIND_SERVICE. Repeatable.", valueName: "cap"))
    var capabilities: [String] = []

    @Flag(name: .customLong("read-only"), help: ArgumentHelp("Accepted for compatibility: the host's / is always read-only inside now.", visibility: .hidden))
    var readOnly = false

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("A directory bound read-write at the same path; in DROVER_STATE_DIR.", valueName: "dir"))
    var stateDirectory: String?

    @Option(help: ArgumentHelp("Hostname inside (default run-<pid>).", valueName: "name"))
    var hostname: String?

    @Option(help: ArgumentHelp("Working directory inside (default /).", valueName: "dir"))
    var workdir: String = "/"

    @Option(name: .customLong("env"), help: ArgumentHelp("Set an environment variable. Repeatable.", valueName: "KEY=VALUE"))
    var environment: [String] = []

    @Option(name: .customLong("tmp-size"), help: ArgumentHelp("Size of the private /tmp, e.g. 64Mi (default: half of RAM).", valueName: "size"))
    var tmpSize: String?

    @Flag(name: .customLong("strict-limits"), help: "Refuse to run (exit 125) when a limit cannot be enforced, instead of warning.")
    var strictLimits = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("missing the command to run: drover run [options] -- CMD [ARGS...]") }
        // Port numbers are allocated in run(); any number validates ${PORT_...} references.
        _ = try makeSpec(portNumbers: Dictionary(ports.map { ($0, 0) }) { first, _ in first })
    }

    /// Every flag turned into the sandbox's description; a bad value is a usage error naming it.
    func makeSpec(portNumbers: [String: Int]) throws -> SandboxSpec {
        func check<T>(_ flag: String, _ parse: () throws(InputError) -> T) throws -> T {
            do { return try parse() } catch { throw ValidationError(error.about("\(flag) \(error.subject)").description) }
        }
        var limits = ResourceLimits()
        if let memory { limits.memory = try check("--memory") { () throws(InputError) in try Quantity.size(memory) } }
        if let cpu { limits.cpu = try check("--cpu") { () throws(InputError) in try Quantity.cpu(cpu) } }
        if let pids {
            guard pids > 0 else { throw ValidationError("--pids \(pids): must be at least 1") }
            limits.pids = pids
        }
        var kept = Set<Capability>()
        for name in capabilities { kept.insert(try check("--cap") { () throws(InputError) in try Capability.named(name) }) }
        var env: [String: String] = ["TMPDIR": "/tmp"]
        if let term = getenv("TERM") { env["TERM"] = String(cString: term) }
        for pair in environment {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--env \"\(pair)\": expected KEY=VALUE")
            }
            env[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        if let stateDirectory {
            guard stateDirectory.hasPrefix("/") else { throw ValidationError("--state-dir \"\(stateDirectory)\": must be an absolute path") }
            env["DROVER_STATE_DIR"] = stateDirectory
        }
        for path in writablePaths {
            _ = try check("--writable") { () throws(InputError) in try WritablePath.check(path, exists: Run.isDirectoryOrFile) }
        }
        for port in ports {
            guard let first = port.first, first.isLetter,
                  port.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            else { throw ValidationError("--port \"\(port)\": a port name is letters, digits, - and _, starting with a letter (e.g. http)") }
        }
        if Set(ports.map(JobSpec.portVariable)).count != ports.count {
            throw ValidationError("--port: the names \(ports.joined(separator: ", ")) give the same PORT_ variable twice")
        }
        for (name, number) in portNumbers { env[JobSpec.portVariable(name)] = String(number) }
        var argv: [String] = []
        for argument in command {
            argv.append(try check("command") { () throws(InputError) in try Expansion.expand(argument, environment: env) })
        }
        let runIdentity = DynamicIdentity.forRun(pid: UInt32(getpid()))
        var spec = SandboxSpec(
            command: argv,
            environment: env,
            user: try user.map { user in try check("--user") { () throws(InputError) in try UserSpec.parse(user) } }
                ?? .id(uid: runIdentity.uid, gid: runIdentity.gid),
            hostname: hostname ?? "run-\(getpid())",
            workdir: workdir,
            hostRoot: hostRoot,
            rootMapsTo: runIdentity,
            stateDirectory: stateDirectory,
            writablePaths: writablePaths,
            tmpSize: try tmpSize.map { size in try check("--tmp-size") { () throws(InputError) in try Quantity.size(size) } },
            capabilities: CapabilityPlan(kept: kept),
            limits: limits,
            strictLimits: strictLimits,
            dieWithParent: true)
        // SPEC §10: the ports it was given (--port), nothing else.
        spec.bindablePorts = portNumbers.values.sorted()
        guard let mode = NetworkMode(rawValue: network) else { throw ValidationError("--network \"\(network)\": expected host or none") }
        if mode == .none && !ports.isEmpty { throw ValidationError("--port with --network none: nothing on the host could reach it") }
        spec.network = mode
        return spec
    }

    func run() throws {
        // Forwarded signals are blocked before anything else so that none is lost or kills
        // drover instead of reaching the workload.
        let forwarder: SignalForwarder
        do { forwarder = try SignalForwarder(signals: SignalForwarder.forwardedByInit) } catch {
            throw fail(error.description, code: 125)
        }

        let spec = try makeSpec(portNumbers: allocatePorts())

        let tree: CgroupTree
        do { tree = try CgroupTree.prepare() } catch { throw fail("\(error)", code: 125) }
        let sandbox: Sandbox
        do {
            let launcher = try SandboxLauncher(tree: tree, capacity: 1)
            sandbox = try launcher.launch(spec, name: "run-\(getpid())")
        } catch {
            throw fail(error.description, code: error.exitCode)
        }
        for limit in sandbox.unenforced {
            warn("\(limit.limit) limit not enforced: \(tree.whyMissing(limit.controller)); --strict-limits refuses to run instead")
        }

        let status = forwarder.wait(for: sandbox)
        let stats = sandbox.cgroup?.stats()
        do { try sandbox.cleanup() } catch { warn("cleanup: \(error)") }
        if let kills = stats?.oomKills, kills > 0 {
            FileHandleStandardError.write("drover: oom-killed: the workload exceeded its memory limit (\(spec.limits.memory.map(formatSize) ?? "memory.max")); exit \(status.exitCode)\n")
        }
        throw ExitCode(status.exitCode)
    }

    static func isDirectoryOrFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    private func allocatePorts() throws -> [String: Int] {
        var numbers: [String: Int] = [:]
        guard !ports.isEmpty else { return numbers }
        // Several `drover run`s share no allocator; starting at a pid-derived place keeps them
        // apart, and the bind test catches the rest.
        let range = PortAllocator.defaultRange
        var allocator = try PortAllocator(range: range, ephemeral: PortProbe.ephemeralRange(),
                                          start: range.lowerBound + Int(getpid()) % range.count)
        for name in ports {
            do {
                numbers[name] = try allocator.allocate(isFree: PortProbe.isFree)
            } catch {
                throw fail("--port \(name): \(error)", code: 125)
            }
        }
        return numbers
    }

}
