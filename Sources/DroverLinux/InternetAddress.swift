import Glibc

/// An IPv4 address in dotted form as `s_addr` (network byte order), nil if `text` is not one.
public func ipv4Address(_ text: String) -> UInt32? {
    var address = in_addr()
    guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
    return address.s_addr
}
