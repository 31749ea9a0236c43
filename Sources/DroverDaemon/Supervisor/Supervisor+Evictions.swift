import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Evictions (SPEC §4): `drover evict`, `drover drain`/`undrain`, and the supervisor's own.
extension Supervisor {
    /// `drover evict NAME`: the lameduck protocol with reason `manual` (a serving replica is
    /// replaced at the same index). A job name evicts each of its replicas.
    func evict(job: String, index: Int?, grace: Duration?, note: String?) throws -> [String] {
        defer { endTurn() }
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
            perform(replica.lifecycle.handle(.evictRequested(.manual, grace: grace, now: .now, note: note)), for: key)
            evicted.append(key.description)
        }
        return evicted
    }

    /// `drover drain`: evict everything, lowest priority first, and start nothing until
    /// `undrain`.
    func drain(grace: Duration?) throws -> [String] {
        defer { syncProxies() }
        defer { endTurn() }
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
            perform(replica.lifecycle.handle(.evictRequested(.drain, grace: grace, now: .now)), for: key)
        }
        return evicted
    }

    func undrain() throws {
        drained = false
        try store.setDrained(false)
        event(subject: "droverd", kind: "undrain", message: "starting replicas again")
        reconcile()
    }

    func evict(_ key: Key, reason: EvictionReason) {
        guard let replica = replicas[key] else { return }
        if case .lameduck = replica.lifecycle.state { return }
        if case .stopping = replica.lifecycle.state { return }
        perform(replica.lifecycle.handle(.evictRequested(reason, grace: replica.lifecycle.job.lameduck.grace, now: .now)), for: key)
    }
}
