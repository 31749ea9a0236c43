import DroverCore

/// The events that reach the supervisor from outside an API call: a replica's process ended
/// (its pidfd, from the monitor thread), a replica's timer went off. One run loop drains
/// them in order, one event per turn of the actor; each turn ends with the rules
/// (`endTurn`).
extension Supervisor {
    enum Event: Sendable {
        /// The monitor's pidfd report for this watch token.
        case exited(token: UInt64)
        /// The replica's armed timer is due.
        case timerFired(Key)
    }

    /// The run loop, from `start` until `shutdown` finishes the stream.
    func run(_ events: AsyncStream<Event>) async {
        for await event in events {
            switch event {
            case .exited(let token): processExited(token: token)
            case .timerFired(let key): timerFired(key)
            }
        }
    }
}
