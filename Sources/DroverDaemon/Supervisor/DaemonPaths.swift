/// Where droverd keeps things under its state directory.
struct DaemonPaths: Sendable {
    let root: String
    /// The API socket's directory, with the names files (`names/<job>`).
    var runtime: String = "/run/drover"

    var namesDirectory: String { runtime + "/names" }

    var database: String { root + "/drover.db" }
    var states: String { root + "/state" }
    var runs: String { root + "/run" }
    var logs: String { root + "/logs" }
    func stateDirectory(_ key: Supervisor.Key) -> String { "\(jobStateDirectory(key.job))/\(key.index)" }
    func jobStateDirectory(_ job: String) -> String { "\(states)/\(job)" }
    func runDirectory(_ key: Supervisor.Key) -> String { "\(runs)/\(key.job)/\(key.index)" }
    func lameduckFile(_ key: Supervisor.Key) -> String { runDirectory(key) + "/lameduck" }
    func statusFile(_ key: Supervisor.Key) -> String { runDirectory(key) + "/status" }
    func logFile(_ key: Supervisor.Key) -> String { "\(logs)/\(key.job)/\(key.index).log" }
}
