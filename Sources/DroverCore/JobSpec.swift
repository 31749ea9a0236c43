/// A job as declared in a jobs file (SPEC §1), after parsing, defaults and validation. Values
/// are typed (sizes in bytes, durations, signals by number); `Codable` for the daemon's store
/// and the API, in the forms docs/API.md gives (durations as seconds, signals by name:
/// SpecCoding.swift). Equality is what "changed" means for apply.
public struct JobSpec: Codable, Equatable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Runs forever; restarted by policy.
        case serving
        /// Each index runs until it exits 0 once.
        case batch
    }

    public enum Priority: String, Codable, Sendable, CaseIterable, Comparable {
        case production
        case batch
        case bestEffort = "best-effort"

        /// production > batch > best-effort.
        public var rank: Int {
            switch self {
            case .production: return 2
            case .batch: return 1
            case .bestEffort: return 0
            }
        }

        public static func < (a: Priority, b: Priority) -> Bool { a.rank < b.rank }
    }

    public var name: String
    public var kind: Kind
    public var replicas: Int
    public var priority: Priority
    /// argv; may contain `${VAR}` references to the replica's environment.
    public var command: [String]
    public var environment: [String: String]
    /// "nobody", "1000", "1000:1000" (UserSpec's text form); nil: the job's own uid and gid,
    /// allocated by droverd (SPEC §10).
    public var user: String?
    /// No user namespace: uid 0 inside is the host's root (SPEC §10's explicit opt-out).
    public var hostRoot: Bool
    /// Host paths the replicas may write (`filesystem.writable`), besides /tmp, /var/tmp and
    /// their state directories.
    public var writable: [String]
    /// `network: none`: loopback only, no ports (SPEC §10).
    public var network: NetworkMode
    public var workdir: String
    /// Port names, each given one host port in PORT_<NAME>.
    public var ports: [String]
    public var resources: Resources
    public var restart: Restart
    public var lameduck: Lameduck
    public var health: Health
    public var service: Service?
    /// Capability names kept (SPEC §2), canonical form without CAP_ (NET_BIND_SERVICE).
    public var capabilities: [String]
    /// Bumped by `drover restart JOB`: a new value is a new spec to roll out, one replica at a
    /// time, as `kubectl rollout restart` does with an annotation. Not in jobs files: an apply
    /// keeps the job's current value (`Supervisor.apply`).
    public var restartGeneration: Int = 0

    public init(name: String, kind: Kind = .serving, replicas: Int = 1, priority: Priority? = nil,
                command: [String], environment: [String: String] = [:], user: String? = nil,
                hostRoot: Bool = false, writable: [String] = [], network: NetworkMode = .host,
                workdir: String = "/", ports: [String] = [], resources: Resources = Resources(),
                restart: Restart? = nil, lameduck: Lameduck = Lameduck(), health: Health = Health(),
                service: Service? = nil, capabilities: [String] = []) {
        self.name = name
        self.kind = kind
        self.replicas = replicas
        self.priority = priority ?? (kind == .serving ? .production : .batch)
        self.command = command
        self.environment = environment
        self.user = user
        self.hostRoot = hostRoot
        self.writable = writable
        self.network = network
        self.workdir = workdir
        self.ports = ports
        self.resources = resources
        self.restart = restart ?? Restart(policy: kind == .serving ? .always : .onFailure)
        self.lameduck = lameduck
        self.health = health
        self.service = service
        self.capabilities = capabilities
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, replicas, priority, command, environment, user, hostRoot, writable, network, workdir, ports
        case resources, restart, lameduck, health, service, capabilities, restartGeneration
    }

    /// Specs stored by an earlier droverd lack the newer fields: they get the defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        kind = try c.decode(Kind.self, forKey: .kind)
        replicas = try c.decode(Int.self, forKey: .replicas)
        priority = try c.decode(Priority.self, forKey: .priority)
        command = try c.decode([String].self, forKey: .command)
        environment = try c.decode([String: String].self, forKey: .environment)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        hostRoot = try c.decodeIfPresent(Bool.self, forKey: .hostRoot) ?? false
        writable = try c.decodeIfPresent([String].self, forKey: .writable) ?? []
        network = try c.decodeIfPresent(NetworkMode.self, forKey: .network) ?? .host
        workdir = try c.decode(String.self, forKey: .workdir)
        ports = try c.decode([String].self, forKey: .ports)
        resources = try c.decode(Resources.self, forKey: .resources)
        restart = try c.decode(Restart.self, forKey: .restart)
        lameduck = try c.decode(Lameduck.self, forKey: .lameduck)
        health = try c.decode(Health.self, forKey: .health)
        service = try c.decodeIfPresent(Service.self, forKey: .service)
        capabilities = try c.decode([String].self, forKey: .capabilities)
        restartGeneration = try c.decodeIfPresent(Int.self, forKey: .restartGeneration) ?? 0
    }

    public struct Resources: Codable, Equatable, Hashable, Sendable {
        public var cpu: CPUCores?
        public var memory: UInt64?
        public var pids: Int?

        public init(cpu: CPUCores? = nil, memory: UInt64? = nil, pids: Int? = nil) {
            self.cpu = cpu
            self.memory = memory
            self.pids = pids
        }
    }

    public enum RestartPolicy: String, Codable, Sendable, CaseIterable {
        case always
        case onFailure = "on-failure"
        case never
    }

    public struct Backoff: Codable, Equatable, Hashable, Sendable {
        public var initial: Duration
        public var max: Duration
        public var multiplier: Double
        /// Fraction of the delay added or removed at random: 0.1 → ±10%.
        public var jitter: Double
        /// Running this long without failing resets the delay to `initial`.
        public var resetAfter: Duration

        public init(initial: Duration = .milliseconds(100), max: Duration = .seconds(60), multiplier: Double = 2,
                    jitter: Double = 0.1, resetAfter: Duration = .seconds(300)) {
            self.initial = initial
            self.max = max
            self.multiplier = multiplier
            self.jitter = jitter
            self.resetAfter = resetAfter
        }
    }

    public struct Restart: Codable, Equatable, Hashable, Sendable {
        public var policy: RestartPolicy
        public var backoff: Backoff
        /// Batch: give up on an index after this many failures (SPEC §1 example: 6).
        public var maxFailures: Int

        public init(policy: RestartPolicy, backoff: Backoff = Backoff(), maxFailures: Int = 6) {
            self.policy = policy
            self.backoff = backoff
            self.maxFailures = maxFailures
        }
    }

    public struct Lameduck: Codable, Equatable, Hashable, Sendable {
        /// Signal number (SIGTERM = 15); its name in JSON.
        public var signal: Int32
        public var grace: Duration

        public init(signal: Int32 = 15, grace: Duration = .seconds(30)) {
            self.signal = signal
            self.grace = grace
        }
    }

    public struct Health: Codable, Equatable, Hashable, Sendable {
        public var ready: HealthCheck?
        public var live: HealthCheck?

        public init(ready: HealthCheck? = nil, live: HealthCheck? = nil) {
            self.ready = ready
            self.live = live
        }
    }

    public struct HealthCheck: Codable, Equatable, Hashable, Sendable {
        public enum Probe: Codable, Equatable, Hashable, Sendable {
            /// GET path on the named port; 2xx and 3xx pass.
            case http(path: String, port: String)
            /// A TCP connect to the named port.
            case tcp(port: String)
            /// A command run inside the replica's namespaces and cgroup; exit 0 passes.
            case exec(command: [String])
        }

        public var probe: Probe
        public var period: Duration
        public var timeout: Duration
        /// Consecutive failures before the check counts as failed.
        public var failures: Int

        public init(probe: Probe, period: Duration = .seconds(1), timeout: Duration = .seconds(1), failures: Int = 3) {
            self.probe = probe
            self.period = period
            self.timeout = timeout
            self.failures = failures
        }
    }

    public struct Service: Codable, Equatable, Hashable, Sendable {
        public var port: Int
        public init(port: Int) { self.port = port }
    }
}

extension CPUCores: Codable {
    public init(from decoder: Decoder) throws {
        millicores = try decoder.singleValueContainer().decode(Int.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(millicores)
    }
}

// Durations as seconds and signals by name (SpecCoding.swift); the keys are the properties'.

extension JobSpec.Backoff {
    enum CodingKeys: String, CodingKey { case initial, max, multiplier, jitter, resetAfter }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        initial = try c.decodeSeconds(forKey: .initial)
        max = try c.decodeSeconds(forKey: .max)
        multiplier = try c.decode(Double.self, forKey: .multiplier)
        jitter = try c.decode(Double.self, forKey: .jitter)
        resetAfter = try c.decodeSeconds(forKey: .resetAfter)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeSeconds(initial, forKey: .initial)
        try c.encodeSeconds(max, forKey: .max)
        try c.encode(multiplier, forKey: .multiplier)
        try c.encode(jitter, forKey: .jitter)
        try c.encodeSeconds(resetAfter, forKey: .resetAfter)
    }
}

extension JobSpec.Lameduck {
    enum CodingKeys: String, CodingKey { case signal, grace }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        signal = try c.decode(SignalCoded.self, forKey: .signal).value
        grace = try c.decodeSeconds(forKey: .grace)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(SignalCoded(signal), forKey: .signal)
        try c.encodeSeconds(grace, forKey: .grace)
    }
}

extension JobSpec.HealthCheck {
    enum CodingKeys: String, CodingKey { case probe, period, timeout, failures }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        probe = try c.decode(Probe.self, forKey: .probe)
        period = try c.decodeSeconds(forKey: .period)
        timeout = try c.decodeSeconds(forKey: .timeout)
        failures = try c.decode(Int.self, forKey: .failures)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(probe, forKey: .probe)
        try c.encodeSeconds(period, forKey: .period)
        try c.encodeSeconds(timeout, forKey: .timeout)
        try c.encode(failures, forKey: .failures)
    }
}
