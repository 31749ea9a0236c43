import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// The rolling update (SPEC §5): `RollingUpdate` decides the next step, this performs it.
extension Supervisor {
    /// Rolling update (SPEC §5): one replica at a time gets the new spec; the next old one is
    /// evicted (reason `update`) only when every replica already on the new spec is ready. A
    /// new version that does not become ready halts the rollout, and the old replicas keep
    /// serving; the job's status says so.
    func rollOut(_ name: String) {
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
            perform(actions, for: next)
        }
    }

    /// Stops the replicas past the wanted count (`Reconcile.extras` says which).
    func stopExtras(_ name: String) {
        guard let desired = desired(name) else { return }
        perform(Reconcile.extras(desired, actual: actual(of: name), rollingOut: rollouts[name] != nil))
    }
}
