/// The API's routes, defined once (docs/API.md, "Endpoints"): droverd registers its handlers
/// on these, `DroverClient`'s typed calls build their requests from them, and droverd's 405
/// answer lists the methods a path has from `Routes.all`.
public enum HTTPVerb: String, Sendable, Hashable {
    case GET, POST, DELETE
}

/// No request body (or, as a response, none worth decoding).
public struct NoBody: Codable, Equatable, Sendable {
    public init() {}
}

/// A response that is text, not JSON: logs, Prometheus metrics.
public enum PlainText {}

/// One route: its method, its path template (`/v1/jobs/{job}`, Hummingbird's and docs/API.md's
/// notation) and, as type parameters, what its request and response bodies are.
public struct Route<RequestBody, ResponseBody>: Sendable {
    public let method: HTTPVerb
    public let template: String

    public init(_ method: HTTPVerb, _ template: String) {
        self.method = method
        self.template = template
    }

    /// The template's `{name}` parameters, in order.
    public var parameters: [String] {
        template.split(separator: "/").filter { $0.hasPrefix("{") && $0.hasSuffix("}") }.map { String($0.dropFirst().dropLast()) }
    }

    /// The path with each `{name}` replaced by the next of `values` (as written: droverd's
    /// names need no escaping), then `query` as `?key=value&...` in the order given.
    public func path(_ values: String..., query: [(name: String, value: String)] = []) -> String {
        precondition(values.count == parameters.count, "\(template) takes \(parameters.count) parameters, given \(values.count)")
        var remaining = values[...]
        let segments = template.split(separator: "/", omittingEmptySubsequences: false).map { segment -> Substring in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return segment }
            return Substring(remaining.removeFirst())
        }
        let path = segments.joined(separator: "/")
        guard !query.isEmpty else { return path }
        return path + "?" + query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// Method and template without the body types, for lists of routes.
    public var erased: AnyRoute { AnyRoute(method: method, template: template) }
}

/// A route's method and template.
public struct AnyRoute: Sendable, Hashable {
    public let method: HTTPVerb
    public let template: String

    /// Whether `path` (no query) is one this template names: same segments, a `{name}`
    /// matching any one.
    public func matches(path: String) -> Bool {
        let parts = path.split(separator: "/")
        let pattern = template.split(separator: "/")
        return pattern.count == parts.count && zip(pattern, parts).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}

public enum Routes {
    public static let apply = Route<ApplyRequest, ApplyResponse>(.POST, "/v1/apply")
    public static let jobs = Route<NoBody, [JobStatus]>(.GET, "/v1/jobs")
    public static let job = Route<NoBody, JobStatus>(.GET, "/v1/jobs/{job}")
    public static let stopJob = Route<NoBody, ActionResponse>(.POST, "/v1/jobs/{job}/stop")
    public static let startJob = Route<NoBody, ActionResponse>(.POST, "/v1/jobs/{job}/start")
    public static let deleteJob = Route<NoBody, ActionResponse>(.DELETE, "/v1/jobs/{job}")
    /// `drover scale JOB N`: the job's replica count.
    public static let scaleJob = Route<ScaleRequest, ApplyResponse>(.POST, "/v1/jobs/{job}/scale")
    /// `drover restart JOB|NAME`: a rolling restart through the lameduck protocol.
    public static let restartJob = Route<RestartRequest, EvictResponse>(.POST, "/v1/jobs/{job}/restart")
    /// `drover reload`: `droverd --config DIR` read again (as SIGHUP does).
    public static let reload = Route<NoBody, ApplyResponse>(.POST, "/v1/reload")
    public static let evict = Route<EvictRequest, EvictResponse>(.POST, "/v1/evict")
    /// The body is optional: none is `DrainRequest()`.
    public static let drain = Route<DrainRequest, EvictResponse>(.POST, "/v1/drain")
    public static let undrain = Route<NoBody, HostStatus>(.POST, "/v1/undrain")
    public static let host = Route<NoBody, HostStatus>(.GET, "/v1/host")
    public static let replica = Route<NoBody, ReplicaStatus>(.GET, "/v1/replicas/{job}/{index}")
    /// `?tail=N&follow=1`: text; with `follow=1` a stream across restarts and rotations.
    public static let logs = Route<NoBody, PlainText>(.GET, "/v1/logs/{job}/{index}")
    /// `?since=UNIXTIME&subject=NAME&follow=1`: with `follow=1`, newline-delimited `Event`s.
    public static let events = Route<NoBody, [Event]>(.GET, "/v1/events")
    /// A job's ready replicas, or one replica as `{index}.{job}`; `?watch=VERSION&timeout=30s`.
    public static let jobNames = Route<NoBody, NameAnswer>(.GET, "/v1/names/{job}")
    public static let replicaNames = Route<NoBody, NameAnswer>(.GET, "/v1/names/{job}/{index}")
    /// Prometheus text.
    public static let metrics = Route<NoBody, PlainText>(.GET, "/metrics")

    /// Every route droverd serves.
    public static let all: [AnyRoute] = [
        apply.erased, jobs.erased, job.erased, stopJob.erased, startJob.erased, deleteJob.erased,
        scaleJob.erased, restartJob.erased, reload.erased,
        evict.erased, drain.erased, undrain.erased, host.erased,
        replica.erased, logs.erased, events.erased, jobNames.erased, replicaNames.erased,
        metrics.erased,
    ]
}
