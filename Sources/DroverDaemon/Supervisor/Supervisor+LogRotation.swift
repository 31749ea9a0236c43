import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Replica log rotation.
extension Supervisor {
    func rotateLogs() {
        // Only running replicas write.
        for (key, replica) in replicas where replica.sandbox != nil { ReplicaLogs(path: paths.logFile(key)).rotateIfNeeded() }
    }
}
