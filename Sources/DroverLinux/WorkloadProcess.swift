/// The workload of a sandbox, seen from the host: drover-init (PID 1 inside) clones it first,
/// so it is the child of drover-init whose PID in the sandbox's namespace is 2. `drover ps`
/// shows this PID, the one users `kill`, `strace` and `perf` (issue 14).
public enum WorkloadProcess {
    /// The host PID of the workload under drover-init `initPID`; nil once it has exited (or
    /// when the host's /proc cannot tell: a kernel without CONFIG_PROC_CHILDREN has no
    /// `children` file).
    public static func pid(underInit initPID: Int32) -> Int32? {
        // Unreadable means drover-init is gone or the kernel cannot list children: either
        // way there is no workload to name, which the caller shows as such.
        guard let children = try? Files.read("/proc/\(initPID)/task/\(initPID)/children") else { return nil }
        for child in children.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap({ Int32($0) }) {
            // Other children of drover-init (orphans it adopted) have other namespace PIDs.
            if namespacePIDs(of: child).last == 2 { return child }
        }
        return nil
    }

    /// `NSpid:` of /proc/PID/status: the process's PID in each PID namespace it is in, from
    /// the one this /proc belongs to (the host's) inward to its own.
    static func namespacePIDs(of pid: Int32) -> [Int32] {
        // A child that exited since `children` was read has no status: it is not the workload.
        guard let status = try? Files.read("/proc/\(pid)/status") else { return [] }
        return parseNamespacePIDs(status)
    }

    /// The `NSpid:` line of a /proc/PID/status text; empty when it has none (kernels before
    /// 4.1).
    public static func parseNamespacePIDs(_ status: String) -> [Int32] {
        for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
            return line.dropFirst("NSpid:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int32($0) }
        }
        return []
    }
}
