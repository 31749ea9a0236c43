import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Replicas' cgroup leaves under the tree's root.
extension Supervisor {
    /// A replica's cgroup leaf, under the tree's root: `…/web.2`.
    func leafPath(_ key: Key) -> String { tree.root + "/" + key.leafName }

    func destroyLeaf(_ key: Key) {
        if let leaf = try? CgroupLeaf(existing: leafPath(key)) { try? leaf.destroy() }
    }

    /// Leaves of this droverd's jobs that no record claims (a crash between a spawn and its
    /// save): killed, so that no index ever runs twice. Leaves of jobs it does not know are
    /// not its own (another droverd's, with another state directory) and are left alone.
    func removeStrayLeaves() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: tree.root) else { return }
        for entry in entries {
            guard let key = ReplicaID(leafName: entry) else { continue }
            guard jobs[key.job] != nil, replicas[key] == nil else { continue }
            if let leaf = try? CgroupLeaf(existing: tree.root + "/" + entry) {
                logger.warning("removing stray cgroup \(entry)")
                try? leaf.destroy()
            }
        }
    }
}
