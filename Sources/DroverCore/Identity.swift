/// Host uids that drover hands out (SPEC §10), so that no two jobs, and no job and a
/// `drover run`, share one unless they name the same `user`.
public enum DynamicIdentity {
    /// droverd's per-job uids (`droverd --uid-range`): systemd's `DynamicUser=` range.
    public static let defaultJobRange: ClosedRange<UInt32> = 61184...65519
    /// `drover run`'s: one per run, this range's start plus the run's pid, which no other live
    /// run has. The top 4 Mi uids (pid_max's ceiling) of systemd's container range
    /// (524288-1879048191), well away from login users and the job range.
    public static let runRange: ClosedRange<UInt32> = 1_874_853_888...1_879_048_191

    public static func forRun(pid: UInt32) -> HostIdentity {
        let uid = runRange.lowerBound + min(pid, runRange.upperBound - runRange.lowerBound)
        return HostIdentity(uid: uid, gid: uid)
    }
}

/// `filesystem.writable` and `drover run --writable`: host paths a sandbox may write.
public enum WritablePath {
    /// Each sandbox's own: a host path under one of these cannot be shown inside.
    public static let privateRoots = ["/tmp", "/var/tmp", "/dev", "/proc", "/sys"]

    /// Absolute, normalised (no `.`, `..` or `//`), not / itself, and existing (`exists`
    /// asks the host).
    public static func check(_ path: String, exists: (String) -> Bool) throws(InputError) -> String {
        guard path.hasPrefix("/") else { throw InputError("\"\(path)\"", "is not an absolute path (writable paths start with /)") }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard path != "/" else { throw InputError("\"/\"", "cannot be writable: name the directories the job writes") }
        guard !components.contains(where: { $0 == "." || $0 == ".." || $0.isEmpty }) || path.hasSuffix("/") && !components.dropLast().contains(where: { $0 == "." || $0 == ".." || $0.isEmpty }) else {
            throw InputError("\"\(path)\"", "is not a normalised path (no ., .. or //)")
        }
        if let root = privateRoots.first(where: { MountStep.isBelow(path, $0) }) {
            throw InputError("\"\(path)\"", "is under \(root), which every sandbox has a private one of: it cannot be shared")
        }
        guard exists(path) else { throw InputError("\"\(path)\"", "does not exist on this host (create it first: drover binds it, it does not create it)") }
        return path.hasSuffix("/") ? String(path.dropLast()) : path
    }
}
