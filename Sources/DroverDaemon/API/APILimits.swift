import DroverLinux
import Foundation

/// The API's bounds (docs/API.md, "Limits"): what one client may cost droverd.
enum APILimits {
    /// A request body larger than this is refused with 413.
    static let maxBodyBytes = 16 << 20
    /// The request line and headers together; larger: 431.
    static let maxHeaderBytes = 64 << 10
    /// A new connection must send a whole request head within this, or it is closed.
    static let headerTimeout: Int64 = 10
    /// A connection with no request in progress is closed after this.
    static let idleTimeout: Int64 = 60
    /// Descriptors kept for spawns, pidfds, logs and the store, whatever clients hold.
    static let reservedDescriptors = 1024
    /// At most this many connections at once (fewer if RLIMIT_NOFILE leaves less room than the
    /// reserve). Past it a new connection displaces the oldest that has not sent a request
    /// head yet; if every one has a request in progress it is answered 503 and closed.
    static let maxConnectionsCeiling = 4096

    /// The connection cap under the current RLIMIT_NOFILE (read once droverd raised it).
    /// `DROVER_API_MAX_CONNECTIONS` lowers it (tests).
    static func maxConnections() -> Int {
        if let text = ProcessInfo.processInfo.environment["DROVER_API_MAX_CONNECTIONS"], let value = Int(text), value > 0 {
            return min(value, maxConnectionsCeiling)
        }
        guard let limit = DescriptorLimit.current() else { return 256 }
        // RLIM_INFINITY is UInt64.max: clamped below.
        let room = Int(clamping: limit) - reservedDescriptors
        return max(16, min(maxConnectionsCeiling, room / 2))
    }
}
