import Foundation
import DroverCore
internal import Yams

/// A job as decoded, with the positions that checks across jobs (duplicate names, shared
/// service ports) report at.
struct DecodedJob {
    var spec: JobSpec
    var namePosition: Position
    var servicePort: (port: Int, position: Position)?
}

/// The port names a job declares: those that are valid, and every name written, so that a
/// reference to a misspelt declaration (`ports: [HTTP]`, `tcp: HTTP`) is reported once, at the
/// declaration.
struct DeclaredPorts {
    var valid: [String] = []
    var written: Set<String> = []
    var writtenInOrder: [String] = []

    static func variable(for port: String) -> String { JobSpec.portVariable(port) }
}

/// Turns one `jobs.<name>` node into a `JobSpec`: every field typed and checked, defaults from
/// `JobSpec`'s initializers (SPEC §9), errors reported to the reader.
struct JobDecoder {
    let reader: ConfigReader

    static let keys = [
        "kind", "replicas", "priority", "command", "env", "user", "workdir", "ports", "resources", "restart",
        "lameduck", "health", "service", "capabilities", "host_root", "filesystem", "network",
    ]

    /// What every replica's environment has besides `env` and `PORT_<NAME>` (SPEC §1, §2).
    static let replicaVariables = [
        "DROVER_JOB", "DROVER_REPLICA", "DROVER_REPLICAS", "DROVER_NAME", "DROVER_STATE_DIR",
        "DROVER_LAMEDUCK_FILE", "TMPDIR", "PATH", "HOME",
    ]

    func decode(name: String, _ value: YAMLValue) -> DecodedJob {
        if let problem = Self.jobNameProblem(name) { reader.report(value.path, at: value.keyPosition, problem) }
        let fields = reader.mapping(value, keys: Self.keys, expected: "a mapping (the job's settings)")
            ?? Fields(owner: value)

        let kind: JobSpec.Kind = fields["kind"].flatMap { reader.choice($0, what: "a job kind") } ?? .serving
        let ports = decodePorts(fields["ports"])
        let environment = fields["env"].map { decodeEnvironment($0, ports: ports) } ?? [:]
        var spec = JobSpec(
            name: name,
            kind: kind,
            replicas: fields["replicas"].flatMap { reader.wholeNumber($0, in: 0...Limits.replicas) } ?? 1,
            priority: fields["priority"].flatMap { reader.choice($0, what: "a priority") },
            command: decodeCommand(fields, environment: environment, ports: ports),
            environment: environment,
            ports: ports.valid)
        if let user = fields["user"].flatMap({ reader.parsed($0, expected: "a user", UserSpec.parse) }) {
            spec.user = user.description
        }
        if let workdir = fields["workdir"].flatMap(decodeWorkdir) { spec.workdir = workdir }
        if let resources = fields["resources"] { spec.resources = decodeResources(resources) }
        if let restart = fields["restart"] { decodeRestart(restart, into: &spec.restart, kind: kind) }
        if let lameduck = fields["lameduck"] { decodeLameduck(lameduck, into: &spec.lameduck) }
        if let health = fields["health"] { spec.health = HealthDecoder(reader: reader).decode(health, ports: ports) }
        var servicePort: (port: Int, position: Position)?
        if let service = fields["service"], let port = decodeService(service, ports: ports) {
            spec.service = JobSpec.Service(port: port.port)
            servicePort = port
        }
        if let capabilities = fields["capabilities"] { spec.capabilities = decodeCapabilities(capabilities) }
        if let hostRoot = fields["host_root"].flatMap(reader.boolean) { spec.hostRoot = hostRoot }
        if let filesystem = fields["filesystem"] { spec.writable = decodeFilesystem(filesystem) }
        if let network = fields["network"], let mode: NetworkMode = reader.choice(network, what: "a network") {
            spec.network = mode
            // Nothing on the host can reach a port inside a network namespace of its own.
            if mode == .none, let ports = fields["ports"], !spec.ports.isEmpty {
                reader.report(ports, "a job with network: none has no host ports (its replicas have loopback only): remove ports or use network: host")
            }
            if mode == .none, let service = fields["service"] {
                reader.report(service, "a job with network: none cannot have a service port (nothing on the host reaches its replicas): remove service or use network: host")
            }
        }
        return DecodedJob(spec: spec, namePosition: value.keyPosition, servicePort: servicePort)
    }

    // MARK: Names

    /// A DNS label (RFC 1123), as Kubernetes names are: it becomes part of replica names and
    /// hostnames (`2.web`).
    static func jobNameProblem(_ name: String) -> String? {
        let allowed = name.unicodeScalars.allSatisfy { $0.isLowercaseLetter || $0.isDigit || $0 == "-" }
        let valid = allowed && !name.isEmpty && !name.hasPrefix("-") && !name.hasSuffix("-") && name.count <= 63
        if valid { return nil }
        return "\(InputError.quoted(name)) is not a valid job name (expected lowercase letters, digits and -, starting and ending "
            + "with a letter or digit, at most 63 characters)"
    }

    /// Kubernetes port names (IANA service names): a lowercase letter first, then lowercase
    /// letters, digits and single hyphens, not ending with one, at most 15 characters.
    static func portNameProblem(_ name: String) -> String? {
        if !name.isEmpty, name.allSatisfy(\.isNumber) {
            return "\(InputError.quoted(name)) is not a port name: ports are named (e.g. http) and drover picks each number"
        }
        let scalars = name.unicodeScalars
        let allowed = scalars.allSatisfy { $0.isLowercaseLetter || $0.isDigit || $0 == "-" }
        let valid = allowed && scalars.first?.isLowercaseLetter == true && !name.hasSuffix("-")
            && !name.contains("--") && name.count <= 15
        if valid { return nil }
        return "\(InputError.quoted(name)) is not a port name (expected a lowercase letter, then lowercase letters, digits and "
            + "single hyphens, at most 15 characters, e.g. http or grpc-admin)"
    }

    /// POSIX portable variable names, as shells and systemd's Environment= take them.
    static func variableNameProblem(_ name: String) -> String? {
        let scalars = name.unicodeScalars
        let valid = scalars.first.map { $0 == "_" || $0.isLetter } == true
            && scalars.allSatisfy { $0 == "_" || $0.isLetter || $0.isDigit }
        if valid { return nil }
        return "\(InputError.quoted(name)) is not a variable name (expected letters, digits and _, not starting with a digit)"
    }

    // MARK: Fields

    private func decodePorts(_ value: YAMLValue?) -> DeclaredPorts {
        var ports = DeclaredPorts()
        guard let value, let items = reader.list(value, expected: "a list of port names") else { return ports }
        var firstWritten: [String: Position] = [:]
        for item in items {
            guard let name = reader.text(item, expected: "a port name") else { continue }
            if let first = firstWritten[name] {
                reader.report(item, "port \(InputError.quoted(name)) is declared twice (first at \(first.spoken))")
                continue
            }
            firstWritten[name] = item.position
            ports.written.insert(name)
            ports.writtenInOrder.append(name)
            if let problem = Self.portNameProblem(name) {
                reader.report(item, problem)
            } else {
                ports.valid.append(name)
            }
        }
        return ports
    }

    /// Values are taken as written: `WORKERS: 4` is "4", `DEBUG: yes` is "yes" (Docker Compose
    /// accepts them too; Kubernetes makes users quote them).
    private func decodeEnvironment(_ value: YAMLValue, ports: DeclaredPorts) -> [String: String] {
        guard let fields = reader.mapping(value, keys: nil, expected: "a mapping of variable names to values") else {
            return [:]
        }
        let portVariables = Dictionary(ports.writtenInOrder.map { (DeclaredPorts.variable(for: $0), $0) },
                                       uniquingKeysWith: { first, _ in first })
        var environment: [String: String] = [:]
        for (name, entry) in fields.entries {
            if let problem = Self.variableNameProblem(name) {
                reader.report(entry.path, at: entry.keyPosition, problem)
                continue
            }
            if name.hasPrefix("DROVER_") {
                reader.report(entry.path, at: entry.keyPosition, "DROVER_ variables are set by drover for each replica")
                continue
            }
            if let port = portVariables[name] {
                reader.report(entry.path, at: entry.keyPosition, "\(name) is set by drover from ports: \(port)")
                continue
            }
            if entry.isNull {
                reader.report(entry, "has no value (write \"\" for an empty string)")
                continue
            }
            if let text = reader.text(entry, expected: "a string, number or boolean") { environment[name] = text }
        }
        return environment
    }

    private func decodeCommand(_ fields: Fields, environment: [String: String], ports: DeclaredPorts) -> [String] {
        let why = "the program and its arguments, as a list"
        guard fields.has("command") else {
            reader.report(fields.owner.path, at: fields.owner.keyPosition, "missing required key \"command\" (\(why))")
            return []
        }
        if let null = fields.nullEntry("command") {
            reader.report(null, "must not be empty (\(why))")
            return []
        }
        guard let value = fields["command"] else { return [] }
        if case .scalar = value.node, let text = reader.text(value) {
            // The commonest mistake: a shell command line. drover execs argv directly.
            let words = text.split(whereSeparator: \.isWhitespace).map { "\"\($0)\"" }.joined(separator: ", ")
            let rewritten = words.unicodeScalars.count <= InputError.longestEcho ? "[\(words)]" : "the program and each argument as a list item"
            reader.report(value, "expected a list of strings, got \(InputError.quoted(text)) (drover runs no shell: write \(rewritten))")
            return []
        }
        guard let items = reader.list(value, expected: "a list of strings") else { return [] }
        guard !items.isEmpty else {
            reader.report(value, "must not be empty (\(why))")
            return []
        }
        var variables: [String: String] = environment
        for name in Self.replicaVariables + ports.writtenInOrder.map(DeclaredPorts.variable) { variables[name] = name }
        var command: [String] = []
        for item in items {
            let hint = item.node.mapping != nil ? " (quote an argument that contains \": \")" : ""
            guard let argument = reader.text(item, expected: "a string", hint: hint) else { continue }
            if command.isEmpty, argument.isEmpty { reader.report(item, "the program name is empty") }
            checkReferences(in: argument, at: item, variables: variables)
            command.append(argument)
        }
        return command
    }

    /// `${VAR}` must name something the replica's environment will have; Expansion is the
    /// authority on the syntax (`$$` is a literal `$`), this adds a did-you-mean.
    private func checkReferences(in argument: String, at item: YAMLValue, variables: [String: String]) {
        do {
            _ = try Expansion.expand(argument, environment: variables)
        } catch {
            let unknown = argument.split(separator: "${", omittingEmptySubsequences: false).dropFirst()
                .compactMap { $0.split(separator: "}", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) }
                .first { variables[$0] == nil }
            let guess = unknown.flatMap { Suggestion.closest(to: $0, in: Array(variables.keys).sorted()) }
            reader.report(item, "\(error.subject) \(error.message)" + (guess.map { " (did you mean ${\($0)}?)" } ?? ""))
        }
    }

    private func decodeWorkdir(_ value: YAMLValue) -> String? {
        guard let path = reader.text(value, expected: "an absolute path") else { return nil }
        guard path.hasPrefix("/") else {
            reader.report(value, "\(InputError.quoted(path)) is not an absolute path (expected one starting with /)")
            return nil
        }
        return path
    }

    private func decodeResources(_ value: YAMLValue) -> JobSpec.Resources {
        var resources = JobSpec.Resources()
        guard let fields = reader.mapping(value, keys: ["cpu", "memory", "pids"]) else { return resources }
        resources.cpu = fields["cpu"].flatMap { reader.parsed($0, expected: "a CPU amount such as 0.5 or 250m", Quantity.cpu) }
        if let memory = fields["memory"], let bytes = reader.parsed(memory, expected: "a size such as 256Mi", Quantity.size) {
            if bytes == 0 { reader.report(memory, "must be more than 0") } else { resources.memory = bytes }
        }
        resources.pids = fields["pids"].flatMap { reader.wholeNumber($0, in: 1...Limits.pids) }
        return resources
    }

    private func decodeRestart(_ value: YAMLValue, into restart: inout JobSpec.Restart, kind: JobSpec.Kind) {
        guard let fields = reader.mapping(value, keys: ["policy", "backoff", "max_failures"]) else { return }
        if let policyValue = fields["policy"], let policy: JobSpec.RestartPolicy = reader.choice(policyValue, what: "a restart policy") {
            if kind == .batch, policy == .always {
                // As Kubernetes Jobs: a batch index that succeeded is done.
                reader.report(policyValue, "a batch job's replicas stop once they succeed: use on-failure or never")
            } else {
                restart.policy = policy
            }
        }
        if let backoff = fields["backoff"] { decodeBackoff(backoff, into: &restart.backoff) }
        if let maxFailures = fields["max_failures"].flatMap({ reader.wholeNumber($0, in: 1...Limits.failures) }) {
            restart.maxFailures = maxFailures
        }
    }

    private func decodeBackoff(_ value: YAMLValue, into backoff: inout JobSpec.Backoff) {
        let keys = ["initial", "max", "multiplier", "jitter", "reset_after"]
        guard let fields = reader.mapping(value, keys: keys) else { return }
        if let initial = fields["initial"], let delay = duration(initial) {
            backoff.initial = delay // 0s: restart at once (the delay still grows by the multiplier only from a non-zero start)
        }
        if let maxValue = fields["max"], let delay = duration(maxValue) {
            if delay >= backoff.initial {
                backoff.max = delay
            } else {
                reader.report(maxValue, "must be at least initial (\(formatDuration(backoff.initial)))")
            }
        } else if fields["max"] == nil, backoff.initial > backoff.max, let initial = fields["initial"] {
            reader.report(initial, "must be at most max (\(formatDuration(backoff.max)))")
        }
        if let multiplier = fields["multiplier"].flatMap({ reader.number($0, in: 1...Limits.backoffMultiplier) }) {
            backoff.multiplier = multiplier
        }
        if let jitter = fields["jitter"].flatMap({ reader.number($0, in: 0...1) }) { backoff.jitter = jitter }
        if let resetAfter = fields["reset_after"].flatMap(duration) { backoff.resetAfter = resetAfter }
    }

    private func decodeLameduck(_ value: YAMLValue, into lameduck: inout JobSpec.Lameduck) {
        guard let fields = reader.mapping(value, keys: ["signal", "grace"]) else { return }
        if let signal = fields["signal"].flatMap({ reader.parsed($0, expected: "a signal such as SIGTERM", Signals.number) }) {
            lameduck.signal = signal
        }
        if let grace = fields["grace"].flatMap(duration) { lameduck.grace = grace }
    }

    private func decodeService(_ value: YAMLValue, ports: DeclaredPorts) -> (port: Int, position: Position)? {
        guard let fields = reader.mapping(value, keys: ["port"]) else { return nil }
        guard let portValue = fields["port"] else {
            reader.report(value.path, at: value.keyPosition, "missing required key \"port\" (the stable port to listen on)")
            return nil
        }
        guard let port = reader.wholeNumber(portValue, in: Limits.ports) else { return nil }
        if ports.written.isEmpty {
            reader.report(value.path, at: value.keyPosition,
                          "a service forwards to one of the job's ports, and this job has none (declare one with ports: [NAME])")
        }
        return (port, portValue.position)
    }

    /// `filesystem: {writable: [PATH...]}` (SPEC §10): existing absolute host paths.
    private func decodeFilesystem(_ value: YAMLValue) -> [String] {
        guard let fields = reader.mapping(value, keys: ["writable"]),
              let list = fields["writable"], let items = reader.list(list, expected: "a list of host paths") else { return [] }
        var paths: [String] = []
        for item in items {
            guard let path = reader.parsed(item, expected: "a host path", { text throws(InputError) in
                try WritablePath.check(text, exists: { FileManager.default.fileExists(atPath: $0) })
            }) else { continue }
            if paths.contains(path) {
                reader.report(item, "\"\(path)\" is listed twice")
                continue
            }
            paths.append(path)
        }
        return paths
    }

    private func decodeCapabilities(_ value: YAMLValue) -> [String] {
        guard let items = reader.list(value, expected: "a list of capability names") else { return [] }
        var firstWritten: [String: Position] = [:]
        var names: [String] = []
        for item in items {
            guard let capability = reader.parsed(item, expected: "a capability name", Capability.named) else { continue }
            if let first = firstWritten[capability.name] {
                reader.report(item, "\(capability.name) is listed twice (first at \(first.spoken))")
                continue
            }
            firstWritten[capability.name] = item.position
            names.append(capability.name)
        }
        return names
    }

    /// At most `Limits.jobDuration`.
    private func duration(_ value: YAMLValue) -> Duration? {
        reader.parsed(value, expected: "a duration such as 30s") { text throws(InputError) in
            try Quantity.duration(text, atMost: Limits.jobDuration)
        }
    }
}

/// `100ms`, `30s`, `5m`, `1h`, as a user would write the duration back.
private extension Unicode.Scalar {
    var isLowercaseLetter: Bool { ("a"..."z").contains(self) }
    /// ASCII letters only: names that every shell and tool takes.
    var isLetter: Bool { isLowercaseLetter || ("A"..."Z").contains(self) }
    var isDigit: Bool { ("0"..."9").contains(self) }
}
