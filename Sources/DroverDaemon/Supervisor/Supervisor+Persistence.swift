import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Write-behind persistence of replicas and events.
extension Supervisor {
    /// Write-behind: everything one turn of the actor changes is committed together right
    /// after it, in one transaction (one fsync), off the restart path. A crash before the
    /// commit loses nothing that matters: replicas are found by their cgroups.
    func persist(_ key: Key, _ replica: Replica) {
        pendingSaves[key] = ReplicaRecord(job: key.job, index: key.index, lifecycle: replica.lifecycle, ports: replica.ports,
                                          unenforced: replica.unenforced)
        pendingRemovals.remove(key)
        scheduleFlush()
    }

    func event(subject: String, kind: String, message: String) {
        pendingEvents.append((Date(), subject, kind, message))
        scheduleFlush()
    }

    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        Task { self.flush() }
    }

    func flush() {
        flushScheduled = false
        guard !pendingSaves.isEmpty || !pendingRemovals.isEmpty || !pendingEvents.isEmpty else { return }
        let saves = pendingSaves.keys.sorted().map { pendingSaves[$0]! }
        let removals = pendingRemovals.sorted().map { (job: $0.job, index: $0.index) }
        let events = pendingEvents
        pendingSaves.removeAll()
        pendingRemovals.removeAll()
        pendingEvents.removeAll()
        // The commit (and its fsync) runs on a serial queue of its own: the actor goes on
        // handling exits and spawns meanwhile; the queue keeps the commits in order.
        writer.async { [store, logger] in
            do {
                try store.commit(saves: saves, removals: removals, events: events)
            } catch {
                logger.error("cannot save state: \(error)")
            }
        }
    }

    /// Waits until every commit handed to the writer is done (shutdown).
    func drainWriter() {
        writer.sync {}
    }

    /// Everything changed so far is in the store (for readers of the store: events).
    func syncWrites() {
        flush()
        drainWriter()
    }
}
