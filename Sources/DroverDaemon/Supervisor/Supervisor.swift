import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// The heart of droverd: keeps the declared replicas running. One actor merges every event
/// source (apply and other API calls, process exits from the monitor thread, timers) and
/// drives each replica's `ReplicaLifecycle`, carrying out the actions it returns. Everything
/// it must not forget is in the store, so a new droverd picks up where a killed one stopped.
///
/// The rules are DroverCore's, asked once per turn: `ReplicaLifecycle` and `RestartRule` (a
/// replica's states and restarts), `Admission` (fit, preemption, why pending), `RollingUpdate`
/// (the next step of a rollout), `Reconcile` (desired vs actual). The files of this folder only
/// carry out what those return, one concern each: `Supervisor+Events` (the run loop over exits
/// and timers), `+Turn` (the rules at the end of each turn), `+Actions` (performing a
/// lifecycle's actions), `+Apply`, `+Reconcile`, `+Rollout`, `+Admission`, `+Evictions`,
/// `+Spawn`, `+Ports`, `+Timers`, `+Health`, `+Exits`, `+Cgroups`, `+Forget`, `+Identity`,
/// `+Persistence`, `+Views`, `+LogRotation`; its system calls are DroverLinux's.
actor Supervisor {
    typealias Key = ReplicaID

    /// What droverd holds for a replica besides its lifecycle.
    final class Replica {
        var lifecycle: ReplicaLifecycle
        var sandbox: Sandbox?
        var ports: [String: Int]
        var timer: Task<Void, Never>?
        /// Bumped on every spawn: a stale exit report or timer for an older process is ignored.
        var generation: UInt64 = 0
        var unenforced: [String] = []
        var adopted = false
        /// Health checks of the current process (SPEC §1 `health`), and the loop running them.
        var health: HealthTracker?
        var healthTask: Task<Void, Never>?
        /// Why it waits for admission (`needs 512Mi memory, 300Mi free`).
        var pendingWhy: String?

        init(lifecycle: ReplicaLifecycle, ports: [String: Int] = [:]) {
            self.lifecycle = lifecycle
            self.ports = ports
        }
    }

    let paths: DaemonPaths
    let store: Store
    let launcher: SandboxLauncher
    let tree: CgroupTree
    let strictLimits: Bool
    let logger: Logger
    let names: NameRegistry
    let proxies: ServiceProxies
    var monitor: ProcessMonitor?
    var jobs: [String: Store.StoredJob] = [:]
    var failedJobs: [String: String] = [:]
    /// Replicas started on a new spec by a rolling update, by job.
    var rollouts: [String: Set<Key>] = [:]
    /// Why a job's rollout stopped.
    var failedRollouts: [String: String] = [:]
    /// SPEC §5: what replicas may request, and which hold their requests now.
    let capacity: Capacity
    var admitted: Set<Key> = []
    /// Lower-priority replicas being preempted, and for whom.
    var preempting: [Key: Key] = [:]
    /// `drover drain`: everything evicted, nothing starts until `drover undrain`.
    var drained = false
    var replicas: [Key: Replica] = [:]
    var allocator: PortAllocator
    /// What each monitor token watches: the replica and the pid of the process it was given for
    /// (a report for an earlier process of the same replica is stale, not about the current one).
    var tokens: [UInt64: (key: Key, pid: Int32)] = [:]
    var nextToken: UInt64 = 1
    var logRotation: Task<Void, Never>?
    /// Process exits (from the monitor thread) and timers arrive here, and one run loop
    /// drains them, one event per turn (`Supervisor+Events`).
    let events: AsyncStream<Event>
    let eventSink: AsyncStream<Event>.Continuation
    var runLoop: Task<Void, Never>?
    var releasedResources = false
    /// Replicas whose lifecycle acted this turn: `endTurn` runs the rules over them.
    var touched: Set<Key> = []
    var proxiedServices: [String: Int] = [:]
    var pendingSaves: [Key: ReplicaRecord] = [:]
    var pendingRemovals: Set<Key> = []
    var pendingEvents: [(time: Date, subject: String, kind: String, message: String)] = []
    var flushScheduled = false
    let writer = DispatchQueue(label: "droverd.store-writer")
    /// SPEC §10: each job's own host uid (= gid), from `uidRange`, kept until its files are gone.
    var identities: [String: UInt32] = [:]
    var resolvedHostIDs: [String: (spec: JobSpec, ids: HostIdentity)] = [:]
    let uidRange: ClosedRange<UInt32>

    init(paths: DaemonPaths, store: Store, launcher: SandboxLauncher, tree: CgroupTree, strictLimits: Bool,
         names: NameRegistry, proxies: ServiceProxies, capacity: Capacity,
         uidRange: ClosedRange<UInt32> = DynamicIdentity.defaultJobRange, logger: Logger) throws {
        self.uidRange = uidRange
        self.names = names
        self.proxies = proxies
        self.capacity = capacity
        self.paths = paths
        self.store = store
        self.launcher = launcher
        self.tree = tree
        self.strictLimits = strictLimits
        self.logger = logger
        allocator = try PortAllocator(ephemeral: PortProbe.ephemeralRange())
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
    }

    // MARK: start-up and shutdown

    /// Loads the desired state, re-adopts every live replica (same PIDs), settles the ones
    /// that died while droverd was down, then reconciles.
    func start() throws {
        let monitor = try ProcessMonitor { [eventSink] token in eventSink.yield(.exited(token: token)) }
        self.monitor = monitor
        runLoop = Task { [events] in await self.run(events) }
        let stored = try store.jobs()
        jobs = stored.jobs
        for (name, why) in stored.refused.sorted(by: { $0.key < $1.key }) {
            // Its replicas are left alone (no record of ours claims them below): a fixed apply
            // of the job takes them over.
            failedJobs[name] = "refused at start: \(why)"
            event(subject: name, kind: "refused", message: why)
            logger.error("job \(name) refused at start: \(why); apply it again to replace it")
        }
        identities = try store.identities()
        drained = try store.drained()
        let records = try store.replicas()
        for record in records where stored.refused[record.job] == nil {
            let key = Key(job: record.job, index: record.index)
            let replica = Replica(lifecycle: record.lifecycle, ports: record.ports)
            replica.unenforced = record.unenforced
            replicas[key] = replica
            for port in record.ports.values { _ = allocator.claim(port) { _ in true } }
            switch record.lifecycle.state {
            case .pending(.waitingForResources), .pending(.draining), .exited, .succeeded, .failed: break
            default: admitted.insert(key) // it holds its requests (running, backing off, stopping...)
            }
            if let sandbox = Sandbox.adopt(cgroupPath: leafPath(key)) {
                replica.sandbox = sandbox
                replica.adopted = true
                watch(key, replica)
                if case .ready = replica.lifecycle.state { publish(key, replica) }
                startHealthChecks(key, replica)
                event(subject: key.description, kind: "adopted", message: "re-adopted pid \(sandbox.pid)")
                logger.info("re-adopted \(key) pid \(sandbox.pid)")
            } else if record.lifecycle.pid != nil {
                // It died while droverd was down: drover-init left its status, if it could.
                let reason = exitReason(key, replica, statusFromFile: true)
                destroyLeaf(key)
                perform(replica.lifecycle.handle(.processExited(reason, now: .now)), for: key)
            }
            if let deadline = replica.lifecycle.state.deadline { armTimer(key, replica, at: deadline) }
        }
        removeStrayLeaves()
        reconcile()
        logRotation = Task { [weak self] in
            while !Task.isCancelled {
                // Rotation copies only the newest 10 MiB, so a check every 10 s bounds the
                // files however fast a replica writes; more often cost idle CPU per replica.
                try? await Task.sleep(for: .seconds(10))
                await self?.rotateLogs()
            }
        }
    }

    /// droverd is exiting: replicas keep running (crash-only), or are stopped through the
    /// lameduck protocol with `--stop-replicas-on-exit`.
    func shutdown(stopReplicas: Bool) async {
        logRotation?.cancel()
        if stopReplicas {
            for key in replicas.keys.sorted() { evict(key, reason: .delete) }
            endTurn()
            let deadline = Date().addingTimeInterval(60)
            while replicas.values.contains(where: { $0.sandbox != nil }) && Date() < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        for replica in replicas.values { replica.timer?.cancel() }
        monitor?.shutdown()
        monitor = nil
        eventSink.finish()
        runLoop?.cancel()
        runLoop = nil
        flush()
        drainWriter()
    }

    /// Replicas' and probes' stdin (-1 when /dev/null cannot be opened: the launcher then
    /// hands them droverd's own).
    lazy var devNull: Int32 = (try? openNullDevice()) ?? -1
}
