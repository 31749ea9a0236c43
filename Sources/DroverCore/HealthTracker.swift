/// One replica run's health (SPEC §1 `health:`) as a value with no I/O: the daemon runs the
/// probes, feeds each result in with the time it arrived, and turns the events that come out
/// into ``ReplicaLifecycle`` events (`becameReady`, `becameUnready`, and an eviction for
/// reason `unhealthy`). A new run (a restart or a replacement) gets a new tracker.
///
/// The rules, per check (`failures` defaults to 3, and counts as 1 when set lower):
///
/// - Ready starts ``Verdict/notYetPassed``: the replica is not published. The first success
///   makes it ready, however many failures came before it: failures while the process starts
///   up (nothing listening yet) are expected and say nothing about flapping.
/// - A ready check that passes turns ``Verdict/failing`` after `failures` consecutive
///   failures (the replica is unpublished), and passes again only after
///   ``successesToRecover`` consecutive successes, so a replica that answers every other
///   probe is not published and unpublished at each one.
/// - Live counts from the start (a replica that never answers is replaced too):
///   `failures` consecutive failures fail it, once. The daemon then evicts the replica; the
///   tracker has done its job, ignores later results and schedules no more probes.
/// - A probe that times out, is refused, or answers badly is a failure like any other; the
///   result's message says which (`HTTP 503`, `connect: connection refused`,
///   `timeout after 1s`, `exit code 1`) and is kept for `drover inspect`.
///
/// The two checks are independent: each keeps its own counts and last result.
public struct HealthTracker: Codable, Equatable, Sendable {
    public enum Check: String, Codable, Hashable, Sendable, CaseIterable {
        /// Decides whether the replica is published (names, service proxy).
        case ready
        /// Decides whether the replica is replaced.
        case live
    }

    /// Where a check stands.
    public enum Verdict: String, Codable, Hashable, Sendable {
        /// No verdict yet: a ready check that never passed, a live check with no success yet
        /// and fewer than `failures` failures.
        case notYetPassed = "not-yet-passed"
        case passing
        /// `failures` consecutive failures, and (for ready) not recovered since.
        case failing
    }

    /// What the daemon must act on.
    public enum Event: Hashable, Sendable {
        /// Publish the replica: ``ReplicaLifecycle/Event/becameReady(now:)``.
        case becameReady
        /// Unpublish it: ``ReplicaLifecycle/Event/becameUnready(now:)``.
        case becameUnready
        /// Replace it: evict with reason `unhealthy` (recorded as exit reason `health`).
        case livenessFailed
    }

    /// One probe's outcome, as `inspect` shows it.
    public struct Result: Codable, Hashable, Sendable {
        /// When the probe finished.
        public var at: Timestamp
        public var passed: Bool
        /// `HTTP 200`, `HTTP 503`, `connect: connection refused`, `timeout after 1s`,
        /// `exit code 1`.
        public var message: String

        public init(at: Timestamp, passed: Bool, message: String) {
            self.at = at
            self.passed = passed
            self.message = message
        }
    }

    /// One configured check: its settings, counts and last result.
    public struct CheckState: Codable, Equatable, Sendable {
        public let spec: JobSpec.HealthCheck
        public private(set) var verdict: Verdict = .notYetPassed
        /// When the verdict last changed (`ready since`, `failing since`); nil before any.
        public private(set) var since: Timestamp?
        public private(set) var consecutiveFailures = 0
        public private(set) var consecutiveSuccesses = 0
        public private(set) var lastResult: Result?

        init(spec: JobSpec.HealthCheck) {
            self.spec = spec
        }

        /// `failures` as configured; below 1 it would fail a check that never failed.
        public var failureThreshold: Int { max(1, spec.failures) }
    }

    /// Consecutive successes a ready check needs to pass again after it was failing. Two, not
    /// one: a replica that was pulled out of rotation must show it is back, not that it
    /// answered once. (The first pass needs one success: see the type's rules.)
    public static let successesToRecover = 2

    public private(set) var ready: CheckState?
    public private(set) var live: CheckState?

    /// A tracker for a fresh run of a job with these checks.
    public init(_ health: JobSpec.Health) {
        ready = health.ready.map(CheckState.init(spec:))
        live = health.live.map(CheckState.init(spec:))
    }

    public subscript(check: Check) -> CheckState? {
        switch check {
        case .ready: return ready
        case .live: return live
        }
    }

    /// Whether the replica should be published: its ready check passes, or it has none.
    public var isReady: Bool { ready.map { $0.verdict == .passing } ?? true }

    /// The liveness check failed: the replica is to be replaced; nothing more is probed.
    public var livenessFailed: Bool { live?.verdict == .failing }

    /// Counts one probe result of `check` that arrived at `now`; returns what the daemon must
    /// do, if anything. Results for a check the job does not have, and every result after the
    /// liveness check failed, change nothing.
    @discardableResult
    public mutating func record(_ check: Check, passed: Bool, message: String, at now: Timestamp) -> Event? {
        guard !livenessFailed else { return nil }
        let result = Result(at: now, passed: passed, message: message)
        switch check {
        case .ready:
            guard var state = ready else { return nil }
            defer { ready = state }
            state.count(result)
            switch state.verdict {
            case .notYetPassed where passed,
                 .failing where state.consecutiveSuccesses >= Self.successesToRecover:
                state.judge(.passing, at: now)
                return .becameReady
            case .passing where state.consecutiveFailures >= state.failureThreshold:
                state.judge(.failing, at: now)
                return .becameUnready
            default:
                // Failures before the first pass leave it `notYetPassed`: it has nothing to
                // lose, and its first success still publishes it.
                return nil
            }
        case .live:
            guard var state = live else { return nil }
            defer { live = state }
            state.count(result)
            if state.consecutiveFailures >= state.failureThreshold {
                state.judge(.failing, at: now)
                return .livenessFailed
            }
            if passed && state.verdict == .notYetPassed { state.judge(.passing, at: now) }
            return nil
        }
    }

    /// When `check` is due next, given when its last probe started (the run's start, for the
    /// first one): one `period` later, so probes keep to the period however long each takes.
    /// The daemon runs one probe of a check at a time; a time already past means "now". Nil
    /// when the job has no such check or the replica failed its liveness check.
    public func nextProbe(_ check: Check, after lastStart: Timestamp) -> Timestamp? {
        guard !livenessFailed, let state = self[check] else { return nil }
        return lastStart + max(state.spec.period, .zero)
    }
}

extension HealthTracker.CheckState {
    fileprivate mutating func count(_ result: HealthTracker.Result) {
        lastResult = result
        if result.passed {
            consecutiveSuccesses += 1
            consecutiveFailures = 0
        } else {
            consecutiveFailures += 1
            consecutiveSuccesses = 0
        }
    }

    fileprivate mutating func judge(_ verdict: HealthTracker.Verdict, at now: Timestamp) {
        self.verdict = verdict
        since = now
    }
}
