import DroverCore
import Glibc

/// The two clocks droverd reads: the wall clock for instants that must survive a restart
/// (deadlines, timestamps users see), the monotonic clock for timeouts within one run.
public enum SystemClock {
    /// Now, on the wall clock (CLOCK_REALTIME).
    public static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(sinceEpoch: .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec))
    }

    /// Milliseconds on CLOCK_MONOTONIC: only differences mean anything.
    public static func monotonicMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// `2026-11-30T02:11:57.765Z` for seconds since the epoch, to the millisecond. By hand with
    /// gmtime_r: `ps` of a thousand replicas formats thousands of times, and an
    /// ISO8601DateFormatter per call was most of its cost.
    public static func rfc3339(secondsSinceEpoch interval: Double) -> String {
        var seconds = time_t(interval.rounded(.down))
        var milliseconds = Int(((interval - Double(seconds)) * 1000).rounded())
        if milliseconds == 1000 {
            seconds += 1
            milliseconds = 0
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let fraction = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}
