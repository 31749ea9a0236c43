import DroverCore
import Foundation

/// The rules that follow what was performed, once per turn of the actor (an API call, an
/// exit, a timer, a probe's verdict): replicas that came to rest are settled, freed resources
/// go to the waiting replicas (`Admission`), rollouts go on or halt (`RollingUpdate`).
extension Supervisor {
    /// Runs the rules over every replica touched this turn, again for what they touch in
    /// turn, until nothing more changes. Every entry point of the actor ends with it.
    func endTurn() {
        while !touched.isEmpty || releasedResources {
            let keys = touched.sorted()
            touched.removeAll()
            for key in keys {
                guard let replica = replicas[key] else { continue }
                if replica.lifecycle.state.isTerminal && replica.sandbox == nil {
                    settleTerminal(key, replica)
                    // Scaled back up (or started again) while it was still in lameduck: the
                    // apply saw it stopping and left it, so it is started here, when it has
                    // stopped. Only for those two reasons: one that ended for good (delete,
                    // droverd's own stop on exit) is not wanted back, and admitting it would
                    // settle it again, for ever.
                    if replicas[key] != nil, isWanted(key), case .exited(.evicted(let reason)) = replica.lifecycle.state,
                       reason == .scaleDown || reason == .stop {
                        admit(key)
                    }
                } else if case .pending(.waitingForResources) = replica.lifecycle.state, isWanted(key), !admitted.contains(key) {
                    // Back in the queue (replaced after an update, preempted): admission
                    // decides, highest priority first, so a preempted replica does not take
                    // back what was freed for the replica that preempted it.
                    releasedResources = true
                }
            }
            if releasedResources {
                releasedResources = false
                admitWaiting()
            }
            // A replica of a rolling update became ready (or failed): the rollout goes on or halts.
            for job in Set(keys.map(\.job)).sorted() where rollouts[job] != nil { rollOut(job) }
        }
    }

    func isWanted(_ key: Key) -> Bool {
        guard !drained, let job = jobs[key.job], !job.stopped, failedJobs[key.job] == nil else { return false }
        return key.index < job.spec.replicas
    }

    /// A replica that came to rest: keep the record of a succeeded or failed batch index (so
    /// it is not run again), drop one that was stopped for good.
    func settleTerminal(_ key: Key, _ replica: Replica) {
        let job = jobs[key.job]
        let wanted = job.map { !$0.stopped && key.index < $0.spec.replicas } ?? false
        if replica.lifecycle.state.isTerminal && !wanted { forget(key, replica, removeState: job == nil) }
    }
}
