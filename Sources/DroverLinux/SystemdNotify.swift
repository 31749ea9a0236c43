import Glibc

/// systemd's notify protocol (sd_notify(3)) for `Type=notify` services: one datagram per
/// message to the socket systemd names in NOTIFY_SOCKET. Outside systemd (no NOTIFY_SOCKET)
/// every call does nothing.
public enum SystemdNotify {
    /// Sends `message` (`READY=1`, `WATCHDOG=1`, `STOPPING=1`). Best effort: systemd not
    /// listening changes nothing for the caller.
    public static func send(_ message: String) {
        guard let path = environment("NOTIFY_SOCKET"), !path.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 } // abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + min(bytes.count, 107))
        _ = message.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), 0, $0, length) }
            }
        }
    }

    /// `Type=notify-reload` (systemd 253+): a reload begins. systemd wants RELOADING=1 with
    /// the CLOCK_MONOTONIC time in microseconds, then READY=1 when it is done.
    public static func reloading() {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        send("RELOADING=1\nMONOTONIC_USEC=\(Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000)")
    }

    /// How often to send `WATCHDOG=1`: half the interval systemd asked for (WATCHDOG_USEC),
    /// nil when it asked for none.
    public static func watchdogInterval() -> Duration? {
        guard let text = environment("WATCHDOG_USEC"), let microseconds = Int64(text), microseconds > 0 else { return nil }
        return .microseconds(microseconds / 2)
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
