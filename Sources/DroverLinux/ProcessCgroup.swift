import CDroverShim
import Glibc

/// Which cgroup v2 a process runs in: the `0::` line of /proc/<pid>/cgroup, relative to the
/// cgroup2 mount (as this process's cgroup namespace shows it), e.g. `/drover/web.0`.
public enum ProcessCgroup {
    /// `pidfd`: the same process as a pidfd (SO_PEERPIDFD, pidfd_open); when given, the
    /// process must still be alive after the read, so that a pid freed and reused meanwhile
    /// by another process is never read for it.
    public static func path(of pid: pid_t, pidfd: Int32? = nil) throws(SystemError) -> String {
        let file = "/proc/\(pid)/cgroup"
        guard pid > 0 else { throw SystemError("open", file, errno: ESRCH) }
        let text = try Files.read(file)
        if let pidfd {
            let result = drover_pidfd_send_signal(pidfd, 0)
            if result < 0 { throw SystemError("pidfd_send_signal", "pid \(pid)", errno: -result) }
        }
        guard let path = CgroupHierarchy.unifiedPath(procSelfCgroup: text) else { throw SystemError("read", file, errno: ENODATA) }
        return path
    }
}

extension CgroupTree {
    /// The tree as /proc/<pid>/cgroup names cgroups: relative to the cgroup2 mount.
    public var pathInHierarchy: String {
        let relative = String(root.dropFirst(hierarchy.mountPoint.count))
        return relative.isEmpty ? "/" : relative
    }

    /// Whether a cgroup (as /proc/<pid>/cgroup names it) is this tree or below it: a
    /// sandbox's leaf, for a tree whose leaves are sandboxes.
    public func contains(cgroup: String) -> Bool {
        let tree = pathInHierarchy
        return tree == "/" || cgroup == tree || cgroup.hasPrefix(tree + "/")
    }
}
