import DroverCore
import DroverHealth

/// The events that reach the supervisor from outside an API call: a replica's process ended
/// (its pidfd, from the monitor thread), a replica's timer went off, a health probe came
/// back (from the replica's probe loop, which only reads the actor). One run loop drains
/// them in order, one event per turn of the actor; each turn ends with the rules
/// (`endTurn`).
extension Supervisor {
    enum Event: Sendable {
        /// The monitor's pidfd report for this watch token.
        case exited(token: UInt64)
        /// The replica's armed timer is due.
        case timerFired(Key)
        /// A probe of the replica's process of this generation ended with `result`.
        case probed(Key, generation: UInt64, check: HealthTracker.Check, result: ProbeResult)
    }

    /// The run loop, from `start` until `shutdown` finishes the stream.
    func run(_ events: AsyncStream<Event>) async {
        for await event in events {
            switch event {
            case .exited(let token): processExited(token: token)
            case .timerFired(let key): timerFired(key)
            case .probed(let key, let generation, let check, let result): record(key, generation, check, result)
            }
        }
    }
}
