import DroverTestSupport
import DroverWire
import Foundation

extension TestDaemon {
    /// Index 0 of `job` as `drover ps --json` shows it, nil while it is not listed.
    func replica(_ job: String) -> ReplicaStatus? {
        let ps = (try? drover(["ps", "--json"]).stdout) ?? "[]"
        return (try? JSONDecoder().decode([JobStatus].self, from: Data(ps.utf8)))?.first { $0.name == job }?.replicas.first
    }
}

/// The real uid of a process, as the host sees it (`Uid:` in /proc/PID/status).
func hostUID(of pid: Int32) -> UInt32? {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?
        .split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { UInt32($0) }
}
