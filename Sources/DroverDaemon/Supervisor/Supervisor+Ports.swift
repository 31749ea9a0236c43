import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Each replica's host ports (SPEC §10).
extension Supervisor {
    func allocatePorts(_ key: Key, for spec: JobSpec, previous: [String: Int]) throws -> [String: Int] {
        var ports: [String: Int] = [:]
        for name in spec.ports {
            // The same port across restarts when it is still free: clients that remember it
            // (and the names that publish it) keep working. Held or not, it is bind-tested
            // again: something outside drover may have taken it while the replica was down,
            // and a replica never fights over a port (SPEC §10).
            if let port = previous[name] {
                let held = allocator.held.contains(port)
                if held ? PortProbe.isFree(port) : allocator.claim(port, isFree: PortProbe.isFree) {
                    ports[name] = port
                    continue
                }
                if held { allocator.release(port) }
                let replacement = try allocator.allocate(isFree: PortProbe.isFree)
                ports[name] = replacement
                event(subject: key.description, kind: "port-reallocated",
                      message: "port \(name) \(port) was taken by another process; now \(replacement)")
            } else {
                ports[name] = try allocator.allocate(isFree: PortProbe.isFree)
            }
        }
        for (name, port) in previous where ports[name] == nil && !ports.values.contains(port) { allocator.release(port) }
        return ports
    }
}
