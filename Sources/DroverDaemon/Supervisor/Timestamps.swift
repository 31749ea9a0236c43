import DroverCore
import DroverLinux
import Foundation

/// The supervisor's instants: read from the wall clock (DroverLinux's SystemClock), shown as
/// RFC 3339 through `Date`.
extension Timestamp {
    static var now: Timestamp { SystemClock.now() }

    var date: Date {
        let (seconds, attoseconds) = sinceEpoch.components
        return Date(timeIntervalSince1970: Double(seconds) + Double(attoseconds) / 1e18)
    }
}
