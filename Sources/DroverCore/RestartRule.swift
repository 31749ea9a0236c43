/// How a replica's run ended (SPEC §3 "Exit reasons recorded"). `ps` and `inspect` show it;
/// the restart rule decides on it.
public enum ExitReason: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The process exited by itself with this code.
    case exited(code: Int32)
    /// The process died of this signal (not one drover sent while stopping it).
    case signaled(signal: Int32)
    /// The kernel's OOM killer ended it (memory.events `oom_kill` went up).
    case oomKilled
    /// The liveness check failed and drover evicted it (eviction reason `unhealthy`).
    case health
    /// drover stopped it on purpose (SPEC §4, and `drover stop` / `drover delete`).
    case evicted(EvictionReason)
    /// The sandbox could not be set up or the command not executed (``pivot_root: EPERM``).
    case spawnFailed(message: String)

    /// drover-init's report, as an exit reason.
    public init(_ status: ExitStatus) {
        switch status {
        case .exited(let code): self = .exited(code: code)
        case .signaled(let signal): self = .signaled(signal: signal)
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return ExitStatus.exited(code).description
        case .signaled(let signal): return ExitStatus.signaled(signal).description
        case .oomKilled: return "oom-killed"
        case .health: return "health"
        case .evicted(let reason): return "evicted(\(reason.rawValue))"
        case .spawnFailed(let message): return "spawn failed: \(message)"
        }
    }
}

/// Why drover ends a replica on purpose. Every one of them goes through the lameduck protocol
/// (SPEC §4), and the reason alone decides what comes after (see ``RestartRule``).
public enum EvictionReason: String, Hashable, Codable, Sendable, CaseIterable {
    /// `drover evict`: replaced by a fresh replica at the same index.
    case manual
    /// Host maintenance (`drover drain`): not replaced until `drover undrain`.
    case drain
    /// A higher priority needs the resources: back to pending.
    case preempted
    /// Rolling update: replaced at the same index by a replica of the new spec.
    case update
    /// The job asks for fewer replicas: gone for good.
    case scaleDown = "scale-down"
    /// The liveness check failed: a failure, restarted with backoff (recorded as `health`).
    case unhealthy
    /// `drover stop JOB`: down until `drover start JOB`.
    case stop
    /// `drover delete JOB`: gone, and its state directory with it.
    case delete
}

/// A replica index's failure history, kept across its runs.
public struct FailureCount: Hashable, Codable, Sendable {
    /// Failures since the index last ran healthy for `reset_after`: sets the backoff delay and
    /// whether it is crashlooping.
    public var consecutive: Int
    /// Every failure of the index. Batch gives up at `max_failures` of these: `reset_after`
    /// must not let a shard that fails after ten minutes retry forever.
    public var total: Int

    public init(consecutive: Int = 0, total: Int = 0) {
        self.consecutive = consecutive
        self.total = total
    }
}

/// What happens after a replica's run ends.
public enum RestartDecision: Hashable, Sendable {
    /// Start the same index again after `delay`, keeping its resources meanwhile.
    /// `crashlooping` once it has failed ``RestartRule/crashloopThreshold`` times in a row.
    case restart(after: Duration, crashlooping: Bool)
    /// Give the resources back and wait in pending for admission: a fresh replica at the same
    /// index (eviction for `manual`, `update` or `preempted`).
    case requeue
    /// Give the resources back and wait in pending until the host is undrained.
    case holdUntilUndrained
    /// Stay down.
    case stayDown(StayDown)

    public enum StayDown: Hashable, Sendable {
        /// Policy `never` on a serving job (state `exited` after exit 0, `failed` otherwise).
        case policyNever
        /// Policy `on-failure` on a serving job and it exited 0 (state `exited`).
        case exitedCleanly
        /// A batch index exited 0: its work is done (state `succeeded`).
        case succeeded
        /// A batch index failed `max_failures` times (or once under policy `never`): the
        /// index is `failed`, and so is the job.
        case gaveUp(failures: Int, lastReason: ExitReason)
        /// Scaled down, stopped or deleted (state `exited`).
        case removed(EvictionReason)
    }
}

/// The restart rule (SPEC §3, §4, §9): whether and when a replica starts again, after it
/// exits or is evicted. A value with no I/O; randomness comes in as `jitterSample`, so the
/// rule is a function and tests give exact delays. Shaped after systemd's
/// `service_shall_restart` and `service_restart_usec_next`.
public struct RestartRule: Hashable, Sendable {
    public var kind: JobSpec.Kind
    public var restart: JobSpec.Restart

    /// A replica that has failed this many times in a row (without `reset_after` of healthy
    /// running in between) is shown as crashlooping. Counting failures rather than comparing
    /// the delay with `max` keeps the signal independent of the backoff settings: with the
    /// defaults the third failure comes within a second, and a user sees the loop at once;
    /// one or two failures are often a blip.
    public static let crashloopThreshold = 3

    public init(kind: JobSpec.Kind, restart: JobSpec.Restart) {
        self.kind = kind
        self.restart = restart
    }

    public init(_ job: JobSpec) {
        self.init(kind: job.kind, restart: job.restart)
    }

    /// Decides what follows a run that ended for `reason`, and counts it in `failures`.
    ///
    /// - `healthyFor`: the longest healthy (ready) stretch of the run; `reset_after` or more
    ///   forgives earlier consecutive failures.
    /// - `jitterSample`: a number in -1...1 (uniformly random in production); the delay is
    ///   moved by `jitter × jitterSample` of itself.
    ///
    /// A serving job is meant to run forever, so under `always` every exit counts as a
    /// failure for the backoff, exit 0 included: a replica that exits 0 at once must not spin.
    public func decide(after reason: ExitReason, failures: inout FailureCount, healthyFor: Duration,
                       jitterSample: Double) -> RestartDecision {
        switch reason {
        case .evicted(.unhealthy), .health:
            return afterFailure(.health, failures: &failures, healthyFor: healthyFor, jitterSample: jitterSample)
        case .evicted(.manual), .evicted(.preempted):
            return .requeue
        case .evicted(.update):
            // A new spec deserves a clean slate: the old one's failures say nothing about it.
            failures = FailureCount()
            return .requeue
        case .evicted(.drain):
            return .holdUntilUndrained
        case .evicted(let removal):
            return .stayDown(.removed(removal))
        case .exited(code: 0):
            switch (kind, restart.policy) {
            case (.batch, _): return .stayDown(.succeeded)
            case (.serving, .never): return .stayDown(.policyNever)
            case (.serving, .onFailure): return .stayDown(.exitedCleanly)
            case (.serving, .always):
                return afterFailure(reason, failures: &failures, healthyFor: healthyFor, jitterSample: jitterSample)
            }
        case .exited, .signaled, .oomKilled, .spawnFailed:
            return afterFailure(reason, failures: &failures, healthyFor: healthyFor, jitterSample: jitterSample)
        }
    }

    private func afterFailure(_ reason: ExitReason, failures: inout FailureCount, healthyFor: Duration,
                              jitterSample: Double) -> RestartDecision {
        if healthyFor >= restart.backoff.resetAfter { failures.consecutive = 0 }
        failures.consecutive += 1
        failures.total += 1
        if kind == .batch, restart.policy == .never || failures.total >= max(1, restart.maxFailures) {
            return .stayDown(.gaveUp(failures: failures.total, lastReason: reason))
        }
        if restart.policy == .never { return .stayDown(.policyNever) }
        var wait = delay(afterConsecutiveFailures: failures.consecutive, jitterSample: jitterSample)
        // A start that failed (no executable, no uid left...) fails again at once: even with
        // `initial: 0s` it goes through a backoff, or droverd would retry it in a tight loop.
        if case .spawnFailed = reason { wait = max(wait, Self.spawnFailureFloor) }
        return .restart(after: wait, crashlooping: failures.consecutive >= Self.crashloopThreshold)
    }

    /// The least wait after a start that failed, whatever the backoff says (SPEC §9's default
    /// initial backoff).
    public static let spawnFailureFloor: Duration = .milliseconds(100)

    /// The wait before the next start after the `n`th failure in a row (n ≥ 1):
    /// `initial × multiplier^(n-1)`, capped at `max`, moved by ±`jitter` of itself, then kept
    /// within 0...max, so `max` is a hard ceiling a user can rely on. Rounded to nanoseconds.
    public func delay(afterConsecutiveFailures n: Int, jitterSample: Double) -> Duration {
        let backoff = restart.backoff
        let ceiling = Self.nanoseconds(backoff.max)
        var base = Self.nanoseconds(backoff.initial)
        // A multiplier below 1 (or not a number) would shrink the delay as failures pile up.
        let multiplier = backoff.multiplier.isFinite ? Swift.max(1, backoff.multiplier) : 1
        if multiplier > 1 {
            var step = 1
            while step < n && base < ceiling {
                base *= multiplier
                step += 1
            }
        }
        base = Swift.min(base, ceiling)
        let fraction = backoff.jitter.isFinite ? Swift.min(Swift.max(backoff.jitter, 0), 1) : 0
        let sample = jitterSample.isFinite ? Swift.min(Swift.max(jitterSample, -1), 1) : 0
        let jittered = Swift.min(Swift.max(base * (1 + fraction * sample), 0), ceiling)
        // Past Int64 nanoseconds (292 years) a delay means "effectively never" anyway.
        return .nanoseconds(Int64(Swift.min(jittered, 9e18).rounded()))
    }

    private static func nanoseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Swift.max(0, Double(seconds) * 1e9 + Double(attoseconds) / 1e9)
    }
}
