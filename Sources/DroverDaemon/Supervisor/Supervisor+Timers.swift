import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Each replica's one timer (its state's deadline).
extension Supervisor {
    func armTimer(_ key: Key, _ replica: Replica, at deadline: Timestamp) {
        replica.timer?.cancel()
        let delay = max(.zero, deadline - .now)
        if delay == .zero {
            // Due now (a restart with `initial: 0s`): fire in this turn, so the new replica is
            // spawned before the turn's state is written (the fsync stays off the restart path).
            replica.timer = nil
            perform(replica.lifecycle.handle(.timerFired(now: .now)), for: key)
            return
        }
        replica.timer = Task { [eventSink] in
            try? await Task.sleep(for: delay)
            if Task.isCancelled { return }
            eventSink.yield(.timerFired(key))
        }
    }

    func timerFired(_ key: Key) {
        guard let replica = replicas[key] else { return }
        replica.timer = nil
        perform(replica.lifecycle.handle(.timerFired(now: .now)), for: key)
        endTurn()
    }
}
