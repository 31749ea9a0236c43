import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Carrying out what a replica's lifecycle returns.
extension Supervisor {
    /// Carries out a lifecycle's actions for `key`, in order, and nothing else: the rules
    /// that follow (settling, admission, the rollout) run once, at the end of the turn
    /// (`endTurn`).
    func perform(_ actions: [ReplicaLifecycle.Action], for key: Key) {
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
        touched.insert(key)
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
        // Atomically: a replica polling for the file never reads half of it.
        do { try writeFileAtomically(atPath: path, contents: Array(text.utf8), mode: StatePermissions.sharedFile) } catch {
            logger.warning("\(key): cannot write the lameduck notice: \(error)")
        }
    }
}
