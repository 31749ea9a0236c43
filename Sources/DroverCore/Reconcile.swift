/// Desired vs actual (SPEC §2, §5) as a rule with no I/O: which replicas to create, which to
/// retarget to a new spec in place (a scale-only change), which to admit again, and which to
/// stop and why. Replacing replicas whose spec changed is the rolling update's
/// (``RollingUpdate``), one at a time.
public enum Reconcile {
    /// A job as declared, and whether it runs.
    public struct Desired: Sendable {
        public var spec: JobSpec
        /// `drover stop JOB`.
        public var stopped: Bool
        /// A batch index gave up (or the job was refused): no replica runs until it changes.
        public var failed: Bool

        public init(spec: JobSpec, stopped: Bool = false, failed: Bool = false) {
            self.spec = spec
            self.stopped = stopped
            self.failed = failed
        }

        /// How many indices should run.
        public var wanted: Int { stopped || failed ? 0 : spec.replicas }
    }

    /// A replica droverd holds.
    public struct Actual: Sendable {
        public var id: ReplicaID
        public var lifecycle: ReplicaLifecycle
        /// It has a sandbox (a process droverd watches).
        public var hasSandbox: Bool

        public init(id: ReplicaID, lifecycle: ReplicaLifecycle, hasSandbox: Bool) {
            self.id = id
            self.lifecycle = lifecycle
            self.hasSandbox = hasSandbox
        }

        /// A process is there, or was a moment ago (its exit not handled yet).
        public var live: Bool { hasSandbox || lifecycle.pid != nil }
    }

    public enum Step: Equatable, Sendable {
        /// A new replica at this index, waiting for admission.
        case create(ReplicaID)
        /// Give it the desired spec without a restart (only the count changed, or it has no
        /// process to replace).
        case retarget(ReplicaID)
        /// Ask admission to start it (waiting, drained, or replaced after an eviction).
        case admit(ReplicaID)
        /// Stop it through the lameduck protocol.
        case evict(ReplicaID, EvictionReason)
        /// It is down for good: drop it (and its state directory with `removeState`).
        case forget(ReplicaID, removeState: Bool)
    }

    /// The indices below the wanted count of `desired`, given the job's replicas.
    public static func fill(_ desired: Desired, actual: [Actual]) -> [Step] {
        let byIndex = Dictionary(actual.map { ($0.id.index, $0) }, uniquingKeysWith: { first, _ in first })
        var steps: [Step] = []
        for index in 0..<desired.wanted {
            let id = ReplicaID(job: desired.spec.name, index: index)
            guard let replica = byIndex[index] else {
                steps.append(.create(id))
                steps.append(.admit(id))
                continue
            }
            if RollingUpdate.needsReplacement(running: replica.lifecycle.job, desired: desired.spec) && replica.live {
                continue // replaced by the rolling update, one at a time
            }
            if replica.lifecycle.job != desired.spec { steps.append(.retarget(id)) }
            switch replica.lifecycle.state {
            case .pending(.waitingForResources), .exited(.evicted), .pending(.draining):
                // Replaced after an update, or scaled back up / started again.
                steps.append(.admit(id))
            default:
                break
            }
        }
        return steps
    }

    /// The job's replicas that must go: past the wanted count, or all of a deleted job's
    /// (`desired` nil). While the job's rollout is under way, running replicas past a lowered
    /// count keep serving until it is done (an apply that updates and scales down keeps as
    /// many ready replicas as the new count throughout).
    public static func extras(_ desired: Desired?, actual: [Actual], rollingOut: Bool) -> [Step] {
        actual.sorted { $0.id < $1.id }.compactMap { replica -> Step? in
            guard let desired else { return stop(replica, reason: .delete) }
            guard replica.id.index >= desired.wanted else { return nil }
            if rollingOut, !desired.stopped, replica.hasSandbox { return nil }
            return stop(replica, reason: desired.stopped ? .stop : .scaleDown)
        }
    }

    /// Stopping one replica: one being stopped already is left to finish; one with no process
    /// (or at rest) is dropped; a live one is evicted.
    public static func stop(_ replica: Actual, reason: EvictionReason) -> Step? {
        switch replica.lifecycle.state {
        case .lameduck, .stopping: return nil
        default: break
        }
        if replica.lifecycle.state.isTerminal || !replica.live { return .forget(replica.id, removeState: reason == .delete) }
        return .evict(replica.id, reason)
    }
}
