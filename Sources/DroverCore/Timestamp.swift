/// A wall-clock instant: time since the Unix epoch. The core's state machines take time as a
/// parameter and store deadlines; `ContinuousClock.Instant` means nothing after droverd
/// restarts, and a deadline or next-attempt time must survive that (SPEC §8, crash-only), so
/// instants are stored as a plain `Duration` since 1970-01-01T00:00:00Z.
public struct Timestamp: Comparable, Codable, Hashable, Sendable {
    public var sinceEpoch: Duration

    public init(sinceEpoch: Duration) {
        self.sinceEpoch = sinceEpoch
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.sinceEpoch < b.sinceEpoch }

    public static func + (instant: Timestamp, duration: Duration) -> Timestamp {
        Timestamp(sinceEpoch: instant.sinceEpoch + duration)
    }

    /// How long from `earlier` to `later` (negative when `later` is before `earlier`).
    public static func - (later: Timestamp, earlier: Timestamp) -> Duration {
        later.sinceEpoch - earlier.sinceEpoch
    }
}
