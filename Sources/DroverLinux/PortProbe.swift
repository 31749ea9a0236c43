import Glibc

/// The bind test behind port allocation: a port is free when a listening socket could take it
/// on every address (IPv4 and, where the host has it, IPv6).
public enum PortProbe {
    public static func isFree(_ port: Int) -> Bool {
        canBind(family: AF_INET, port: port) && canBind(family: AF_INET6, port: port, missingFamilyIsFree: true)
    }

    /// The kernel's range for outgoing connections, which allocation must avoid.
    public static func ephemeralRange() -> ClosedRange<Int>? {
        guard let text = try? Files.read("/proc/sys/net/ipv4/ip_local_port_range") else { return nil }
        let parts = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard parts.count == 2, parts[0] <= parts[1] else { return nil }
        return parts[0]...parts[1]
    }

    private static func canBind(family: Int32, port: Int, missingFamilyIsFree: Bool = false) -> Bool {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return missingFamilyIsFree && errno == EAFNOSUPPORT }
        defer { close(fd) }
        var yes: Int32 = 1
        // Servers set SO_REUSEADDR; without it a port in TIME_WAIT would look taken.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = in_addr(s_addr: INADDR_ANY)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(port).bigEndian)
        address.sin6_addr = in6addr_any
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
        }
        return bound || (missingFamilyIsFree && errno == EADDRNOTAVAIL)
    }
}
