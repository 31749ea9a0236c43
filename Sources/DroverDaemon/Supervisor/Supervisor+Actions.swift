import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Carrying out what a replica's lifecycle returns.
extension Supervisor {
    func apply(_ actions: [ReplicaLifecycle.Action], to key: Key) {
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

    func publish(_ key: Key, _ replica: Replica) {
        let declared = replica.lifecycle.job.ports
        let endpoint = NameEndpoint(name: key.description, host: "127.0.0.1",
                                    port: declared.first.flatMap { replica.ports[$0] } ?? 0, ports: replica.ports)
        names.publish(endpoint, job: key.job, index: key.index)
    }

    func writeNotice(_ key: Key, deadline: Timestamp, reason: EvictionReason, note: String?) {
        var text = "deadline: \(rfc3339(deadline.date))\nreason: \(reason.rawValue)\n"
        if let note { text += "message: \(note)\n" }
        let path = paths.lameduckFile(key)
        let temporary = path + ".new"
        // Atomically: a replica polling for the file never reads half of it.
        if FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: Int(StatePermissions.sharedFile)]) {
            SupervisorSystem.replace(path, with: temporary)
        }
    }
}
