/// One replica index's lifecycle (SPEC §3, §4) as a value with no I/O: the daemon's actor
/// feeds it events (each carrying `now`) and carries out the actions it returns, in order.
/// `Codable` so that droverd, which is crash-only, can store it and pick up where it was:
/// deadlines are wall-clock ``Timestamp``s and ``State/deadline`` says which timer to re-arm.
///
/// Each state has at most one deadline and the machine keeps at most one timer: `armTimer`
/// replaces the armed one. Events that make no sense in the current state (a late timer, a
/// second exit report, readiness of a replica being stopped) are ignored: they return no
/// actions and change nothing, because the daemon merges several event sources and some
/// reports will always arrive late.
///
/// Resources (ports, admission) are held from `starting` until the replica comes to rest in
/// `pending(waitingForResources)`, `pending(draining)` or a terminal state; a replica backing
/// off keeps them, so its restart needs no new admission (as a crashing Borg task keeps its
/// slot). `startRequested` therefore means "admitted: go".
public struct ReplicaLifecycle: Codable, Equatable, Sendable {
    public enum PendingReason: Hashable, Codable, Sendable {
        /// Not admitted yet; admission says why (`needs 512Mi memory, 300Mi free`).
        case waitingForResources
        /// Restarting at `until`, after a failure (the first few; then it is crashlooping).
        case backingOff(until: Timestamp)
        /// Evicted by `drover drain`; waits for `drover undrain` and admission.
        case draining
    }

    public enum State: Hashable, Codable, Sendable {
        case pending(PendingReason)
        /// Spawn requested, no pid yet.
        case starting
        /// Alive, not (or no longer) passing its ready check.
        case running(since: Timestamp)
        /// Alive and published: the ready check passes, or the job has none.
        case ready(since: Timestamp)
        /// Unpublished and noticed; exits by itself before `deadline`, or is killed then.
        case lameduck(deadline: Timestamp)
        /// Its cgroup was killed; waiting for the exit report, killing again at `deadline`.
        case stopping(deadline: Timestamp)
        /// Failed ``RestartRule/crashloopThreshold`` times in a row; next start at `nextAttempt`.
        case crashlooping(nextAttempt: Timestamp)
        /// Terminal: down and not restarted (clean exit, policy, scale-down, stop, delete).
        case exited(ExitReason)
        /// Terminal: a batch index exited 0.
        case succeeded(ExitReason)
        /// Terminal: failed and not restarted (policy `never`, or a batch index gave up).
        case failed(ExitReason)

        /// The word `ps` shows.
        public var name: String {
            switch self {
            case .pending: return "pending"
            case .starting: return "starting"
            case .running: return "running"
            case .ready: return "ready"
            case .lameduck: return "lameduck"
            case .stopping: return "stopping"
            case .crashlooping: return "crashlooping"
            case .exited: return "exited"
            case .succeeded: return "succeeded"
            case .failed: return "failed"
            }
        }

        /// The state's one deadline: the timer that must be armed while in it.
        public var deadline: Timestamp? {
            switch self {
            case .pending(.backingOff(let until)): return until
            case .crashlooping(let nextAttempt): return nextAttempt
            case .lameduck(let deadline), .stopping(let deadline): return deadline
            default: return nil
            }
        }

        public var isTerminal: Bool {
            switch self {
            case .exited, .succeeded, .failed: return true
            default: return false
            }
        }
    }

    public enum Event: Hashable, Sendable {
        /// Admission reserved resources for the replica: start it.
        case startRequested(now: Timestamp)
        case spawned(pid: Int32, now: Timestamp)
        case spawnFailed(message: String, now: Timestamp)
        /// The ready check passed.
        case becameReady(now: Timestamp)
        /// The ready check failed `failures` times in a row.
        case becameUnready(now: Timestamp)
        /// drover-init or the cgroup reported the end (use ``ExitReason/init(_:)`` for a status,
        /// `.oomKilled` when memory.events says so).
        case processExited(ExitReason, now: Timestamp)
        /// Stop the replica through the lameduck protocol. `drover stop` and `drover delete`
        /// come here too, as reasons `stop` and `delete`. `note`: the operator's words
        /// (`drover evict --reason`), written into this eviction's notice only.
        case evictRequested(EvictionReason, grace: Duration, now: Timestamp, note: String? = nil)
        /// The armed timer went off.
        case timerFired(now: Timestamp)
    }

    public enum Action: Hashable, Sendable {
        /// Start the process at this index, with its state directory.
        case spawn
        /// Add the replica to names and the service proxy.
        case publish
        /// Remove it from names and the proxy. Always comes before the lameduck notice, so no
        /// new connection reaches a replica that was told to go.
        case unpublish
        /// Write `DROVER_LAMEDUCK_FILE`: the deadline (RFC 3339), the reason and the note of
        /// the eviction request it is for, if it has one.
        case writeLameduckNotice(deadline: Timestamp, reason: EvictionReason, note: String? = nil)
        /// Deliver this signal (the job's lameduck signal) to the replica.
        case signal(Int32)
        /// Kill every process in the replica's cgroup (`cgroup.kill`).
        case killCgroup
        /// Arm the replica's one timer (replacing any armed one); report `timerFired` then.
        case armTimer(at: Timestamp)
        case cancelTimer
        /// Store and show how the run ended.
        case recordExit(ExitRecord)
        /// Give back the replica's ports and admitted resources.
        case releaseResources
        /// The job was deleted: its state directory goes too (SPEC §2).
        case removeStateDirectory
        /// A batch index gave up: the whole job is `failed`, naming the index and why.
        case jobFailed(index: Int, failures: Int, lastReason: ExitReason)
    }

    /// The spec this replica runs. A rolling update sets the new spec after sending the old
    /// replica `evictRequested(.update)`, so the old process gets its own lameduck signal.
    public var job: JobSpec
    /// The replica number (`web/2` → 2); a replacement keeps it.
    public let index: Int
    public private(set) var state: State
    /// The live process (drover-init), while there is one.
    public private(set) var pid: Int32?
    /// When the current or last process was spawned (`ps` AGE).
    public private(set) var startedAt: Timestamp?
    /// Restarts by policy after the replica ended by itself (`ps` RESTARTS). Replacements
    /// after an eviction are not counted: the replica did nothing wrong.
    public private(set) var restarts = 0
    public private(set) var failures = FailureCount()
    public private(set) var lastExit: ExitRecord?

    /// A stop under way (or requested while `starting`, carried out once the pid is known).
    private var stop: StopRequest?
    /// The longest finished ready stretch of the current run (the one under way is measured
    /// from `ready(since:)`), so a replica healthy for hours that then flapped still earns
    /// `reset_after`.
    private var healthyStretch: Duration = .zero

    private struct StopRequest: Codable, Equatable, Sendable {
        var reason: EvictionReason
        var grace: Duration
        /// The request's note (`drover evict --reason`): it goes with the request, so a later
        /// eviction of the index never carries it.
        var note: String?
        /// When the notice went out; nil while the stop waits for the spawn to finish.
        var noticedAt: Timestamp?
    }

    /// How often a killed replica that has not been reported dead is killed again (a process
    /// in uninterruptible sleep may outlive one `cgroup.kill`).
    public static let killRetryInterval: Duration = .seconds(10)

    /// A new replica waiting for admission.
    public init(job: JobSpec, index: Int) {
        self.job = job
        self.index = index
        self.state = .pending(.waitingForResources)
    }

    /// When it starts again, while backing off or crashlooping (`ps` shows it).
    public var nextAttempt: Timestamp? {
        switch state {
        case .pending(.backingOff(let until)): return until
        case .crashlooping(let nextAttempt): return nextAttempt
        default: return nil
        }
    }

    /// Applies `event`; returns what the caller must do, in order. `jitterSample` (in -1...1)
    /// moves a restart delay by ±`jitter`; tests pass a fixed one.
    public mutating func handle(_ event: Event, jitterSample: Double = .random(in: -1...1)) -> [Action] {
        switch (state, event) {
        case (.pending(.waitingForResources), .startRequested), (.pending(.draining), .startRequested):
            state = .starting
            return [.spawn]
        case (.exited(let reason), .startRequested) where reason != .evicted(.delete),
             (.failed(let reason), .startRequested):
            // `drover start` after a stop or a failure: a fresh start, with fresh patience.
            failures = FailureCount()
            state = .starting
            return [.spawn]

        case (.starting, .spawned(let pid, let now)):
            self.pid = pid
            startedAt = now
            healthyStretch = .zero
            if let deferred = stop {
                return beginStop(deferred.reason, grace: deferred.grace, note: deferred.note, now: now)
            }
            if job.health.ready == nil {
                state = .ready(since: now)
                return [.publish]
            }
            state = .running(since: now)
            return []
        case (.starting, .spawnFailed(let message, let now)):
            let reason = ExitReason.spawnFailed(message: message)
            let record = ExitRecord(reason: reason, at: now, stop: nil)
            lastExit = record
            let decideOn = stop.map { ExitReason.evicted($0.reason) } ?? reason
            stop = nil
            return [.recordExit(record)] + settle(after: decideOn, healthyFor: .zero, now: now, jitterSample: jitterSample)

        case (.running, .becameReady(let now)):
            state = .ready(since: now)
            return [.publish]
        case (.ready(let since), .becameUnready(let now)):
            healthyStretch = max(healthyStretch, now - since)
            state = .running(since: now)
            return [.unpublish]

        case (.running, .processExited(let reason, let now)), (.ready, .processExited(let reason, let now)):
            let healthyFor = currentHealthyStretch(now: now)
            var actions: [Action] = []
            if case .ready = state { actions.append(.unpublish) }
            let record = ExitRecord(reason: reason, at: now, stop: nil)
            lastExit = record
            pid = nil
            actions.append(.recordExit(record))
            return actions + settle(after: reason, healthyFor: healthyFor, now: now, jitterSample: jitterSample)
        case (.lameduck, .processExited(let status, let now)), (.stopping, .processExited(let status, let now)):
            guard let request = stop, let noticedAt = request.noticedAt else { return [] }
            let drained = now - noticedAt
            let outcome: StopOutcome
            if case .lameduck = state {
                outcome = .graceful(status: status, after: drained)
            } else {
                outcome = .killed(after: drained)
            }
            // A failed liveness check is the replica's failure, shown as `health`.
            let reason: ExitReason = request.reason == .unhealthy ? .health : .evicted(request.reason)
            let record = ExitRecord(reason: reason, at: now, stop: outcome)
            lastExit = record
            pid = nil
            stop = nil
            return [.cancelTimer, .recordExit(record)]
                + settle(after: reason, healthyFor: healthyStretch, now: now, jitterSample: jitterSample)

        case (.running, .evictRequested(let reason, let grace, let now, let note)),
             (.ready, .evictRequested(let reason, let grace, let now, let note)):
            return beginStop(reason, grace: grace, note: note, now: now)
        case (.starting, .evictRequested(let reason, let grace, _, let note)):
            var request = stop ?? StopRequest(reason: reason, grace: grace, note: note, noticedAt: nil)
            if reason.finality >= request.reason.finality { (request.reason, request.note) = (reason, note) }
            request.grace = min(request.grace, grace)
            stop = request
            return []
        case (.lameduck(let deadline), .evictRequested(let reason, let grace, let now, let note)):
            guard var request = stop else { return [] }
            // The winning request's note: the notice is rewritten for that request alone.
            if reason.finality >= request.reason.finality { (request.reason, request.note) = (reason, note) }
            stop = request
            // A second request may shorten the grace, never lengthen it.
            let shorter = now + max(grace, .zero)
            guard shorter < deadline else { return [] }
            state = .lameduck(deadline: shorter)
            return [.writeLameduckNotice(deadline: shorter, reason: request.reason, note: request.note), .armTimer(at: shorter)]
        case (.stopping, .evictRequested(let reason, _, _, let note)):
            if var request = stop, reason.finality >= request.reason.finality {
                (request.reason, request.note) = (reason, note)
                stop = request
            }
            return []
        case (.pending, .evictRequested(let reason, _, let now, _)),
             (.crashlooping, .evictRequested(let reason, _, let now, _)):
            return evictWithoutProcess(reason, now: now)
        case (_, .evictRequested(.delete, _, _, _)) where state.isTerminal && state != .exited(.evicted(.delete)):
            state = .exited(.evicted(.delete))
            return [.removeStateDirectory]

        case (.pending(.backingOff(let until)), .timerFired(let now)) where now >= until,
             (.crashlooping(let until), .timerFired(let now)) where now >= until:
            restarts += 1
            state = .starting
            return [.spawn]
        case (.lameduck(let deadline), .timerFired(let now)) where now >= deadline,
             (.stopping(let deadline), .timerFired(let now)) where now >= deadline:
            let retry = now + Self.killRetryInterval
            state = .stopping(deadline: retry)
            return [.killCgroup, .armTimer(at: retry)]

        default:
            return []
        }
    }

    /// SPEC §4 steps 1–3: unpublish, notice, signal, then wait for the exit or the deadline.
    private mutating func beginStop(_ reason: EvictionReason, grace: Duration, note: String?, now: Timestamp) -> [Action] {
        healthyStretch = currentHealthyStretch(now: now)
        let deadline = now + max(grace, .zero)
        stop = StopRequest(reason: reason, grace: grace, note: note, noticedAt: now)
        state = .lameduck(deadline: deadline)
        return [.unpublish, .writeLameduckNotice(deadline: deadline, reason: reason, note: note),
                .signal(job.lameduck.signal), .armTimer(at: deadline)]
    }

    /// An eviction of a replica with no process (waiting, backing off, crashlooping): the
    /// eviction's rule applies at once, with nothing to signal.
    private mutating func evictWithoutProcess(_ reason: EvictionReason, now: Timestamp) -> [Action] {
        let holdsResources = state.deadline != nil
        var counts = failures
        let decision = RestartRule(job).decide(after: .evicted(reason), failures: &counts, healthyFor: .zero,
                                               jitterSample: 0)
        switch decision {
        case .restart:
            return []  // unhealthy: nothing is running to be unhealthy
        case .requeue:
            failures = counts  // `update` forgets the old spec's failures
            // Already waiting, or draining (an eviction does not undrain): nothing to do.
            if !holdsResources { return [] }
        case .holdUntilUndrained, .stayDown:
            break
        }
        return (holdsResources ? [.cancelTimer] : [])
            + apply(decision, reason: .evicted(reason), now: now, releasing: holdsResources)
    }

    /// After a run ended (the process is gone, resources still held): the rule's decision.
    private mutating func settle(after reason: ExitReason, healthyFor: Duration, now: Timestamp,
                                 jitterSample: Double) -> [Action] {
        let decision = RestartRule(job).decide(after: reason, failures: &failures, healthyFor: healthyFor,
                                               jitterSample: jitterSample)
        return apply(decision, reason: reason, now: now, releasing: true)
    }

    private mutating func apply(_ decision: RestartDecision, reason: ExitReason, now: Timestamp,
                                releasing: Bool) -> [Action] {
        let release: [Action] = releasing ? [.releaseResources] : []
        switch decision {
        case .restart(let delay, let crashlooping):
            let at = now + delay
            state = crashlooping ? .crashlooping(nextAttempt: at) : .pending(.backingOff(until: at))
            return [.armTimer(at: at)]
        case .requeue:
            state = .pending(.waitingForResources)
            return release
        case .holdUntilUndrained:
            state = .pending(.draining)
            return release
        case .stayDown(.policyNever):
            state = reason == .exited(code: 0) ? .exited(reason) : .failed(reason)
            return release
        case .stayDown(.exitedCleanly), .stayDown(.removed):
            state = .exited(reason)
            return release + (reason == .evicted(.delete) ? [.removeStateDirectory] : [])
        case .stayDown(.succeeded):
            state = .succeeded(reason)
            return release
        case .stayDown(.gaveUp(let count, let lastReason)):
            state = .failed(lastReason)
            return release + [.jobFailed(index: index, failures: count, lastReason: lastReason)]
        }
    }

    private func currentHealthyStretch(now: Timestamp) -> Duration {
        if case .ready(let since) = state { return max(healthyStretch, now - since) }
        return healthyStretch
    }
}

/// How a replica's run ended, as stored and shown by `inspect` (SPEC §3, §4 step 5).
public struct ExitRecord: Hashable, Codable, Sendable {
    /// What ended it: its own exit, or the eviction (`evicted(drain)`, `health`).
    public var reason: ExitReason
    public var at: Timestamp
    /// How a stop drover asked for went; nil when the replica ended by itself.
    public var stop: StopOutcome?

    public init(reason: ExitReason, at: Timestamp, stop: StopOutcome? = nil) {
        self.reason = reason
        self.at = at
        self.stop = stop
    }
}

/// SPEC §4 step 5: whether an evicted replica left by itself in time.
public enum StopOutcome: Hashable, Codable, Sendable {
    /// Exited before the deadline with `status`, `after` the notice (its drain time).
    case graceful(status: ExitReason, after: Duration)
    /// Still there at the deadline; its cgroup was killed. `after` is notice to death.
    case killed(after: Duration)
}

extension EvictionReason {
    /// When stops overlap, the more final reason decides what happens after the exit: a
    /// delete during an update must not bring a replacement.
    fileprivate var finality: Int {
        switch self {
        case .delete: return 3
        case .stop, .scaleDown: return 2
        case .drain: return 1
        case .manual, .preempted, .update, .unhealthy: return 0
        }
    }
}
