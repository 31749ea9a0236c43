import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Dropping a replica that is down for good, and its files.
extension Supervisor {
    /// Drops a replica that is down for good.
    func forget(_ key: Key, _ replica: Replica, removeState: Bool) {
        replica.timer?.cancel()
        replica.healthTask?.cancel()
        if admitted.remove(key) != nil { releasedResources = true }
        preempting[key] = nil
        names.unpublish(job: key.job, index: key.index)
        if jobs[key.job] == nil && !replicas.keys.contains(where: { $0.job == key.job && $0 != key }) {
            names.removeFile(key.job)
        }
        for port in replica.ports.values { allocator.release(port) }
        replicas[key] = nil
        pendingSaves[key] = nil
        pendingRemovals.insert(key)
        scheduleFlush()
        let logs = [paths.logFile(key)] + (1..<ReplicaLogs.defaultFiles).map { paths.logFile(key) + ".\($0)" }
        remove((removeState ? [paths.stateDirectory(key)] : []) + [paths.runDirectory(key)] + logs, of: key)
        // The job's own directories go with its last replica (rmdir fails while others remain).
        for file in [paths.stateDirectory(key), paths.runDirectory(key), paths.logFile(key)] {
            _ = try? removeEmptyDirectory(atPath: (file as NSString).deletingLastPathComponent)
        }
        if removeState, jobs[key.job] == nil, !replicas.keys.contains(where: { $0.job == key.job }) {
            // SPEC §2: a deleted job's state goes, that of indices scaled away long ago too (a
            // job created again under the name must not find old checkpoints).
            // The uid is free again only once no file of the job's is left to be owned by it.
            if remove([paths.jobStateDirectory(key.job)], of: key), identities.removeValue(forKey: key.job) != nil {
                do { try store.releaseIdentity(job: key.job) } catch { logger.error("releasing \(key.job)'s uid: \(error)") }
            }
        }
    }

    /// Removes a replica's files and trees without following a link its workload may have
    /// planted in them (issue 11). A failure is logged; what could not be removed stays.
    /// Returns whether everything is gone.
    @discardableResult
    func remove(_ paths: [String], of key: Key) -> Bool {
        var removed = true
        for path in paths {
            do { try removeTree(atPath: path) } catch {
                logger.warning("\(key): cannot remove its files: \(error)")
                removed = false
            }
        }
        return removed
    }
}
