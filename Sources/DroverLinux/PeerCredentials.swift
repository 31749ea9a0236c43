import Glibc

/// Who is at the other end of a Unix socket, as the kernel tells it (SO_PEERCRED): droverd's
/// API decides who may change state on this, never on anything a client says. Its layout is
/// `struct ucred` (pid, uid, gid), which Glibc's module does not export: read it with
/// `getsockopt(SOL_SOCKET, PeerCredentials.socketOption)` into a value of this type.
public struct PeerCredentials: Sendable {
    public var pid: Int32 = 0
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0

    public init() {}

    /// SO_PEERCRED: the peer's `PeerCredentials` as of its connect.
    public static let socketOption: CInt = SO_PEERCRED
    /// SO_PEERPIDFD (Linux 6.5): the peer as a pidfd, so that its pid is not reused under us.
    public static let pidfdSocketOption: CInt = 77

    /// Whether the peer is in the group named `name`, as its primary group (as it connected)
    /// or as one of its user's supplementary groups. False when there is no such group.
    public func isMember(ofGroup name: String) -> Bool {
        guard let group = Self.groupID(name) else { return false }
        return gid == group || Self.groups(ofUser: uid).contains(group)
    }

    private static func groupID(_ name: String) -> gid_t? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }

    private static func groups(ofUser uid: uid_t) -> [gid_t] {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return [] }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: 64)
        guard getgrouplist(entry.pw_name, entry.pw_gid, &groups, &count) >= 0 else { return [] }
        return Array(groups.prefix(Int(count)))
    }
}

extension ProcessCgroup {
    /// The cgroup of a socket's peer: `pid` from SO_PEERCRED, read through `pidfd` (from
    /// SO_PEERPIDFD) when the kernel gave one, which this closes.
    public static func path(ofPeer pid: pid_t, pidfd: Int32?) throws(SystemError) -> String {
        defer { if let pidfd { close(pidfd) } }
        return try path(of: pid, pidfd: pidfd)
    }
}
