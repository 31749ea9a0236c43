import Glibc

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
    /// reserve); more are answered 503 and closed at once.
    static let maxConnectionsCeiling = 4096

    /// The connection cap under the current RLIMIT_NOFILE (read once droverd raised it).
    static func maxConnections() -> Int {
        var files = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 else { return 256 }
        let limit = UInt64(files.rlim_cur) // RLIM_INFINITY is UInt64.max: clamped below
        let room = Int(clamping: limit) - reservedDescriptors
        return max(16, min(maxConnectionsCeiling, room / 2))
    }
}
