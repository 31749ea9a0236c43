/// The rolling update (SPEC §5) as a rule with no I/O: one replica at a time gets the new
/// spec; the next old one is evicted (reason `update`) only when every replica the rollout
/// started on the new spec is ready. A new version that does not become ready halts the
/// rollout, and the old replicas keep serving.
public enum RollingUpdate {
    /// A replica of the job at an index below the wanted count.
    public struct Replica: Sendable {
        public var id: ReplicaID
        public var lifecycle: ReplicaLifecycle
        /// It has a process (or had one a moment ago): an old one must be replaced, not retargeted.
        public var live: Bool
        /// The rollout under way evicted it and it came back on the new spec.
        public var startedByRollout: Bool

        public init(id: ReplicaID, lifecycle: ReplicaLifecycle, live: Bool, startedByRollout: Bool) {
            self.id = id
            self.lifecycle = lifecycle
            self.live = live
            self.startedByRollout = startedByRollout
        }
    }

    public enum Step: Equatable, Sendable {
        /// A replica of the new version is not ready yet. `status` is the job's new status
        /// line; nil keeps the one it has (nothing has gone wrong yet).
        case wait(status: String?)
        /// Evict this old replica (reason `update`) and give it the new spec.
        case replace(ReplicaID)
        /// Every replica is on the new spec and ready (or there was nothing to update).
        case done
    }

    /// A spec change replaces a replica unless only the replica count changed: scaling never
    /// restarts the replicas that stay (they keep the DROVER_REPLICAS they started with).
    public static func needsReplacement(running: JobSpec, desired: JobSpec) -> Bool {
        var scaled = running
        scaled.replicas = desired.replicas
        return scaled != desired
    }

    /// The next step of the job's rollout to `desired`, given its replicas (any order).
    public static func next(desired: JobSpec, replicas: [Replica]) -> Step {
        let sorted = replicas.sorted { $0.id < $1.id }
        let old = sorted.filter { needsReplacement(running: $0.lifecycle.job, desired: desired) && $0.live }
        let notReady = sorted.filter { replica in
            guard !needsReplacement(running: replica.lifecycle.job, desired: desired), replica.startedByRollout else { return false }
            if case .ready = replica.lifecycle.state { return false }
            return true
        }
        if let waiting = notReady.first {
            let lifecycle = waiting.lifecycle
            if case .crashlooping = lifecycle.state {
                return .wait(status: "rollout halted: \(waiting.id) of the new version is crashlooping (\(lifecycle.lastExit.map(\.summary) ?? "no exit yet")); the old replicas keep serving")
            }
            if lifecycle.restarts > 0 || lifecycle.lastExit != nil {
                return .wait(status: "rollout waiting: \(waiting.id) of the new version is not ready (\(lifecycle.state.name)); the old replicas keep serving")
            }
            return .wait(status: nil)
        }
        return old.first.map { .replace($0.id) } ?? .done
    }
}

extension ExitRecord {
    /// How `ps` and `inspect` show the end of a run: `exited 1`, or with the stop's outcome
    /// (`evicted(drain): graceful, exited 0 after 0.250s`).
    public var summary: String {
        switch stop {
        case nil:
            return reason.description
        case .graceful(let status, let after)?:
            return "\(reason): graceful, \(status) after \(Self.seconds(after))"
        case .killed(let after)?:
            return "\(reason): killed at the deadline, \(Self.seconds(after)) after the notice"
        }
    }

    /// `1.250s`: seconds with three decimals, rounded to the millisecond.
    public static func seconds(_ duration: Duration) -> String {
        let (whole, attoseconds) = duration.components
        let milliseconds = whole * 1000 + Int64((Double(attoseconds) / 1e15).rounded())
        let magnitude = milliseconds.magnitude
        let fraction = String(magnitude % 1000)
        return (milliseconds < 0 ? "-" : "") + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction + "s"
    }
}
