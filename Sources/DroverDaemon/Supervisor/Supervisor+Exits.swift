import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Process exits, from the monitor thread's pidfd reports.
extension Supervisor {
    func watch(_ key: Key, _ replica: Replica) {
        guard let sandbox = replica.sandbox, let monitor else { return }
        let token = nextToken
        nextToken += 1
        tokens[token] = (key, sandbox.pid)
        do {
            try monitor.watch(pidfd: sandbox.pidfd, token: token)
        } catch {
            logger.error("\(key): cannot watch pid \(sandbox.pid): \(error)")
        }
    }

    func processExited(token: UInt64) {
        guard let (key, pid) = tokens.removeValue(forKey: token), let replica = replicas[key], let sandbox = replica.sandbox,
              sandbox.pid == pid else { return }
        monitor?.unwatch(pidfd: sandbox.pidfd)
        replica.healthTask?.cancel()
        replica.healthTask = nil
        let reason = exitReason(key, replica, statusFromFile: replica.adopted)
        try? sandbox.cleanup()
        replica.sandbox = nil
        perform(replica.lifecycle.handle(.processExited(reason, now: .now)), for: key)
        endTurn()
    }

    /// How the replica's process ended: the OOM killer (memory.events), else its wait status
    /// (from waitid when droverd spawned it, from drover-init's status file otherwise).
    func exitReason(_ key: Key, _ replica: Replica, statusFromFile: Bool) -> ExitReason {
        let oomKills = (replica.sandbox?.cgroup ?? (try? CgroupLeaf(existing: leafPath(key))))?.stats().oomKills ?? 0
        if oomKills > 0 { return .oomKilled }
        // drover-init's status file says how the workload itself ended (killed by SIGTERM,
        // not "drover-init exited 143"); waitid is the fallback when init could not write it.
        // Never a blocking wait: the actor must not stop for a process that is still alive
        // (its pidfd said it ended; a stale report finds nothing to collect).
        let waited = statusFromFile ? nil : replica.sandbox?.poll()
        if let status = InitStatusFile.read(atPath: paths.statusFile(key)) { return ExitReason(status) }
        if let waited { return ExitReason(waited) }
        // drover-init itself was killed (cgroup.kill, or SIGKILL from outside).
        return ExitReason(.killed)
    }
}
