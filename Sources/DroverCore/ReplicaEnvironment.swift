extension JobSpec {
    /// `http` → `PORT_HTTP`, `grpc-admin` → `PORT_GRPC_ADMIN` (SPEC §1).
    public static func portVariable(_ port: String) -> String {
        "PORT_" + String(port.uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// The environment of replica `index` (SPEC §1): the DROVER_* variables, PORT_<NAME> per
    /// port, TMPDIR, then the job's `env`. One definition for the replica itself, its exec
    /// health checks and `drover exec`; the lameduck file is left out where it is not known.
    public func replicaEnvironment(index: Int, ports: [String: Int], stateDirectory: String,
                                   lameduckFile: String?) -> [String: String] {
        var environment: [String: String] = [
            "DROVER_JOB": name,
            "DROVER_REPLICA": String(index),
            "DROVER_REPLICAS": String(replicas),
            "DROVER_NAME": "\(name)/\(index)",
            "DROVER_STATE_DIR": stateDirectory,
            "TMPDIR": "/tmp",
        ]
        if let lameduckFile { environment["DROVER_LAMEDUCK_FILE"] = lameduckFile }
        for (port, number) in ports { environment[Self.portVariable(port)] = String(number) }
        for (key, value) in self.environment { environment[key] = value }
        return environment
    }
}
