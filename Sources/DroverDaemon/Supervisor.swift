import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Glibc
import Logging

/// The heart of droverd: keeps the declared replicas running. One actor merges every event
/// source (apply and other API calls, process exits from the monitor thread, timers) and
/// drives each replica's `ReplicaLifecycle`, carrying out the actions it returns. Everything
/// it must not forget is in the store, so a new droverd picks up where a killed one stopped.
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
    private var monitor: ProcessMonitor?
    private var jobs: [String: Store.StoredJob] = [:]
    private var failedJobs: [String: String] = [:]
    /// Replicas started on a new spec by a rolling update, by job.
    private var rollouts: [String: Set<Key>] = [:]
    /// Why a job's rollout stopped.
    private var failedRollouts: [String: String] = [:]
    /// SPEC §5: what replicas may request, and which hold their requests now.
    private let capacity: Capacity
    private var admitted: Set<Key> = []
    /// Lower-priority replicas being preempted, and for whom.
    private var preempting: [Key: Key] = [:]
    /// `drover drain`: everything evicted, nothing starts until `drover undrain`.
    private(set) var drained = false
    private var replicas: [Key: Replica] = [:]
    private var allocator: PortAllocator
    /// What each monitor token watches: the replica and the pid of the process it was given for
    /// (a report for an earlier process of the same replica is stale, not about the current one).
    private var tokens: [UInt64: (key: Key, pid: Int32)] = [:]
    private var nextToken: UInt64 = 1
    private var logRotation: Task<Void, Never>?
    private var releasedResources = false
    private var proxiedServices: [String: Int] = [:]
    private var pendingSaves: [Key: ReplicaRecord] = [:]
    private var pendingRemovals: Set<Key> = []
    private var pendingEvents: [(time: Date, subject: String, kind: String, message: String)] = []
    private var flushScheduled = false
    private let writer = DispatchQueue(label: "droverd.store-writer")
    /// SPEC §10: each job's own host uid (= gid), from `uidRange`, kept until its files are gone.
    private var identities: [String: UInt32] = [:]
    private var resolvedHostIDs: [String: (spec: JobSpec, ids: HostIdentity)] = [:]
    private let uidRange: ClosedRange<UInt32>

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
    }

    // MARK: start-up and shutdown

    /// Loads the desired state, re-adopts every live replica (same PIDs), settles the ones
    /// that died while droverd was down, then reconciles.
    func start() throws {
        let monitor = try ProcessMonitor { [weak self] token in
            guard let self else { return }
            Task { await self.processExited(token: token) }
        }
        self.monitor = monitor
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
                apply(replica.lifecycle.handle(.processExited(reason, now: .now)), to: key)
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
            let deadline = Date().addingTimeInterval(60)
            while replicas.values.contains(where: { $0.sandbox != nil }) && Date() < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        for replica in replicas.values { replica.timer?.cancel() }
        monitor?.shutdown()
        monitor = nil
        flush()
        drainWriter()
    }

    // MARK: desired state

    struct ApplyResult: Sendable {
        var created: [String] = []
        var changed: [String] = []
        var unchanged: [String] = []
        var deleted: [String] = []
    }

    static func diff(current: [String: JobSpec], desired: [JobSpec]) -> ApplyResult {
        var result = ApplyResult()
        let names = Set(desired.map(\.name))
        for spec in desired.sorted(by: { $0.name < $1.name }) {
            switch current[spec.name] {
            case nil: result.created.append(spec.name)
            case spec?: result.unchanged.append(spec.name)
            default: result.changed.append(spec.name)
            }
        }
        result.deleted = current.keys.filter { !names.contains($0) }.sorted()
        return result
    }

    /// Replaces the desired state (already validated) and reconciles.
    func apply(_ specs: [JobSpec], dryRun: Bool) throws -> ApplyResult {
        let result = Self.diff(current: jobs.mapValues(\.spec), desired: specs)
        if dryRun { return result }
        let summary = "created \(result.created.count), changed \(result.changed.count), unchanged \(result.unchanged.count), deleted \(result.deleted.count)"
        try store.replaceJobs(specs, event: (subject: "droverd", kind: "applied", message: summary))
        var next: [String: Store.StoredJob] = [:]
        for spec in specs {
            next[spec.name] = Store.StoredJob(spec: spec, stopped: jobs[spec.name]?.stopped ?? false)
            if jobs[spec.name]?.spec != spec { failedJobs[spec.name] = nil }
        }
        jobs = next
        reconcile()
        return result
    }

    func setStopped(_ name: String, _ stopped: Bool) throws {
        guard var job = jobs[name] else { throw DaemonError.notFound("no job named \"\(name)\"") }
        try store.setStopped(name, stopped)
        job.stopped = stopped
        jobs[name] = job
        if !stopped { failedJobs[name] = nil }
        event(subject: name, kind: stopped ? "stopped" : "started", message: stopped ? "job stopped" : "job started")
        reconcile()
    }

    func delete(_ name: String) throws {
        guard jobs[name] != nil else { throw DaemonError.notFound("no job named \"\(name)\"") }
        try store.deleteJob(name)
        jobs[name] = nil
        failedJobs[name] = nil
        event(subject: name, kind: "deleted", message: "job deleted")
        reconcile()
    }

    // MARK: evictions (SPEC §4)

    /// `drover evict NAME`: the lameduck protocol with reason `manual` (a serving replica is
    /// replaced at the same index). A job name evicts each of its replicas.
    func evict(job: String, index: Int?, grace: Duration?, note: String?) throws -> [String] {
        guard jobs[job] != nil else { throw DaemonError.notFound("no job named \"\(job)\"") }
        let keys = replicas.keys.filter { $0.job == job && (index == nil || $0.index == index) }.sorted()
        if let index, keys.isEmpty { throw DaemonError.notFound("no replica \(job)/\(index)") }
        var evicted: [String] = []
        for key in keys {
            guard let replica = replicas[key], replica.sandbox != nil else { continue }
            let grace = grace ?? replica.lifecycle.job.lameduck.grace
            event(subject: key.description, kind: "evicting", message: "manual, grace \(ExitRecord.seconds(grace))" + (note.map { ": \($0)" } ?? ""))
            // The note travels with this request through the lifecycle into its notice only:
            // a later drain, update or preemption of the index does not carry it (issue 13).
            apply(replica.lifecycle.handle(.evictRequested(.manual, grace: grace, now: .now, note: note)), to: key)
            evicted.append(key.description)
        }
        return evicted
    }

    /// `drover drain`: evict everything, lowest priority first, and start nothing until
    /// `undrain`.
    func drain(grace: Duration?) throws -> [String] {
        defer { syncProxies() }
        drained = true
        try store.setDrained(true)
        event(subject: "droverd", kind: "drain", message: "draining every replica")
        let order = Admission.drainOrder(replicas.map { (id: $0.key, priority: $0.value.lifecycle.job.priority) })
        var evicted: [String] = []
        for key in order {
            guard let replica = replicas[key] else { continue }
            let grace = grace ?? replica.lifecycle.job.lameduck.grace
            if replica.sandbox != nil {
                evicted.append(key.description)
                event(subject: key.description, kind: "evicting", message: "drain, grace \(ExitRecord.seconds(grace))")
            }
            apply(replica.lifecycle.handle(.evictRequested(.drain, grace: grace, now: .now)), to: key)
        }
        return evicted
    }

    func undrain() throws {
        drained = false
        try store.setDrained(false)
        event(subject: "droverd", kind: "undrain", message: "starting replicas again")
        reconcile()
    }

    /// Desired vs actual: start what is missing, stop what is not wanted, replace what changed.
    private func reconcile() {
        if drained { return }
        for name in jobs.keys.sorted() {
            guard let desired = desired(name) else { continue }
            perform(Reconcile.fill(desired, actual: actual(of: name)))
            rollOut(name)
            stopExtras(name)
        }
        for name in Set(replicas.keys.map(\.job)) where jobs[name] == nil {
            perform(Reconcile.extras(nil, actual: actual(of: name), rollingOut: false))
        }
        syncProxies()
    }

    private func desired(_ name: String) -> Reconcile.Desired? {
        jobs[name].map { Reconcile.Desired(spec: $0.spec, stopped: $0.stopped, failed: failedJobs[name] != nil) }
    }

    private func actual(of job: String) -> [Reconcile.Actual] {
        replicas.filter { $0.key.job == job }.map { Reconcile.Actual(id: $0.key, lifecycle: $0.value.lifecycle, hasSandbox: $0.value.sandbox != nil) }
    }

    /// Carries out what `Reconcile` decided, step by step.
    private func perform(_ steps: [Reconcile.Step]) {
        for step in steps {
            switch step {
            case .create(let key):
                guard replicas[key] == nil, let spec = jobs[key.job]?.spec else { continue }
                let replica = Replica(lifecycle: ReplicaLifecycle(job: spec, index: key.index))
                replicas[key] = replica
                if drained { persist(key, replica) }
            case .retarget(let key):
                if let replica = replicas[key], let spec = jobs[key.job]?.spec { replica.lifecycle.job = spec }
            case .admit(let key):
                admit(key)
            case .evict(let key, let reason):
                evict(key, reason: reason)
            case .forget(let key, let removeState):
                if let replica = replicas[key] { forget(key, replica, removeState: removeState) }
            }
        }
    }

    /// Starts and stops service proxies to match the jobs (off the actor: binding is async).
    private func syncProxies() {
        let services = jobs.compactMapValues { $0.spec.service?.port }
        guard services != proxiedServices else { return }
        proxiedServices = services
        Task { [proxies, logger] in
            let (failures, started) = await proxies.reconcile(services)
            for failure in failures {
                event(subject: failure.job, kind: "service-failed", message: failure.message)
                logger.error("\(failure.job): \(failure.message)")
            }
            for service in started {
                logger.info("\(service.job): service port open, \(service.path)")
            }
        }
    }

    /// Rolling update (SPEC §5): one replica at a time gets the new spec; the next old one is
    /// evicted (reason `update`) only when every replica already on the new spec is ready. A
    /// new version that does not become ready halts the rollout, and the old replicas keep
    /// serving; the job's status says so.
    private func rollOut(_ name: String) {
        guard let desired = desired(name) else { return }
        let started = rollouts[name] ?? []
        let current = replicas.filter { $0.key.job == name && $0.key.index < desired.wanted }.map { key, replica in
            RollingUpdate.Replica(id: key, lifecycle: replica.lifecycle, live: replica.sandbox != nil || replica.lifecycle.pid != nil,
                                  startedByRollout: started.contains(key))
        }
        switch RollingUpdate.next(desired: desired.spec, replicas: current) {
        case .wait(let status):
            if let status { failedRollouts[name] = status }
        case .done:
            // Replicas past a lowered count served until now and go now.
            rollouts[name] = nil
            failedRollouts[name] = nil
            stopExtras(name)
        case .replace(let next):
            guard let replica = replicas[next] else { return }
            failedRollouts[name] = nil
            rollouts[name, default: []].insert(next)
            let actions = replica.lifecycle.handle(.evictRequested(.update, grace: replica.lifecycle.job.lameduck.grace, now: .now))
            replica.lifecycle.job = desired.spec
            event(subject: next.description, kind: "updating", message: "rolling update: replacing with the new spec")
            apply(actions, to: next)
        }
    }

    /// Stops the replicas past the wanted count (`Reconcile.extras` says which).
    private func stopExtras(_ name: String) {
        guard let desired = desired(name) else { return }
        perform(Reconcile.extras(desired, actual: actual(of: name), rollingOut: rollouts[name] != nil))
    }

    // MARK: admission (SPEC §5)

    /// Starts the replica if admission says it fits, or preempts the victims admission
    /// chose for it; otherwise it waits, saying why (`Admission` has the rule).
    private func admit(_ key: Key) {
        guard !drained, let replica = replicas[key] else { return }
        if admitted.contains(key) {
            apply(replica.lifecycle.handle(.startRequested(now: .now)), to: key)
            return
        }
        let holders = admitted.compactMap { id in
            replicas[id].map { Admission.Holder(id: id, priority: $0.lifecycle.job.priority, request: Admission.Resources(requestedBy: $0.lifecycle.job),
                                                startedAt: $0.lifecycle.startedAt) }
        }
        let decision = Admission.decide(request: Admission.Resources(requestedBy: replica.lifecycle.job), priority: replica.lifecycle.job.priority,
                                        admitted: holders, capacity: capacity.resources, awaitingVictims: preempting.values.contains(key))
        switch decision {
        case .admit:
            admitted.insert(key)
            replica.pendingWhy = nil
            apply(replica.lifecycle.handle(.startRequested(now: .now)), to: key)
        case .wait(let why):
            replica.pendingWhy = why
        case .preempt(let victims, let why):
            replica.pendingWhy = why
            for victim in victims {
                preempting[victim] = key
                event(subject: victim.description, kind: "preempting", message: "to fit \(key) (production)")
                guard let target = replicas[victim] else { continue }
                apply(target.lifecycle.handle(.evictRequested(.preempted, grace: target.lifecycle.job.lameduck.grace, now: .now)), to: victim)
            }
        }
    }

    /// Resources came free: waiting replicas, highest priority first, try again.
    private func admitWaiting() {
        let waiting = replicas.filter { key, replica in
            if case .pending(.waitingForResources) = replica.lifecycle.state { return isWanted(key) }
            return false
        }
        for key in Admission.retryOrder(waiting.map { (id: $0.key, priority: $0.value.lifecycle.job.priority) }) { admit(key) }
    }

    private func evict(_ key: Key, reason: EvictionReason) {
        guard let replica = replicas[key] else { return }
        if case .lameduck = replica.lifecycle.state { return }
        if case .stopping = replica.lifecycle.state { return }
        apply(replica.lifecycle.handle(.evictRequested(reason, grace: replica.lifecycle.job.lameduck.grace, now: .now)), to: key)
    }

    /// Drops a replica that is down for good.
    private func forget(_ key: Key, _ replica: Replica, removeState: Bool) {
        replica.timer?.cancel()
        replica.healthTask?.cancel()
        if admitted.remove(key) != nil { releasedResources = true }
        preempting[key] = nil
        names.unpublish(job: key.job, index: key.index)
        if jobs[key.job] == nil && !replicas.keys.contains(where: { $0.job == key.job && $0 != key }) {
            names.removeFile(key.job)
        }
        for port in replica.ports.values { allocator.release(port) }
        replicas[key] = nil
        pendingSaves[key] = nil
        pendingRemovals.insert(key)
        scheduleFlush()
        let logs = [paths.logFile(key)] + (1..<ReplicaLogs.defaultFiles).map { paths.logFile(key) + ".\($0)" }
        remove((removeState ? [paths.stateDirectory(key)] : []) + [paths.runDirectory(key)] + logs, of: key)
        // The job's own directories go with its last replica (rmdir fails while others remain).
        for file in [paths.stateDirectory(key), paths.runDirectory(key), paths.logFile(key)] {
            rmdir((file as NSString).deletingLastPathComponent)
        }
        if removeState, jobs[key.job] == nil, !replicas.keys.contains(where: { $0.job == key.job }) {
            // SPEC §2: a deleted job's state goes, that of indices scaled away long ago too (a
            // job created again under the name must not find old checkpoints).
            // The uid is free again only once no file of the job's is left to be owned by it.
            if remove([paths.jobStateDirectory(key.job)], of: key), identities.removeValue(forKey: key.job) != nil {
                do { try store.releaseIdentity(job: key.job) } catch { logger.error("releasing \(key.job)'s uid: \(error)") }
            }
        }
    }

    /// Removes a replica's files and trees without following a link its workload may have
    /// planted in them (issue 11). A failure is logged; what could not be removed stays.
    /// Returns whether everything is gone.
    @discardableResult
    private func remove(_ paths: [String], of key: Key) -> Bool {
        var removed = true
        for path in paths {
            do { try removeTree(atPath: path) } catch {
                logger.warning("\(key): cannot remove its files: \(error)")
                removed = false
            }
        }
        return removed
    }

    /// The job's own host uid and gid (SPEC §10), allocated on first use: the lowest of the
    /// range that no job holds and no account or group of this host uses.
    private func identity(of job: String) throws -> HostIdentity {
        if let uid = identities[job] { return HostIdentity(uid: uid, gid: uid) }
        let taken = Set(identities.values)
        guard let uid = uidRange.first(where: { !taken.contains($0) && getpwuid($0) == nil && getgrgid($0) == nil }) else {
            throw IdentityError.exhausted(uidRange)
        }
        try store.setIdentity(job: job, uid: uid)
        identities[job] = uid
        event(subject: job, kind: "identity", message: "uid and gid \(uid)")
        return HostIdentity(uid: uid, gid: uid)
    }

    enum IdentityError: Error, CustomStringConvertible {
        case exhausted(ClosedRange<UInt32>)
        var description: String {
            switch self {
            case .exhausted(let range):
                return "no free uid in \(range.lowerBound)-\(range.upperBound) (droverd --uid-range): every one is a job's or an account's"
            }
        }
    }

    /// The host uid and gid a job's processes run as, for `ps` and `inspect` (cached per spec:
    /// a user name is looked up once, not per replica and request).
    private func hostIDs(of job: String, _ spec: JobSpec) -> HostIdentity? {
        if let cached = resolvedHostIDs[job], cached.spec == spec { return cached.ids }
        let own = identities[job].map { HostIdentity(uid: $0, gid: $0) }
        var ids = own
        if let userSpec = try? spec.userSpec(), let user = try? ResolvedUser.resolve(userSpec) {
            ids = spec.hostRoot ? HostIdentity(uid: user.uid, gid: user.gid)
                : HostIdentity(uid: user.uid == 0 ? own?.uid ?? 0 : user.uid, gid: user.gid == 0 ? own?.gid ?? 0 : user.gid)
        }
        if ids != nil { resolvedHostIDs[job] = (spec, ids!) }
        return ids
    }

    // MARK: actions

    private func apply(_ actions: [ReplicaLifecycle.Action], to key: Key) {
        guard let replica = replicas[key] else { return }
        for action in actions {
            switch action {
            case .spawn:
                spawn(key, replica)
            case .publish:
                publish(key, replica)
            case .unpublish:
                // Synchronous: when this returns, neither names nor the service proxy hand
                // out the replica any more (SPEC §4 step 1 comes before the notice).
                names.unpublish(job: key.job, index: key.index)
            case .writeLameduckNotice(let deadline, let reason, let note):
                writeNotice(key, deadline: deadline, reason: reason, note: note)
            case .signal(let number):
                try? replica.sandbox?.signal(number)
            case .killCgroup:
                try? replica.sandbox?.killAll()
            case .armTimer(let at):
                armTimer(key, replica, at: at)
            case .cancelTimer:
                replica.timer?.cancel()
                replica.timer = nil
            case .recordExit(let record):
                event(subject: key.description, kind: "exited", message: record.summary)
            case .releaseResources:
                for port in replica.ports.values { allocator.release(port) }
                admitted.remove(key)
                preempting[key] = nil
                releasedResources = true
            case .removeStateDirectory:
                remove([paths.stateDirectory(key)], of: key)
            case .jobFailed(let index, let failures, let lastReason):
                let message = "index \(index) failed \(failures) times; last: \(lastReason)"
                failedJobs[key.job] = message
                event(subject: key.job, kind: "failed", message: message)
            }
        }
        persist(key, replica)
        if replica.lifecycle.state.isTerminal && replica.sandbox == nil {
            settleTerminal(key, replica)
            // Scaled back up (or started again) while it was still in lameduck: the apply saw
            // it stopping and left it, so it is started here, when it has stopped.
            // Only for those two reasons: one that ended for good (delete, droverd's own stop on
            // exit) is not wanted back, and admitting it would settle it again, for ever.
            if replicas[key] != nil, isWanted(key), case .exited(.evicted(let reason)) = replica.lifecycle.state,
               reason == .scaleDown || reason == .stop {
                admit(key)
            }
        } else if case .pending(.waitingForResources) = replica.lifecycle.state, isWanted(key), !admitted.contains(key) {
            // Back in the queue (replaced after an update, preempted): admission decides,
            // highest priority first, so a preempted replica does not take back what was
            // freed for the replica that preempted it.
            releasedResources = true
        }
        if releasedResources {
            releasedResources = false
            admitWaiting()
        }
        // A replica of a rolling update became ready (or failed): the rollout goes on or halts.
        if rollouts[key.job] != nil { rollOut(key.job) }
    }

    private func isWanted(_ key: Key) -> Bool {
        guard !drained, let job = jobs[key.job], !job.stopped, failedJobs[key.job] == nil else { return false }
        return key.index < job.spec.replicas
    }

    /// A replica that came to rest: keep the record of a succeeded or failed batch index (so
    /// it is not run again), drop one that was stopped for good.
    private func settleTerminal(_ key: Key, _ replica: Replica) {
        let job = jobs[key.job]
        let wanted = job.map { !$0.stopped && key.index < $0.spec.replicas } ?? false
        if replica.lifecycle.state.isTerminal && !wanted { forget(key, replica, removeState: job == nil) }
    }

    private func spawn(_ key: Key, _ replica: Replica) {
        let spec = replica.lifecycle.job
        do {
            let ports = try allocatePorts(key, for: spec, previous: replica.ports)
            replica.ports = ports
            let sandboxSpec = try sandboxSpec(key, spec: spec, ports: ports)
            try FileManager.default.createDirectory(atPath: (paths.runDirectory(key) as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            // The replica reads its lameduck notice here (bound read-only into its sandbox).
            try makeDirectory(atPath: paths.runDirectory(key), mode: StatePermissions.sharedDirectory)
            unlink(paths.lameduckFile(key))
            unlink(paths.statusFile(key))
            let logFD = try ReplicaLogs(path: paths.logFile(key)).openForWriting()
            defer { close(logFD) }
            let statusFD = open(paths.statusFile(key), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            defer { if statusFD >= 0 { close(statusFD) } }
            destroyLeaf(key) // a leftover of a crash must not block the new leaf
            let sandbox = try launcher.launch(sandboxSpec, name: key.leafName, stdio: (devNull, logFD, logFD), statusFD: statusFD)
            replica.sandbox = sandbox
            replica.adopted = false
            replica.generation += 1
            replica.unenforced = sandbox.unenforced.map(\.limit)
            watch(key, replica)
            event(subject: key.description, kind: "started", message: "pid \(sandbox.pid)")
            apply(replica.lifecycle.handle(.spawned(pid: sandbox.pid, now: .now)), to: key)
            startHealthChecks(key, replica)
        } catch {
            let message = (error as? LaunchError)?.description ?? "\(error)"
            event(subject: key.description, kind: "start-failed", message: message)
            logger.warning("\(key): \(message)")
            apply(replica.lifecycle.handle(.spawnFailed(message: message, now: .now)), to: key)
        }
    }

    private lazy var devNull: Int32 = open("/dev/null", O_RDWR | O_CLOEXEC)

    private func allocatePorts(_ key: Key, for spec: JobSpec, previous: [String: Int]) throws -> [String: Int] {
        var ports: [String: Int] = [:]
        for name in spec.ports {
            // The same port across restarts when it is still free: clients that remember it
            // (and the names that publish it) keep working. Held or not, it is bind-tested
            // again: something outside drover may have taken it while the replica was down,
            // and a replica never fights over a port (SPEC §10).
            if let port = previous[name] {
                let held = allocator.held.contains(port)
                if held ? PortProbe.isFree(port) : allocator.claim(port, isFree: PortProbe.isFree) {
                    ports[name] = port
                    continue
                }
                if held { allocator.release(port) }
                let replacement = try allocator.allocate(isFree: PortProbe.isFree)
                ports[name] = replacement
                event(subject: key.description, kind: "port-reallocated",
                      message: "port \(name) \(port) was taken by another process; now \(replacement)")
            } else {
                ports[name] = try allocator.allocate(isFree: PortProbe.isFree)
            }
        }
        for (name, port) in previous where ports[name] == nil && !ports.values.contains(port) { allocator.release(port) }
        return ports
    }

    private func sandboxSpec(_ key: Key, spec: JobSpec, ports: [String: Int]) throws -> SandboxSpec {
        let environment = spec.replicaEnvironment(index: key.index, ports: ports, stateDirectory: paths.stateDirectory(key),
                                                  lameduckFile: paths.lameduckFile(key))
        let command = try spec.command.map { try Expansion.expand($0, environment: environment) }
        var sandbox = try isolation(key, spec: spec, command: command, environment: environment)
        let stateDirectory = paths.stateDirectory(key)
        try FileManager.default.createDirectory(atPath: (stateDirectory as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        // Owned by the uid the replica is on the host (root inside maps onto the job's own),
        // 0700 (SPEC §10); set through a descriptor, never through a link planted at its path.
        let user = try ResolvedUser.resolve(sandbox.user)
        let owner = spec.hostRoot ? (user.uid, user.gid)
            : (user.uid == 0 ? sandbox.rootMapsTo!.uid : user.uid, user.gid == 0 ? sandbox.rootMapsTo!.gid : user.gid)
        try makeDirectory(atPath: stateDirectory, mode: StatePermissions.privateDirectory, owner: owner)
        var limits = ResourceLimits(memory: spec.resources.memory, cpu: spec.resources.cpu, pids: spec.resources.pids)
        if spec.priority != .production {
            // SPEC §2: batch and best-effort use only idle CPU.
            limits.cpuWeight = spec.priority == .batch ? 10 : 1
            limits.cpuIdle = true
        }
        sandbox.hostname = key.hostname
        sandbox.stateDirectory = stateDirectory
        // SPEC §10: its own ports and its job's service port, nothing else.
        sandbox.bindablePorts = ports.values.sorted() + (spec.service.map { [$0.port] } ?? [])
        sandbox.network = spec.network
        sandbox.limits = limits
        sandbox.strictLimits = strictLimits
        return sandbox
    }

    /// Who a replica's processes (or an exec probe's) are and what of the host they see
    /// (SPEC §10): the job's user or its own uid, root mapped onto that uid, the job's
    /// writable paths, droverd's own files hidden but for the replica's lameduck notice and
    /// the names files.
    private func isolation(_ key: Key, spec: JobSpec, command: [String], environment: [String: String]) throws -> SandboxSpec {
        let identity = try identity(of: key.job)
        let hidden = [paths.root] + (paths.runtime == "/" ? [] : [paths.runtime])
        return try spec.sandboxSpec(
            command: command, environment: environment, ownUser: .id(uid: identity.uid, gid: identity.gid), rootMapsTo: identity,
            readOnlyPaths: [paths.runDirectory(key)] + (FileManager.default.fileExists(atPath: paths.namesDirectory) ? [paths.namesDirectory] : []),
            hiddenPaths: hidden)
    }

    private func publish(_ key: Key, _ replica: Replica) {
        let declared = replica.lifecycle.job.ports
        let endpoint = NameEndpoint(name: key.description, host: "127.0.0.1",
                                    port: declared.first.flatMap { replica.ports[$0] } ?? 0, ports: replica.ports)
        names.publish(endpoint, job: key.job, index: key.index)
    }

    private func writeNotice(_ key: Key, deadline: Timestamp, reason: EvictionReason, note: String?) {
        var text = "deadline: \(rfc3339(deadline.date))\nreason: \(reason.rawValue)\n"
        if let note { text += "message: \(note)\n" }
        let path = paths.lameduckFile(key)
        let temporary = path + ".new"
        // Atomically: a replica polling for the file never reads half of it.
        if FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: Int(StatePermissions.sharedFile)]) {
            rename(temporary, path)
        }
    }

    private func armTimer(_ key: Key, _ replica: Replica, at deadline: Timestamp) {
        replica.timer?.cancel()
        let delay = max(.zero, deadline - .now)
        if delay == .zero {
            // Due now (a restart with `initial: 0s`): fire in this turn, so the new replica is
            // spawned before the turn's state is written (the fsync stays off the restart path).
            replica.timer = nil
            apply(replica.lifecycle.handle(.timerFired(now: .now)), to: key)
            return
        }
        replica.timer = Task { [weak self] in
            try? await Task.sleep(for: delay)
            if Task.isCancelled { return }
            await self?.timerFired(key)
        }
    }

    private func timerFired(_ key: Key) {
        guard let replica = replicas[key] else { return }
        replica.timer = nil
        apply(replica.lifecycle.handle(.timerFired(now: .now)), to: key)
    }

    // MARK: health

    private func startHealthChecks(_ key: Key, _ replica: Replica) {
        replica.healthTask?.cancel()
        let health = replica.lifecycle.job.health
        guard health.ready != nil || health.live != nil else {
            replica.health = nil
            return
        }
        replica.health = HealthTracker(health)
        let generation = replica.generation
        let started = Timestamp.now
        replica.healthTask = Task { [weak self] in
            var lastStart: [HealthTracker.Check: Timestamp] = [:]
            while !Task.isCancelled {
                guard let self, let due = await self.nextProbe(key, generation, lastStart, started) else { return }
                let delay = due.time - .now
                if delay > .zero { try? await Task.sleep(for: delay) }
                if Task.isCancelled { return }
                lastStart[due.check] = .now
                guard let result = await self.probe(key, generation, due.check) else { return }
                await self.record(key, generation, due.check, result)
            }
        }
    }

    private func nextProbe(_ key: Key, _ generation: UInt64, _ lastStart: [HealthTracker.Check: Timestamp],
                           _ started: Timestamp) -> (check: HealthTracker.Check, time: Timestamp)? {
        guard let replica = replicas[key], replica.generation == generation, let tracker = replica.health else { return nil }
        var best: (check: HealthTracker.Check, time: Timestamp)?
        for check in HealthTracker.Check.allCases {
            // The first probe of a check comes one period after the start.
            guard let time = tracker.nextProbe(check, after: lastStart[check] ?? started) else { continue }
            if best == nil || time < best!.time { best = (check, time) }
        }
        return best
    }

    /// Runs one probe. The network probes await off the actor; an exec probe runs inside the
    /// replica like `drover exec`.
    private func probe(_ key: Key, _ generation: UInt64, _ check: HealthTracker.Check) async -> ProbeResult? {
        guard let replica = replicas[key], replica.generation == generation, let sandbox = replica.sandbox,
              let spec = check == .ready ? replica.lifecycle.job.health.ready : replica.lifecycle.job.health.live
        else { return nil }
        switch spec.probe {
        case .http(let path, let port):
            guard let number = replica.ports[port] else { return ProbeResult(passed: false, message: "no port \(port)") }
            return await HealthProbe.http(port: number, path: path, timeout: spec.timeout)
        case .tcp(let port):
            guard let number = replica.ports[port] else { return ProbeResult(passed: false, message: "no port \(port)") }
            return await HealthProbe.tcp(port: number, timeout: spec.timeout)
        case .exec(let command):
            return await execProbe(key, replica, sandbox: sandbox, command: command, timeout: spec.timeout)
        }
    }

    private func execProbe(_ key: Key, _ replica: Replica, sandbox: Sandbox, command: [String], timeout: Duration) async -> ProbeResult {
        let job = replica.lifecycle.job
        let environment = job.replicaEnvironment(index: key.index, ports: replica.ports, stateDirectory: paths.stateDirectory(key),
                                                 lameduckFile: paths.lameduckFile(key))
        let checker: Sandbox
        do {
            let spec = try isolation(key, spec: job, command: command, environment: environment)
            checker = try launcher.exec(spec, inside: sandbox.pid, cgroupPath: leafPath(key), stdio: (devNull, devNull, devNull))
        } catch {
            return ProbeResult(passed: false, message: "exec: \(error)")
        }
        // Waiting blocks in poll(2): off the actor, on a thread of its own.
        let status = await Task.detached { () -> ExitStatus? in
            let deadline = monotonicMilliseconds() + Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            while true {
                if let status = checker.poll() { return status }
                let left = deadline - monotonicMilliseconds()
                if left <= 0 { return nil }
                var pfd = pollfd(fd: checker.pidfd, events: Int16(POLLIN), revents: 0)
                _ = Glibc.poll(&pfd, 1, Int32(min(left, 1000)))
            }
        }.value
        guard let status else {
            try? checker.signal(SIGKILL)
            _ = checker.wait()
            return ProbeResult(passed: false, message: "timeout after \(formatDuration(timeout))")
        }
        return ProbeResult(passed: status == .exited(0), message: status.description)
    }

    private func record(_ key: Key, _ generation: UInt64, _ check: HealthTracker.Check, _ result: ProbeResult) {
        guard let replica = replicas[key], replica.generation == generation, replica.health != nil else { return }
        let change = replica.health!.record(check, passed: result.passed, message: result.message, at: .now)
        switch change {
        case .becameReady?:
            event(subject: key.description, kind: "ready", message: "\(check) check passed: \(result.message)")
            apply(replica.lifecycle.handle(.becameReady(now: .now)), to: key)
        case .becameUnready?:
            event(subject: key.description, kind: "unready", message: "\(check) check failing: \(result.message)")
            apply(replica.lifecycle.handle(.becameUnready(now: .now)), to: key)
        case .livenessFailed?:
            event(subject: key.description, kind: "unhealthy", message: "live check failed: \(result.message)")
            replica.healthTask?.cancel()
            apply(replica.lifecycle.handle(.evictRequested(.unhealthy, grace: replica.lifecycle.job.lameduck.grace, now: .now)), to: key)
        case nil:
            break
        }
    }

    // MARK: exits

    private func watch(_ key: Key, _ replica: Replica) {
        guard let sandbox = replica.sandbox, let monitor else { return }
        let token = nextToken
        nextToken += 1
        tokens[token] = (key, sandbox.pid)
        do {
            try monitor.watch(pidfd: sandbox.pidfd, token: token)
        } catch {
            logger.error("\(key): cannot watch pid \(sandbox.pid): \(error)")
        }
    }

    private func processExited(token: UInt64) {
        guard let (key, pid) = tokens.removeValue(forKey: token), let replica = replicas[key], let sandbox = replica.sandbox,
              sandbox.pid == pid else { return }
        monitor?.unwatch(pidfd: sandbox.pidfd)
        replica.healthTask?.cancel()
        replica.healthTask = nil
        let reason = exitReason(key, replica, statusFromFile: replica.adopted)
        try? sandbox.cleanup()
        replica.sandbox = nil
        apply(replica.lifecycle.handle(.processExited(reason, now: .now)), to: key)
    }

    /// How the replica's process ended: the OOM killer (memory.events), else its wait status
    /// (from waitid when droverd spawned it, from drover-init's status file otherwise).
    private func exitReason(_ key: Key, _ replica: Replica, statusFromFile: Bool) -> ExitReason {
        let oomKills = (replica.sandbox?.cgroup ?? (try? CgroupLeaf(existing: leafPath(key))))?.stats().oomKills ?? 0
        if oomKills > 0 { return .oomKilled }
        // drover-init's status file says how the workload itself ended (killed by SIGTERM,
        // not "drover-init exited 143"); waitid is the fallback when init could not write it.
        // Never a blocking wait: the actor must not stop for a process that is still alive
        // (its pidfd said it ended; a stale report finds nothing to collect).
        let waited = statusFromFile ? nil : replica.sandbox?.poll()
        if let text = try? String(contentsOfFile: paths.statusFile(key), encoding: .utf8),
           let raw = Int32(text.replacingOccurrences(of: "status=", with: "").trimmingCharacters(in: .whitespacesAndNewlines)) {
            let signal = raw & 0x7f
            return signal == 0 ? .exited(code: (raw >> 8) & 0xff) : .signaled(signal: signal)
        }
        if let waited { return ExitReason(waited) }
        // drover-init itself was killed (cgroup.kill, or SIGKILL from outside).
        return .signaled(signal: SIGKILL)
    }

    // MARK: cgroups

    /// A replica's cgroup leaf, under the tree's root: `…/web.2`.
    private func leafPath(_ key: Key) -> String { tree.root + "/" + key.leafName }

    private func destroyLeaf(_ key: Key) {
        if let leaf = try? CgroupLeaf(existing: leafPath(key)) { try? leaf.destroy() }
    }

    /// Leaves of this droverd's jobs that no record claims (a crash between a spawn and its
    /// save): killed, so that no index ever runs twice. Leaves of jobs it does not know are
    /// not its own (another droverd's, with another state directory) and are left alone.
    private func removeStrayLeaves() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: tree.root) else { return }
        for entry in entries {
            guard let key = ReplicaID(leafName: entry) else { continue }
            guard jobs[key.job] != nil, replicas[key] == nil else { continue }
            if let leaf = try? CgroupLeaf(existing: tree.root + "/" + entry) {
                logger.warning("removing stray cgroup \(entry)")
                try? leaf.destroy()
            }
        }
    }

    // MARK: persistence and views

    /// Write-behind: everything one turn of the actor changes is committed together right
    /// after it, in one transaction (one fsync), off the restart path. A crash before the
    /// commit loses nothing that matters: replicas are found by their cgroups.
    private func persist(_ key: Key, _ replica: Replica) {
        pendingSaves[key] = ReplicaRecord(job: key.job, index: key.index, lifecycle: replica.lifecycle, ports: replica.ports,
                                          unenforced: replica.unenforced)
        pendingRemovals.remove(key)
        scheduleFlush()
    }

    private func event(subject: String, kind: String, message: String) {
        pendingEvents.append((Date(), subject, kind, message))
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        Task { self.flush() }
    }

    func flush() {
        flushScheduled = false
        guard !pendingSaves.isEmpty || !pendingRemovals.isEmpty || !pendingEvents.isEmpty else { return }
        let saves = pendingSaves.keys.sorted().map { pendingSaves[$0]! }
        let removals = pendingRemovals.sorted().map { (job: $0.job, index: $0.index) }
        let events = pendingEvents
        pendingSaves.removeAll()
        pendingRemovals.removeAll()
        pendingEvents.removeAll()
        // The commit (and its fsync) runs on a serial queue of its own: the actor goes on
        // handling exits and spawns meanwhile; the queue keeps the commits in order.
        writer.async { [store, logger] in
            do {
                try store.commit(saves: saves, removals: removals, events: events)
            } catch {
                logger.error("cannot save state: \(error)")
            }
        }
    }

    /// Waits until every commit handed to the writer is done (shutdown).
    func drainWriter() {
        writer.sync {}
    }

    /// Everything changed so far is in the store (for readers of the store: events).
    func syncWrites() {
        flush()
        drainWriter()
    }

    private func rotateLogs() {
        // Only running replicas write.
        for (key, replica) in replicas where replica.sandbox != nil { ReplicaLogs(path: paths.logFile(key)).rotateIfNeeded() }
    }

    func status(job name: String? = nil) -> [JobStatus] {
        jobs.keys.sorted().filter { name == nil || $0 == name }.map { jobName in
            let job = jobs[jobName]!
            let views = replicas.keys.filter { $0.job == jobName }.sorted().map { view($0, replicas[$0]!) }
            return JobStatus(name: jobName, state: jobState(jobName, job, views), reason: failedJobs[jobName] ?? failedRollouts[jobName],
                             spec: job.spec, replicas: views)
        }
    }

    func replicaStatus(_ key: Key) -> ReplicaStatus? {
        replicas[key].map { view(key, $0) }
    }

    private func jobState(_ name: String, _ job: Store.StoredJob, _ views: [ReplicaStatus]) -> String {
        if failedJobs[name] != nil { return "failed" }
        if job.stopped { return "stopped" }
        if job.spec.kind == .batch && views.count == job.spec.replicas && views.allSatisfy({ $0.state == "succeeded" }) {
            return "succeeded"
        }
        return "running"
    }

    private func view(_ key: Key, _ replica: Replica) -> ReplicaStatus {
        let lifecycle = replica.lifecycle
        let stats = replica.sandbox?.cgroup?.stats(controllers: tree.controllers)
        var reason: String?
        switch lifecycle.state {
        case .pending(.waitingForResources): reason = replica.pendingWhy.map { "waiting for resources: \($0)" } ?? "waiting for resources"
        case .pending(.backingOff(let until)): reason = "backing off until \(rfc3339(until.date))"
        case .pending(.draining): reason = "drained: waits for drover undrain"
        case .crashlooping: reason = lifecycle.lastExit.map { "last exit: \($0.reason)" }
        default: reason = nil
        }
        return ReplicaStatus(
            name: key.description, job: key.job, index: key.index, state: lifecycle.state.name, reason: reason,
            pid: replica.sandbox?.pid, ports: replica.ports, restarts: lifecycle.restarts,
            startedAt: replica.sandbox == nil ? nil : lifecycle.startedAt.map { rfc3339($0.date) },
            nextAttempt: lifecycle.nextAttempt.map { rfc3339($0.date) },
            lastExit: lifecycle.lastExit.map(\.summary),
            cpuSeconds: stats?.cpuUsageMicroseconds.map { Double($0) / 1e6 },
            memoryBytes: stats?.memoryCurrent,
            unenforced: replica.unenforced,
            uid: hostIDs(of: key.job, lifecycle.job)?.uid, gid: hostIDs(of: key.job, lifecycle.job)?.gid,
            hostRoot: lifecycle.job.hostRoot ? true : nil,
            cgroup: replica.sandbox == nil ? nil : leafPath(key),
            stateDirectory: paths.stateDirectory(key),
            logFile: paths.logFile(key),
            checks: replica.health.map { tracker in
                HealthTracker.Check.allCases.compactMap { check in
                    tracker[check].map { state in
                        CheckStatus(check: check.rawValue, verdict: state.verdict.rawValue,
                                    consecutiveFailures: state.consecutiveFailures,
                                    lastAt: state.lastResult.map { rfc3339($0.at.date) },
                                    lastMessage: state.lastResult?.message, lastPassed: state.lastResult?.passed)
                    }
                }
            })
    }

    func logs(_ key: Key) -> ReplicaLogs? {
        guard replicas[key] != nil || FileManager.default.fileExists(atPath: paths.logFile(key)) else { return nil }
        return ReplicaLogs(path: paths.logFile(key))
    }

}

/// What replicas may request in all (SPEC §5): detected, or `droverd --capacity`.
struct Capacity: Sendable, Equatable {
    var millicores: Int
    var memory: UInt64

    /// What admission may hand out.
    var resources: Admission.Resources { Admission.Resources(millicores: millicores, memory: memory) }

    static func detect() -> Capacity {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var memory: UInt64 = 0
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kilobytes = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({ UInt64($0) }) {
            memory = kilobytes * 1024
        }
        return Capacity(millicores: cores * 1000, memory: memory)
    }

    /// `cpu=2,memory=20Gi` (either may be left out: detected).
    static func parse(_ text: String) throws(InputError) -> Capacity {
        var capacity = detect()
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw InputError("--capacity \"\(text)\"", "expected cpu=CORES,memory=SIZE such as cpu=2,memory=20Gi") }
            switch pair[0] {
            case "cpu": capacity.millicores = try Quantity.cpu(pair[1]).millicores
            case "memory": capacity.memory = try Quantity.size(pair[1])
            default: throw InputError("--capacity \"\(text)\"", "unknown resource \"\(pair[0])\" (cpu and memory can be given)")
            }
        }
        return capacity
    }
}

/// Where droverd keeps things under its state directory.
struct DaemonPaths: Sendable {
    let root: String
    /// The API socket's directory, with the names files (`names/<job>`).
    var runtime: String = "/run/drover"

    var namesDirectory: String { runtime + "/names" }

    var database: String { root + "/drover.db" }
    var states: String { root + "/state" }
    var runs: String { root + "/run" }
    var logs: String { root + "/logs" }
    func stateDirectory(_ key: Supervisor.Key) -> String { "\(jobStateDirectory(key.job))/\(key.index)" }
    func jobStateDirectory(_ job: String) -> String { "\(states)/\(job)" }
    func runDirectory(_ key: Supervisor.Key) -> String { "\(runs)/\(key.job)/\(key.index)" }
    func lameduckFile(_ key: Supervisor.Key) -> String { runDirectory(key) + "/lameduck" }
    func statusFile(_ key: Supervisor.Key) -> String { runDirectory(key) + "/status" }
    func logFile(_ key: Supervisor.Key) -> String { "\(logs)/\(key.job)/\(key.index).log" }
}

func monotonicMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}

extension Timestamp {
    static var now: Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(sinceEpoch: .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec))
    }

    var date: Date {
        let (seconds, attoseconds) = sinceEpoch.components
        return Date(timeIntervalSince1970: Double(seconds) + Double(attoseconds) / 1e18)
    }
}
