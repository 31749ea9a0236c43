import Glibc

/// Where cgroup v2 is mounted and which cgroup this process is in. Pure v2 hosts mount it at
/// /sys/fs/cgroup; hybrid hosts (v1 controllers plus v2) at /sys/fs/cgroup/unified.
public struct CgroupHierarchy: Equatable, Sendable {
    public var mountPoint: String
    /// This process's cgroup, relative to the mount ("/" for the root).
    public var ownPath: String

    public static func detect() throws(CgroupError) -> CgroupHierarchy {
        let mountinfo: String
        let membership: String
        do {
            mountinfo = try Files.read("/proc/self/mountinfo")
            membership = try Files.read("/proc/self/cgroup")
        } catch { throw .system(error) }
        guard let mountPoint = cgroup2MountPoint(mountinfo: mountinfo) else { throw .noCgroup2 }
        guard let ownPath = unifiedPath(procSelfCgroup: membership) else { throw .noCgroup2 }
        return CgroupHierarchy(mountPoint: mountPoint, ownPath: ownPath)
    }

    /// The first cgroup2 mount in mountinfo (fields: id parent dev root mountpoint ... - fstype).
    static func cgroup2MountPoint(mountinfo: String) -> String? {
        var candidates: [String] = []
        for line in mountinfo.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            guard fields.count >= 5 else { continue }
            candidates.append(unescapeMountinfo(String(fields[4])))
        }
        // Prefer the canonical places when a host has more than one.
        return candidates.first { $0 == "/sys/fs/cgroup" }
            ?? candidates.first { $0 == "/sys/fs/cgroup/unified" }
            ?? candidates.first
    }

    /// The `0::/path` line of /proc/self/cgroup.
    static func unifiedPath(procSelfCgroup: String) -> String? {
        for line in procSelfCgroup.split(separator: "\n") where line.hasPrefix("0::") {
            var path = String(line.dropFirst(3))
            // A process whose cgroup was removed shows "/path (deleted)"; it cannot nest there.
            if path.hasSuffix(" (deleted)") { path = String(path.dropLast(10)) }
            return path.isEmpty ? "/" : path
        }
        return nil
    }

    /// mountinfo escapes space, tab, newline and backslash as octal.
    static func unescapeMountinfo(_ field: String) -> String {
        var result = ""
        var chars = Substring(field)
        while let c = chars.first {
            if c == "\\", chars.count >= 4, let code = UInt8(chars.dropFirst().prefix(3), radix: 8) {
                result.append(Character(Unicode.Scalar(code)))
                chars = chars.dropFirst(4)
            } else {
                result.append(c)
                chars = chars.dropFirst()
            }
        }
        return result
    }
}

public enum CgroupError: Error, CustomStringConvertible, Sendable {
    case noCgroup2
    case system(SystemError)
    case leafExists(String)

    public var description: String {
        switch self {
        case .noCgroup2:
            return "no cgroup v2 hierarchy is mounted (drover needs cgroup2, at /sys/fs/cgroup or /sys/fs/cgroup/unified)"
        case .system(let error):
            return error.description
        case .leafExists(let path):
            return "cgroup `\(path)` already exists: another sandbox of that name is running"
        }
    }
}
