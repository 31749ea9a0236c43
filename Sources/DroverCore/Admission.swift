/// Admission and preemption (SPEC §5) as a rule with no I/O: what replicas hold, what the host
/// has, and one replica asking; out comes admit, wait (saying why), or preempt these victims.
public enum Admission {
    /// CPU and memory a replica requests (`resources:`), or the host has for requests.
    public struct Resources: Equatable, Hashable, Sendable {
        public var millicores: Int
        public var memory: UInt64

        public init(millicores: Int, memory: UInt64) {
            self.millicores = millicores
            self.memory = memory
        }

        /// What a replica of `job` holds while admitted (nothing requested: nothing held).
        public init(requestedBy job: JobSpec) {
            self.init(millicores: job.resources.cpu?.millicores ?? 0, memory: job.resources.memory ?? 0)
        }
    }

    /// A replica that holds its requests now.
    public struct Holder: Equatable, Sendable {
        public var id: ReplicaID
        public var priority: JobSpec.Priority
        public var request: Resources
        /// When its current process started; nil counts as oldest.
        public var startedAt: Timestamp?

        public init(id: ReplicaID, priority: JobSpec.Priority, request: Resources, startedAt: Timestamp?) {
            self.id = id
            self.priority = priority
            self.request = request
            self.startedAt = startedAt
        }
    }

    public enum Decision: Equatable, Sendable {
        /// It fits: reserve and start.
        case admit
        /// It waits; `why` is what `ps` shows after "waiting for resources: ".
        case wait(why: String)
        /// It fits once these replicas are gone: evict them (reason `preempted`), in order.
        case preempt(victims: [ReplicaID], why: String)
    }

    /// Whether `request` of a replica of `priority` fits beside `admitted` within `capacity`.
    /// To fit a production replica, the lowest-priority (then newest) replicas are preempted,
    /// only as many as needed; production never preempts production, and nothing else
    /// preempts at all. `awaitingVictims`: victims preempted for this replica are still
    /// stopping (it waits for them rather than choosing more).
    public static func decide(request: Resources, priority: JobSpec.Priority, admitted: [Holder],
                              capacity: Resources, awaitingVictims: Bool) -> Decision {
        let freeCPU = capacity.millicores - admitted.reduce(0) { $0 + $1.request.millicores }
        let freeMemory = Int64(capacity.memory) - Int64(admitted.reduce(UInt64(0)) { $0 + $1.request.memory })
        if request.millicores <= freeCPU && Int64(request.memory) <= freeMemory { return .admit }
        let why = shortfall(request: request, freeCPU: freeCPU, freeMemory: freeMemory)
        guard priority == .production else { return .wait(why: why) }
        if awaitingVictims { return .wait(why: why + "; waiting for preempted replicas to stop") }
        var victims: [ReplicaID] = []
        var cpu = freeCPU
        var memory = freeMemory
        for candidate in preemptionOrder(admitted.filter { $0.priority < priority })
        where request.millicores > cpu || Int64(request.memory) > memory {
            victims.append(candidate.id)
            cpu += candidate.request.millicores
            memory += Int64(candidate.request.memory)
        }
        guard request.millicores <= cpu && Int64(request.memory) <= memory else { return .wait(why: why) } // not even preempting helps
        return .preempt(victims: victims, why: why + "; preempting \(victims.map(\.description).joined(separator: ", "))")
    }

    /// Victims first: the lowest priority, then the newest.
    public static func preemptionOrder(_ holders: [Holder]) -> [Holder] {
        let oldest = Timestamp(sinceEpoch: .zero)
        return holders.sorted { a, b in
            if a.priority != b.priority { return a.priority < b.priority }
            if (a.startedAt ?? oldest) != (b.startedAt ?? oldest) { return (a.startedAt ?? oldest) > (b.startedAt ?? oldest) }
            return a.id < b.id
        }
    }

    /// Waiting replicas try again in this order when resources come free: the highest
    /// priority first (a preempted replica does not take back what was freed for the one
    /// that preempted it), then by name.
    public static func retryOrder(_ waiting: [(id: ReplicaID, priority: JobSpec.Priority)]) -> [ReplicaID] {
        waiting.sorted { a, b in a.priority != b.priority ? a.priority > b.priority : a.id < b.id }.map(\.id)
    }

    /// `drover drain` evicts in this order: the lowest priority first, then by name.
    public static func drainOrder(_ replicas: [(id: ReplicaID, priority: JobSpec.Priority)]) -> [ReplicaID] {
        replicas.sorted { a, b in a.priority != b.priority ? a.priority < b.priority : a.id < b.id }.map(\.id)
    }

    /// `needs 1 cpu, 0.5 free; needs 512Mi memory, 300Mi free`.
    public static func shortfall(request: Resources, freeCPU: Int, freeMemory: Int64) -> String {
        var parts: [String] = []
        if request.millicores > freeCPU {
            parts.append("needs \(CPUCores(millicores: request.millicores)) cpu, \(CPUCores(millicores: max(0, freeCPU))) free")
        }
        if Int64(request.memory) > freeMemory {
            parts.append("needs \(formatSize(request.memory)) memory, \(formatSize(UInt64(max(0, freeMemory)))) free")
        }
        return parts.joined(separator: "; ")
    }
}
