import DroverConfig
import DroverCore
import DroverProxy
import DroverLinux
import DroverWire
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// How droverd was asked to run (its flags).
public struct DaemonOptions: Sendable {
    public var configDirectory: String?
    public var socketPath: String
    public var stateDirectory: String
    public var strictLimits: Bool
    public var stopReplicasOnExit: Bool
    /// `cpu=2,memory=20Gi`; nil: detected.
    public var capacity: String?
    /// Where service proxies listen (SPEC §6).
    public var serviceAddress: String = "127.0.0.1"
    /// Relay every service connection in user space, never steering it in the kernel.
    public var serviceRelayOnly: Bool = false
    /// Where jobs' own uids come from (SPEC §10, `--uid-range`).
    public var uidRange: ClosedRange<UInt32> = DynamicIdentity.defaultJobRange
    /// `--strict`: refuse jobs that give up isolation (`host_root: true`).
    public var strict: Bool = false

    public init(configDirectory: String? = nil, socketPath: String = API.defaultSocketPath,
                stateDirectory: String = API.defaultStateDirectory, strictLimits: Bool = false,
                stopReplicasOnExit: Bool = false, capacity: String? = nil, serviceAddress: String = "127.0.0.1",
                serviceRelayOnly: Bool = false, uidRange: ClosedRange<UInt32> = DynamicIdentity.defaultJobRange,
                strict: Bool = false) {
        self.strict = strict
        self.serviceRelayOnly = serviceRelayOnly
        self.uidRange = uidRange
        self.capacity = capacity
        self.serviceAddress = serviceAddress
        self.configDirectory = configDirectory
        self.socketPath = socketPath
        self.stateDirectory = stateDirectory
        self.strictLimits = strictLimits
        self.stopReplicasOnExit = stopReplicasOnExit
    }
}

/// `droverd --strict` (SPEC §10): no job may give up its isolation.
func strictRefusals(_ specs: [JobSpec], strict: Bool) -> [String] {
    guard strict else { return [] }
    return specs.filter(\.hostRoot).map {
        "jobs.\($0.name).host_root: true is refused: droverd runs with --strict, which allows no job real host root (SPEC §10)"
    }
}

public enum DaemonStartError: Error, CustomStringConvertible {
    case config(String)
    case setup(String)

    public var description: String {
        switch self {
        case .config(let message): return message
        case .setup(let message): return message
        }
    }
}

/// droverd: re-adopts what runs, applies `--config`, serves the API until SIGTERM/SIGINT,
/// then exits leaving replicas running (crash-only; `--stop-replicas-on-exit` stops them).
public func runDaemon(_ options: DaemonOptions) async throws {
    let logger: Logger = {
        var logger = Logger(label: "droverd")
        logger.logLevel = ProcessInfo.processInfo.environment["DROVER_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        return logger
    }()

    // SPEC §10: what droverd creates is its own (0600 files, 0700 directories); what replicas
    // and the `drover` group are shown gets its mode explicitly (StatePermissions).
    ProcessSettings.setFileCreationMask(0o077)
    let stateRoot = (options.stateDirectory as NSString).standardizingPath
    if let root = ["/tmp", "/var/tmp"].first(where: { MountStep.isBelow(stateRoot, $0) }) {
        // Every replica gets a private /tmp and /var/tmp: a state directory there would be invisible to it.
        throw DaemonStartError.setup("--state-dir \(options.stateDirectory): must not be under \(root) (each replica has its own \(root), so it could not see its state directory there)")
    }
    try FileManager.default.createDirectory(atPath: options.stateDirectory, withIntermediateDirectories: true)
    let socketDirectory = (options.socketPath as NSString).deletingLastPathComponent
    if !FileManager.default.fileExists(atPath: socketDirectory) {
        // Traversable: the `drover` group reaches the 0660 socket through it (SPEC §8).
        try FileManager.default.createDirectory(atPath: (socketDirectory as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try makeDirectory(atPath: socketDirectory, mode: StatePermissions.sharedDirectory)
    }
    // Two droverds on one state directory would adopt the same replicas and fight over them;
    // two on one socket would take it from each other.
    let locks: [InstanceLock]
    do {
        locks = [try InstanceLock(path: stateRoot + "/droverd.lock"), try InstanceLock(path: options.socketPath + ".lock")]
    } catch { throw DaemonStartError.setup("\(error)") }
    defer { withExtendedLifetime(locks) {} }
    // One pidfd per replica: a thousand replicas need more than the usual 1024 soft limit.
    ProcessSettings.raiseOpenFileLimit()
    let paths = DaemonPaths(root: stateRoot, runtime: (socketDirectory as NSString).standardizingPath)
    for failure in StatePermissions.tighten(paths) { logger.warning("cannot tighten the permissions of droverd's files: \(failure)") }
    let store = try Store(path: paths.database)
    if let mode = try? store.synchronousMode(), mode != 2 {
        logger.warning("store: PRAGMA synchronous is \(mode), not FULL (2): commits may not survive power loss")
    }
    let tree: CgroupTree
    // Under systemd with Delegate=yes droverd owns its cgroup; started by hand in the root
    // cgroup (or a shell's scope) it builds /drover (or <scope>/drover) and leaves others be.
    let delegated = ProcessInfo.processInfo.environment["INVOCATION_ID"] != nil
    do { tree = try CgroupTree.prepare(delegated: delegated) } catch { throw DaemonStartError.setup("cgroups: \(error)") }
    let launcher: SandboxLauncher
    do { launcher = try SandboxLauncher(tree: tree) } catch { throw DaemonStartError.setup("\(error)") }
    for controller in CgroupTree.wantedControllers where !tree.controllers.contains(controller) {
        logger.warning("limits needing \(controller) will not be enforced: \(tree.whyMissing(controller))")
    }
    var pinDirectory: String?
    if options.serviceRelayOnly {
        // An earlier droverd's pinned programs would go on steering past the relay.
        SteeringPins.clear(at: options.stateDirectory + "/bpf")
    } else {
        switch SteeringPins.mount(at: options.stateDirectory + "/bpf") {
        case .success(let directory): pinDirectory = directory
        case .failure(let why): logger.warning("service steering will not outlive droverd: \(why)")
        }
    }
    let proxies = ServiceProxies(address: options.serviceAddress, cgroupRoot: tree.root,
                                 kernelSteering: !options.serviceRelayOnly, pinDirectory: pinDirectory)
    let names = NameRegistry(directory: socketDirectory + "/names") { job, endpoints in
        proxies.setEndpoints(job: job, endpoints)
    }
    let capacity: Capacity
    do { capacity = try options.capacity.map(Capacity.parse) ?? Capacity.detect() } catch { throw DaemonStartError.config("\(error)") }
    logger.info("capacity: \(CPUCores(millicores: capacity.millicores)) cpu, \(formatSize(capacity.memory)) memory")
    let supervisor = try Supervisor(paths: paths, store: store, launcher: launcher, tree: tree,
                                    strictLimits: options.strictLimits, names: names, proxies: proxies,
                                    capacity: capacity, uidRange: options.uidRange, logger: logger)
    try await supervisor.start()

    var config: ConfigSource?
    if let directory = options.configDirectory {
        let source = ConfigSource(directory: directory, strict: options.strict, supervisor: supervisor, logger: logger)
        do { _ = try await source.apply() } catch let error as ConfigReloadError { throw DaemonStartError.config(error.description) }
        config = source
    }

    let api = APIServer(supervisor: supervisor, store: store, requestIDs: RequestIDs(store: store), names: names, metrics: DaemonMetrics(proxies: proxies),
                        sandboxes: tree, config: config) { files in
        switch JobsConfig.parse(files.map { JobsFile(path: $0.path, text: $0.content) }) {
        case .success(let specs):
            let refusals = strictRefusals(specs, strict: options.strict)
            return refusals.isEmpty ? .success(specs) : .failure(.init(errors: refusals))
        case .failure(let errors): return .failure(.init(errors: errors.errors.map(\.description)))
        }
    }
    let socketPath = options.socketPath
    let application = Application(
        router: api.router(),
        // Bounds on what clients may hold (APILimits; after RLIMIT_NOFILE was raised above).
        server: GuardedHTTP1Channel.builder(connections: ConnectionCount(limit: APILimits.maxConnections())),
        configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "droverd"),
        onServerRunning: { _ in
            // SPEC §8: 0660, group drover (when the group exists).
            do { try setSocketAttributes(atPath: socketPath, mode: 0o660, group: groupID(named: "drover")) } catch {
                logger.warning("the API socket keeps its default mode or group: \(error)")
            }
            SystemdNotifier.ready()
            logger.info("listening on \(socketPath)")
        },
        logger: logger
    )
    let watchdog = SystemdNotifier.watchdogService()
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: application)] + (watchdog.map { [.init(service: $0)] } ?? [])
                + [.init(service: ConfigSource.ReloadOnHangup(source: config, logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
    SystemdNotifier.stopping()
    await supervisor.shutdown(stopReplicas: options.stopReplicasOnExit)
    for line in await supervisor.exitReport() { logger.notice("\(line)") }
    // Replicas that stay keep their service port: the pinned steering programs stay too.
    await proxies.stopAll(keepSteering: !options.stopReplicasOnExit)
    // Ours: the socket lock says no other droverd serves this path. Left behind, the next
    // droverd's bind replaces it.
    do { try removeFile(atPath: socketPath) } catch { logger.warning("cannot remove the API socket: \(error)") }
}

/// systemd `Type=notify` with a watchdog: READY=1 once serving, WATCHDOG=1 at half the
/// interval systemd asked for, STOPPING=1 on the way out. A no-op outside systemd.
enum SystemdNotifier {
    static func ready() { SystemdNotify.send("READY=1") }
    static func stopping() { SystemdNotify.send("STOPPING=1") }

    struct Watchdog: Service {
        let interval: Duration
        func run() async throws {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                SystemdNotify.send("WATCHDOG=1")
                try? await Task.sleep(for: interval)
            }
        }
    }

    static func watchdogService() -> Watchdog? {
        SystemdNotify.watchdogInterval().map { Watchdog(interval: $0) }
    }
}
