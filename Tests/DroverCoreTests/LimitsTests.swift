import DroverCore
import Testing

/// A stored spec checked against `Limits` (what the daemon can re-validate at start).
@Suite struct SpecLimits {
    @Test func defaultsAndTheLargestValuesPass() {
        var spec = JobSpec(name: "web", replicas: Limits.replicas, command: ["x"],
                           resources: .init(cpu: CPUCores(millicores: Limits.cpuMillicores), memory: Limits.size, pids: Limits.pids),
                           service: .init(port: 65535))
        spec.restart.backoff = .init(initial: .zero, max: Limits.jobDuration, multiplier: Limits.backoffMultiplier, jitter: 1,
                                     resetAfter: Limits.jobDuration)
        spec.restart.maxFailures = Limits.failures
        spec.lameduck.grace = .zero
        spec.health.live = .init(probe: .tcp(port: "http"), period: Limits.jobDuration, timeout: .milliseconds(1), failures: Limits.failures)
        #expect(spec.valuesOutsideLimits == [])
        #expect(JobSpec(name: "web", command: ["x"]).valuesOutsideLimits == [])
    }

    @Test func everyValueOutsideIsNamed() {
        var spec = JobSpec(name: "web", replicas: Int.max, command: ["x"],
                           resources: .init(cpu: CPUCores(millicores: Int.max), memory: 1 << 63, pids: 0),
                           service: .init(port: 0))
        spec.restart.backoff = .init(initial: .seconds(-1), max: .seconds(86401), multiplier: .nan, jitter: 2,
                                     resetAfter: .seconds(Int64.max))
        spec.restart.maxFailures = 0
        spec.lameduck = .init(signal: 99, grace: .seconds(100_000))
        spec.health.ready = .init(probe: .tcp(port: "http"), period: .zero, timeout: .seconds(-5), failures: 10_001)
        #expect(spec.valuesOutsideLimits.map(\.description) == [
            "replicas: must be between 0 and 10000, got 9223372036854775807",
            "resources.cpu: must be between 0.001 and 8192, got 9.223372036854776e+15",
            "resources.memory: must be between 1 and 256Ti, got 8388608Ti",
            "resources.pids: must be between 1 and 4194304, got 0",
            "restart.backoff.initial: must be 0s or more and at most 24h, got a negative duration",
            "restart.backoff.max: must be 0s or more and at most 24h, got 86401s",
            "restart.backoff.reset_after: must be 0s or more and at most 24h, got 9223372036854775807s",
            "restart.backoff.multiplier: must be between 1.0 and 100.0, got nan",
            "restart.backoff.jitter: must be between 0.0 and 1.0, got 2.0",
            "restart.max_failures: must be between 1 and 10000, got 0",
            "lameduck.signal: must be between 1 and 64, got 99",
            "lameduck.grace: must be 0s or more and at most 24h, got 100000s",
            "health.ready.period: must be more than 0s and at most 24h, got 0ms",
            "health.ready.timeout: must be more than 0s and at most 24h, got a negative duration",
            "health.ready.failures: must be between 1 and 10000, got 10001",
            "service.port: must be between 1 and 65535, got 0",
        ])
    }
}
