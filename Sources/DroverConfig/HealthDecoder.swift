import DroverCore

/// `health: {ready: ..., live: ...}`: each check has exactly one probe (`http: PATH` with
/// `port: NAME`, `tcp: NAME` or `exec: [cmd, ...]`), and names only ports the job declares.
struct HealthDecoder {
    let reader: ConfigReader

    /// SPEC §9: ready checks every second (so a replica is published promptly), live every five.
    static let defaultReadyPeriod = Duration.seconds(1)
    static let defaultLivePeriod = Duration.seconds(5)

    static let probes = ["http", "tcp", "exec"]
    static let keys = probes + ["port", "period", "timeout", "failures"]

    func decode(_ value: YAMLValue, ports: DeclaredPorts) -> JobSpec.Health {
        var health = JobSpec.Health()
        guard let fields = reader.mapping(value, keys: ["ready", "live"]) else { return health }
        health.ready = fields["ready"].flatMap { check($0, period: Self.defaultReadyPeriod, ports: ports) }
        health.live = fields["live"].flatMap { check($0, period: Self.defaultLivePeriod, ports: ports) }
        return health
    }

    private func check(_ value: YAMLValue, period defaultPeriod: Duration, ports: DeclaredPorts) -> JobSpec.HealthCheck? {
        let expected = "a mapping with one of http, tcp or exec"
        guard let fields = reader.mapping(value, keys: Self.keys, expected: expected) else { return nil }
        let given = fields.entries.filter { Self.probes.contains($0.name) }
        guard let (kind, probeValue) = given.first else {
            reader.report(value.path, at: value.keyPosition, "needs one of http, tcp or exec")
            return nil
        }
        for extra in given.dropFirst() {
            reader.report(extra.value.path, at: extra.value.keyPosition,
                          "only one of http, tcp or exec may be given (this check already has \(kind))")
        }
        if kind != "http", let port = fields.entries.first(where: { $0.name == "port" })?.value {
            let why = kind == "tcp" ? "a tcp check names its port itself" : "an exec check runs a command"
            reader.report(port.path, at: port.keyPosition, "port goes with http only (\(why))")
        }

        let probe = decodeProbe(kind, probeValue, fields: fields, check: value, ports: ports)
        let period = fields["period"].flatMap(positiveDuration)
        let timeout = fields["timeout"].flatMap(positiveDuration)
        let failures = fields["failures"].flatMap { reader.wholeNumber($0, in: 1...Limits.failures) }
        guard let probe else { return nil }
        var check = JobSpec.HealthCheck(probe: probe, period: period ?? defaultPeriod)
        if let timeout { check.timeout = timeout }
        if let failures { check.failures = failures }
        return check
    }

    private func decodeProbe(_ kind: String, _ value: YAMLValue, fields: Fields, check: YAMLValue,
                             ports: DeclaredPorts) -> JobSpec.HealthCheck.Probe? {
        switch kind {
        case "http":
            if value.isNull {
                reader.report(value, "needs the path to request, such as /healthz")
                return nil
            }
            let path = reader.text(value, expected: "a path such as /healthz")
            if let path, !path.hasPrefix("/") {
                reader.report(value, "\(InputError.quoted(path)) is not a path (expected one starting with /, such as /healthz)")
            }
            guard let portValue = fields["port"] else {
                reader.report(check.path, at: check.keyPosition, "an http check needs port: NAME, one of the job's ports")
                return nil
            }
            let port = portReference(portValue, ports: ports)
            guard let path, path.hasPrefix("/"), let port else { return nil }
            return .http(path: path, port: port)
        case "tcp":
            if value.isNull {
                reader.report(value, "needs the name of one of the job's ports")
                return nil
            }
            return portReference(value, ports: ports).map { .tcp(port: $0) }
        default:
            let expected = "the command to run, as a list"
            if value.isNull {
                reader.report(value, "needs \(expected)")
                return nil
            }
            guard let items = reader.list(value, expected: expected) else { return nil }
            guard !items.isEmpty else {
                reader.report(value, "needs \(expected)")
                return nil
            }
            let command = items.compactMap { reader.text($0) }
            return command.count == items.count ? .exec(command: command) : nil
        }
    }

    private func portReference(_ value: YAMLValue, ports: DeclaredPorts) -> String? {
        guard let name = reader.text(value, expected: "a port name") else { return nil }
        if ports.written.contains(name) { return name }
        if ports.writtenInOrder.isEmpty {
            reader.report(value, "\(InputError.quoted(name)) is not one of the job's ports (it declares none: add ports: [\(InputError.shortened(name))])")
        } else {
            let guess = Suggestion.question(for: name, in: ports.writtenInOrder).map { "; \($0)" } ?? ""
            reader.report(value, "\(InputError.quoted(name)) is not one of the job's ports (declared: "
                          + "\(ports.writtenInOrder.joined(separator: ", "))\(guess))")
        }
        return nil
    }

    private func positiveDuration(_ value: YAMLValue) -> Duration? {
        let parsed = reader.parsed(value, expected: "a duration such as 5s") { text throws(InputError) in
            try Quantity.duration(text, atMost: Limits.jobDuration)
        }
        guard let duration = parsed else { return nil }
        guard duration > .zero else {
            reader.report(value, "must be more than 0s")
            return nil
        }
        return duration
    }
}
