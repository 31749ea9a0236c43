import DroverCore

/// Types on the wire between droverd and its clients (HTTP/1.1 + JSON on a Unix socket,
/// SPEC §8). The CLI's `--json` output is these same types: stable and documented in
/// docs/API.md. Field names are the JSON keys.
public enum API {
    /// Default places (SPEC §8); `droverd --socket`/`--state-dir` and `drover --socket` override.
    public static let defaultSocketPath = "/run/drover/drover.sock"
    public static let defaultStateDirectory = "/var/lib/drover"
    public static let version = "v1"
}

/// One YAML document source sent by `drover apply`.
public struct ApplyFile: Codable, Equatable, Sendable {
    public var path: String
    public var content: String
    public init(path: String, content: String) {
        self.path = path
        self.content = content
    }
}

/// POST /v1/apply: creates and updates the jobs in `files`; deletes nothing unless `prune`
/// (issue 14).
public struct ApplyRequest: Codable, Equatable, Sendable {
    public var files: [ApplyFile]
    /// Validate and report the diff without changing anything.
    public var dryRun: Bool
    /// Where these files come from (`drover apply PATH` sends `file:` and PATH made absolute):
    /// each job records it, and `prune` is limited to it.
    public var source: String?
    /// Also delete the jobs of the same `source` that `files` no longer declare.
    public var prune: Bool
    /// Let a prune delete every job on the host (refused with 409 otherwise).
    public var pruneAll: Bool

    public init(files: [ApplyFile], dryRun: Bool = false, source: String? = nil, prune: Bool = false, pruneAll: Bool = false) {
        self.files = files
        self.dryRun = dryRun
        self.source = source
        self.prune = prune
        self.pruneAll = pruneAll
    }

    enum CodingKeys: String, CodingKey { case files, dryRun, source, prune, pruneAll }

    /// Only `files` is required: `{"files": [...]}` is a plain create-and-update apply.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        files = try c.decode([ApplyFile].self, forKey: .files)
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false
        source = try c.decodeIfPresent(String.self, forKey: .source)
        prune = try c.decodeIfPresent(Bool.self, forKey: .prune) ?? false
        pruneAll = try c.decodeIfPresent(Bool.self, forKey: .pruneAll) ?? false
    }
}

/// POST /v1/jobs/{job}/scale
public struct ScaleRequest: Codable, Equatable, Sendable {
    public var replicas: Int
    public init(replicas: Int) { self.replicas = replicas }
}

/// POST /v1/jobs/{job}/restart: a rolling restart of every replica, or of one (`index`).
public struct RestartRequest: Codable, Equatable, Sendable {
    public var index: Int?
    public init(index: Int? = nil) { self.index = index }
}

public struct ApplyResponse: Codable, Equatable, Sendable {
    public var created: [String]
    public var changed: [String]
    public var unchanged: [String]
    public var deleted: [String]
    public var dryRun: Bool
    public init(created: [String] = [], changed: [String] = [], unchanged: [String] = [], deleted: [String] = [], dryRun: Bool = false) {
        self.created = created
        self.changed = changed
        self.unchanged = unchanged
        self.deleted = deleted
        self.dryRun = dryRun
    }
}

/// Every error response: `{error, detail}` with a 4xx/5xx status. `errors` lists each problem
/// of a rejected config (file, line, column, key path in the text).
public struct ErrorBody: Codable, Equatable, Error, Sendable {
    public var error: String
    public var detail: String
    public var errors: [String]?
    public init(error: String, detail: String, errors: [String]? = nil) {
        self.error = error
        self.detail = detail
        self.errors = errors
    }
}

/// A replica as `drover ps` and `inspect` show it.
public struct ReplicaStatus: Codable, Equatable, Sendable {
    /// `web/2`
    public var name: String
    public var job: String
    public var index: Int
    /// pending, starting, running, ready, lameduck, stopping, exited, succeeded, failed,
    /// crashlooping. A batch replica that runs is `running`, never `ready`.
    public var state: String
    /// Why it is pending or crashlooping, in words.
    public var reason: String?
    /// The workload's host PID (the program the job runs, PID 2 in the sandbox: the one to
    /// `kill`, `strace`, `perf`); drover-init's when the workload cannot be found (it has
    /// just exited). nil while no process runs.
    public var pid: Int32?
    /// drover-init's host PID (PID 1 in the sandbox), while a process runs (`inspect`).
    public var initPid: Int32?
    public var ports: [String: Int]
    public var restarts: Int
    /// When the current process started (RFC 3339), nil when none runs.
    public var startedAt: String?
    /// When the next start is due while backing off (RFC 3339).
    public var nextAttempt: String?
    public var lastExit: String?
    public var cpuSeconds: Double?
    public var memoryBytes: UInt64?
    /// Limits this host cannot enforce (hybrid cgroups), by name.
    public var unenforced: [String]
    /// The host uid and gid its processes run as (SPEC §10: the job's own unless it names a
    /// user; root inside maps onto it), nil before the job has one.
    public var uid: UInt32?
    public var gid: UInt32?
    /// `host_root: true`: no user namespace, uid 0 inside is the host's root (SPEC §10).
    public var hostRoot: Bool?
    public var cgroup: String?
    public var stateDirectory: String
    public var logFile: String
    /// The health checks' state and last results (`inspect`).
    public var checks: [CheckStatus]?

    public init(name: String, job: String, index: Int, state: String, reason: String? = nil, pid: Int32? = nil,
                initPid: Int32? = nil, ports: [String: Int] = [:], restarts: Int = 0, startedAt: String? = nil, nextAttempt: String? = nil,
                lastExit: String? = nil, cpuSeconds: Double? = nil, memoryBytes: UInt64? = nil, unenforced: [String] = [],
                uid: UInt32? = nil, gid: UInt32? = nil, hostRoot: Bool? = nil, cgroup: String? = nil, stateDirectory: String, logFile: String, checks: [CheckStatus]? = nil) {
        self.name = name
        self.job = job
        self.index = index
        self.state = state
        self.reason = reason
        self.pid = pid
        self.initPid = initPid
        self.ports = ports
        self.restarts = restarts
        self.startedAt = startedAt
        self.nextAttempt = nextAttempt
        self.lastExit = lastExit
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.unenforced = unenforced
        self.uid = uid
        self.gid = gid
        self.hostRoot = hostRoot
        self.cgroup = cgroup
        self.stateDirectory = stateDirectory
        self.logFile = logFile
        self.checks = checks
    }
}

/// One health check of a replica.
public struct CheckStatus: Codable, Equatable, Sendable {
    /// `ready` or `live`
    public var check: String
    /// `not-yet-passed`, `passing`, `failing`
    public var verdict: String
    public var consecutiveFailures: Int
    /// RFC 3339 time and message of the last probe: `HTTP 200`, `connect: connection refused`,
    /// `timeout after 1s`, `exit code 1`.
    public var lastAt: String?
    public var lastMessage: String?
    public var lastPassed: Bool?

    public init(check: String, verdict: String, consecutiveFailures: Int, lastAt: String?, lastMessage: String?, lastPassed: Bool?) {
        self.check = check
        self.verdict = verdict
        self.consecutiveFailures = consecutiveFailures
        self.lastAt = lastAt
        self.lastMessage = lastMessage
        self.lastPassed = lastPassed
    }
}

public struct JobStatus: Codable, Equatable, Sendable {
    public var name: String
    /// running, stopped, succeeded, failed
    public var state: String
    /// For a failed batch job: the index and its last exit reason.
    public var reason: String?
    public var spec: JobSpec
    public var replicas: [ReplicaStatus]
    public init(name: String, state: String, reason: String? = nil, spec: JobSpec, replicas: [ReplicaStatus]) {
        self.name = name
        self.state = state
        self.reason = reason
        self.spec = spec
        self.replicas = replicas
    }
}

public struct Event: Codable, Equatable, Sendable {
    public var id: Int64
    /// RFC 3339
    public var time: String
    /// `web/2`, `web`, or `droverd`
    public var subject: String
    /// started, exited, restarting, crashlooping, succeeded, failed, stopped, applied, adopted, ...
    public var kind: String
    public var message: String
    public init(id: Int64, time: String, subject: String, kind: String, message: String) {
        self.id = id
        self.time = time
        self.subject = subject
        self.kind = kind
        self.message = message
    }
}

/// POST /v1/jobs/{job}/stop|start, DELETE /v1/jobs/{job}: mutations carry a request id; a
/// repeated id returns the first answer (SPEC §8).
public struct ActionResponse: Codable, Equatable, Sendable {
    public var job: String
    public var action: String
    public var message: String
    public init(job: String, action: String, message: String) {
        self.job = job
        self.action = action
        self.message = message
    }
}

/// One published replica (SPEC §6).
public struct NameEndpoint: Codable, Equatable, Hashable, Sendable {
    /// `web/2`
    public var name: String
    public var host: String
    /// The job's first declared port (the one `resolve` prints and the service proxy uses);
    /// 0 when the job declares none.
    public var port: Int
    /// Every declared port by name.
    public var ports: [String: Int]

    public init(name: String, host: String, port: Int, ports: [String: Int]) {
        self.name = name
        self.host = host
        self.port = port
        self.ports = ports
    }
}

/// GET /v1/names/{job} or /v1/names/{job}/{index} (`?watch=VERSION` waits for a change).
public struct NameAnswer: Codable, Equatable, Sendable {
    public var name: String
    /// Bumped on every change of any name: pass it back as `watch` to wait for the next one.
    public var version: UInt64
    public var endpoints: [NameEndpoint]

    public init(name: String, version: UInt64, endpoints: [NameEndpoint]) {
        self.name = name
        self.version = version
        self.endpoints = endpoints
    }
}

/// POST /v1/evict: the lameduck protocol for one replica (`web/2`) or each of a job's.
public struct EvictRequest: Codable, Equatable, Sendable {
    public var name: String
    /// `30s`; the job's `lameduck.grace` when absent.
    public var grace: String?
    /// Free text, written into the notice file and the events.
    public var reason: String?
    public init(name: String, grace: String? = nil, reason: String? = nil) {
        self.name = name
        self.grace = grace
        self.reason = reason
    }
}

/// POST /v1/drain
public struct DrainRequest: Codable, Equatable, Sendable {
    public var grace: String?
    public init(grace: String? = nil) { self.grace = grace }
}

/// The answer to evict and drain: the replicas that were sent a notice.
public struct EvictResponse: Codable, Equatable, Sendable {
    public var evicted: [String]
    public init(evicted: [String]) { self.evicted = evicted }
}

/// GET /v1/host: the host-wide state.
public struct HostStatus: Codable, Equatable, Sendable {
    /// `drover drain` is in force: nothing starts until `drover undrain`.
    public var drained: Bool
    public init(drained: Bool) { self.drained = drained }
}

/// A name as users write it (SPEC §6): `web` (a job), `web/2` or, in DNS order, `2.web` (one
/// replica). The CLI and the API read names the same way.
public struct ReplicaName: Equatable, Sendable {
    public var job: String
    public var index: Int?

    public static let expected = "expected JOB/INDEX such as web/2 (or 2.web), or JOB"

    /// Nil when `text` is none of the three forms.
    public static func parse(_ text: String) -> ReplicaName? {
        if let slash = text.firstIndex(of: "/") {
            guard slash != text.startIndex, let index = Int(text[text.index(after: slash)...]), index >= 0 else { return nil }
            return ReplicaName(job: String(text[..<slash]), index: index)
        }
        let parts = text.split(separator: ".", maxSplits: 1)
        if parts.count == 2, let index = Int(parts[0]), index >= 0 { return ReplicaName(job: String(parts[1]), index: index) }
        guard !text.isEmpty, !text.contains(".") else { return nil }
        return ReplicaName(job: text, index: nil)
    }
}
