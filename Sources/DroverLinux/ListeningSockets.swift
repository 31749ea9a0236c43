import Glibc

/// Where a replica's listening socket is: descriptor `fd` of process `pid`, socket inode
/// `inode` (what /proc/net/tcp and the descriptor's fstat both show).
public struct ListenerLocation: Equatable, Sendable {
    public var pid: Int32
    public var fd: Int32
    public var inode: UInt64

    public init(pid: Int32, fd: Int32, inode: UInt64) {
        self.pid = pid
        self.fd = fd
        self.inode = inode
    }
}

/// Finds the listening TCP socket a replica serves its port on, by reading /proc: the inodes
/// of sockets listening on the port (/proc/net/tcp and tcp6 of droverd's network namespace,
/// which replicas share), then the descriptor of a process in the replica's cgroup that
/// refers to one of them.
public enum ListeningSockets {
    /// Inodes of TCP sockets in LISTEN on `port` at `host` (an IPv4 address) or at a wildcard
    /// address (0.0.0.0, or :: which also takes IPv4 unless it is IPv6-only).
    public static func inodes(host: String, port: Int) -> Set<UInt64> {
        guard let address = ipv4Address(host) else { return [] }
        let v4 = hex32(address)
        let wanted4: Set<String> = [v4, "00000000"]
        let wanted6: Set<String> = [String(repeating: "0", count: 32), "0000000000000000FFFF0000" + v4]
        let portHex = String(port, radix: 16, uppercase: true)
        let paddedPort = String(repeating: "0", count: max(0, 4 - portHex.count)) + portHex
        var found = Set<UInt64>()
        for (path, addresses) in [("/proc/net/tcp", wanted4), ("/proc/net/tcp6", wanted6)] {
            // Large reads: the kernel lists sockets afresh at each read(2), so a socket opened or
            // closed between two of them can make another one's line go missing.
            guard let text = try? Files.read(path, chunk: 1 << 16) else { continue } // no tcp6 (no IPv6): nothing there
            for line in text.split(separator: "\n").dropFirst() {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9, fields[3] == "0A" else { continue }
                let local = fields[1].split(separator: ":")
                guard local.count == 2, local[1] == paddedPort, addresses.contains(String(local[0])),
                      let inode = UInt64(fields[9]), inode != 0 else { continue }
                found.insert(inode)
            }
        }
        return found
    }

    /// The first descriptor, among the processes of the cgroup directory `cgroup`, that is
    /// one of `inodes`.
    public static func locate(inodes: Set<UInt64>, cgroup: String) -> ListenerLocation? {
        guard !inodes.isEmpty, let procs = try? Files.read(cgroup + "/cgroup.procs") else { return nil } // a cgroup gone holds no socket
        for pid in procs.split(separator: "\n").compactMap({ Int32($0) }) {
            if let location = locate(inodes: inodes, pid: pid) { return location }
        }
        return nil
    }

    public static func locate(inodes: Set<UInt64>, pid: Int32) -> ListenerLocation? {
        let directory = "/proc/\(pid)/fd"
        // The process ended, or is not ours to look into: none of its descriptors is found.
        guard let names = try? directoryEntries(atPath: directory) else { return nil }
        var target = [CChar](repeating: 0, count: 64)
        for name in names {
            guard let fd = Int32(name) else { continue }
            let count = readlink(directory + "/" + name, &target, target.count - 1)
            guard count > 8 else { continue }
            let link = String(decoding: target[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // socket:[12345]
            guard link.hasPrefix("socket:["), link.hasSuffix("]"),
                  let inode = UInt64(link.dropFirst(8).dropLast()), inodes.contains(inode) else { continue }
            return ListenerLocation(pid: pid, fd: fd, inode: inode)
        }
        return nil
    }

    /// `s_addr` as /proc/net/tcp prints it: the 32-bit word in host order, `%08X`.
    private static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
