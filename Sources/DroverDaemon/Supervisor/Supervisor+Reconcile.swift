import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Desired vs actual, once per change: `Reconcile` decides, this performs.
extension Supervisor {
    /// Desired vs actual: start what is missing, stop what is not wanted, replace what changed.
    func reconcile() {
        defer { endTurn() }
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

    func desired(_ name: String) -> Reconcile.Desired? {
        jobs[name].map { Reconcile.Desired(spec: $0.spec, stopped: $0.stopped, failed: failedJobs[name] != nil) }
    }

    func actual(of job: String) -> [Reconcile.Actual] {
        replicas.filter { $0.key.job == job }.map { Reconcile.Actual(id: $0.key, lifecycle: $0.value.lifecycle, hasSandbox: $0.value.sandbox != nil) }
    }

    /// Carries out what `Reconcile` decided, step by step.
    func perform(_ steps: [Reconcile.Step]) {
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
}
