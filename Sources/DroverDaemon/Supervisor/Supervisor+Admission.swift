import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Admission and preemption (SPEC §5): `Admission` decides, this performs.
extension Supervisor {
    /// Starts the replica if admission says it fits, or preempts the victims admission
    /// chose for it; otherwise it waits, saying why (`Admission` has the rule).
    func admit(_ key: Key) {
        guard !drained, let replica = replicas[key] else { return }
        if admitted.contains(key) {
            perform(replica.lifecycle.handle(.startRequested(now: .now)), for: key)
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
            perform(replica.lifecycle.handle(.startRequested(now: .now)), for: key)
        case .wait(let why):
            replica.pendingWhy = why
        case .preempt(let victims, let why):
            replica.pendingWhy = why
            for victim in victims {
                preempting[victim] = key
                event(subject: victim.description, kind: "preempting", message: "to fit \(key) (production)")
                guard let target = replicas[victim] else { continue }
                perform(target.lifecycle.handle(.evictRequested(.preempted, grace: target.lifecycle.job.lameduck.grace, now: .now)), for: victim)
            }
        }
    }

    /// Resources came free: waiting replicas, highest priority first, try again.
    func admitWaiting() {
        let waiting = replicas.filter { key, replica in
            if case .pending(.waitingForResources) = replica.lifecycle.state { return isWanted(key) }
            return false
        }
        for key in Admission.retryOrder(waiting.map { (id: $0.key, priority: $0.value.lifecycle.job.priority) }) { admit(key) }
    }
}
