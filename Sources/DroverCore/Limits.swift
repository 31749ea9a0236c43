/// The largest values drover accepts from a user, in one place: the parsers check them where a
/// value is read (jobs files, flags, API parameters), and the daemon can check a stored spec
/// against the same numbers. Each is far enough below what the arithmetic on it can hold
/// (Int64 bytes and nanoseconds, Int millicores) that sums and products over a job cannot
/// overflow. README "Limits on values" lists them for users.
public enum Limits {
    /// `replicas`: indices, state directories and store rows per job.
    public static let replicas = 10_000

    /// `resources.cpu`, `drover run --cpu`, `droverd --capacity cpu=`: the most CPUs a Linux
    /// kernel can run (x86_64 `NR_CPUS` with MAXSMP).
    public static let cpuCores = 8192
    public static var cpuMillicores: Int { cpuCores * 1000 }

    /// Every size (`resources.memory`, `--memory`, `--tmp-size`, `--capacity memory=`):
    /// 256Ti. Times `replicas` it still fits in an Int64, which admission sums in.
    public static let size: UInt64 = 1 << 48

    /// `resources.pids`: the kernel's PID_MAX_LIMIT, more than pids.max could ever count.
    public static let pids = 4_194_304

    /// Durations in a jobs file: `lameduck.grace`, `restart.backoff.initial`, `max` and
    /// `reset_after`, health `period` and `timeout`.
    public static let jobDuration: Duration = .seconds(24 * 3600)

    /// Any other duration drover parses (`Quantity.duration`'s default; `drover events
    /// --since`): about 14 months. Added to a timestamp in nanoseconds it stays far from
    /// Int64's 292 years.
    public static let anyDuration: Duration = .seconds(10_000 * 3600)

    /// `restart.backoff.multiplier`.
    public static let backoffMultiplier = 100.0

    /// `restart.max_failures` and a health check's `failures`.
    public static let failures = 10_000

    /// `service.port`.
    public static let ports = 1...65535

    /// YAML nodes one document may produce, counting everything each alias and merge key
    /// brings in every time it is used: a 600-byte file of nested aliases ("billion laughs")
    /// would otherwise expand to gigabytes.
    public static let yamlNodes = 100_000

    /// YAML nodes all the files of one apply (or `droverd --config`) may produce together,
    /// counted the same way: so that many documents or files, each within `yamlNodes`, cannot
    /// add up to minutes of work either.
    public static let yamlNodesInAll = 1_000_000

    /// YAML nesting, counting what aliases bring in. A jobs file needs 7.
    public static let yamlDepth = 64
}

extension JobSpec {
    /// Every value outside `Limits` (or outside what the jobs file allows at the low end),
    /// named by its key in the jobs file: for specs that did not just come through the jobs-file
    /// parser, such as the daemon's stored ones (written by an older droverd, or edited by
    /// hand), so that one bad job is refused by name instead of trapping later.
    public var valuesOutsideLimits: [InputError] {
        var problems: [InputError] = []
        func check<Value: Comparable>(_ key: String, _ value: Value, _ range: ClosedRange<Value>,
                                      _ show: (Value) -> String) {
            guard !range.contains(value) else { return }
            problems.append(InputError(key, "must be between \(show(range.lowerBound)) and \(show(range.upperBound)), got \(show(value))"))
        }
        func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>) { check(key, value, range) { "\($0)" } }
        func check(_ key: String, _ value: Duration, positive: Bool = false) {
            let lowEnough = value <= Limits.jobDuration
            let highEnough = positive ? value > .zero : value >= .zero
            if lowEnough && highEnough { return }
            let lowest = positive ? "more than 0s" : "0s or more"
            let written = value < .zero ? "a negative duration" : formatDuration(value)
            problems.append(InputError(key, "must be \(lowest) and at most \(formatDuration(Limits.jobDuration)), got \(written)"))
        }
        check("replicas", replicas, 0...Limits.replicas)
        if let cpu = resources.cpu { check("resources.cpu", cpu.millicores, 1...Limits.cpuMillicores) { "\(CPUCores(millicores: $0))" } }
        if let memory = resources.memory { check("resources.memory", memory, 1...Limits.size, formatSize) }
        if let pids = resources.pids { check("resources.pids", pids, 1...Limits.pids) }
        let backoff = restart.backoff
        check("restart.backoff.initial", backoff.initial)
        check("restart.backoff.max", backoff.max)
        check("restart.backoff.reset_after", backoff.resetAfter)
        check("restart.backoff.multiplier", backoff.multiplier, 1...Limits.backoffMultiplier) { "\($0)" }
        check("restart.backoff.jitter", backoff.jitter, 0...1) { "\($0)" }
        check("restart.max_failures", restart.maxFailures, 1...Limits.failures)
        check("lameduck.signal", Int(lameduck.signal), 1...64)
        check("lameduck.grace", lameduck.grace)
        for (name, healthCheck) in [("ready", health.ready), ("live", health.live)] {
            guard let healthCheck else { continue }
            check("health.\(name).period", healthCheck.period, positive: true)
            check("health.\(name).timeout", healthCheck.timeout, positive: true)
            check("health.\(name).failures", healthCheck.failures, 1...Limits.failures)
        }
        if let service { check("service.port", service.port, Limits.ports) }
        return problems
    }
}
