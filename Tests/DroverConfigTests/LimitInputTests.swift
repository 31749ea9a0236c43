import DroverConfig
import DroverCore
import Testing

/// Numbers past `Limits` (README "Limits on values"): each refused where it is read, with the
/// limit in the message. Several of these crashed or exhausted droverd (issue 12).
let limitInputs: [BadInput] = [
    BadInput("cpu 1e300 (trapped converting to millicores)", """
        jobs:
          web:
            command: [x]
            resources: {cpu: 1e300}

        """, [
            "web.yaml: jobs.web.resources.cpu: \"1e300\" is too much CPU (at most 8192 cores) (line 4, col 22)",
        ]),
    BadInput("cpu past Int64 (trapped converting to millicores)", """
        jobs:
          web:
            command: [x]
            resources: {cpu: 9999999999999999999}

        """, [
            "web.yaml: jobs.web.resources.cpu: \"9999999999999999999\" is too much CPU (at most 8192 cores) (line 4, col 22)",
        ]),
    BadInput("cpu that is not a decimal number", """
        jobs:
          web:
            command: [x]
            resources: {cpu: .nan}
          api:
            command: [x]
            resources: {cpu: 0x10}

        """, [
            "web.yaml: jobs.web.resources.cpu: \".nan\" is not a CPU amount (expected cores such as 0.5 or 2, or millicores such as 250m) (line 4, col 22)",
            "web.yaml: jobs.api.resources.cpu: \"0x10\" is not a CPU amount (expected cores such as 0.5 or 2, or millicores such as 250m) (line 7, col 22)",
        ]),
    BadInput("memory of 2^63 bytes (crashed admission at every start)", """
        jobs:
          web:
            command: [x]
            resources: {memory: 9223372036854775808}

        """, [
            "web.yaml: jobs.web.resources.memory: \"9223372036854775808\" is too large a size (at most 256Ti) (line 4, col 25)",
        ]),
    BadInput("memory whose unit overflows, and one just past the limit", """
        jobs:
          web:
            command: [x]
            resources: {memory: 99999999999Ti}
          api:
            command: [x]
            resources: {memory: 257Ti}

        """, [
            "web.yaml: jobs.web.resources.memory: \"99999999999Ti\" is too large a size (at most 256Ti) (line 4, col 25)",
            "web.yaml: jobs.api.resources.memory: \"257Ti\" is too large a size (at most 256Ti) (line 7, col 25)",
        ]),
    BadInput("replicas of Int64.max (stored, then 1 GiB at every start)", """
        jobs:
          web:
            command: [x]
            replicas: 9223372036854775807

        """, [
            "web.yaml: jobs.web.replicas: must be between 0 and 10000, got 9223372036854775807 (line 4, col 15)",
        ]),
    BadInput("replicas just past the limit, and past Int64", """
        jobs:
          web:
            command: [x]
            replicas: 10001
          api:
            command: [x]
            replicas: -99999999999999999999

        """, [
            "web.yaml: jobs.web.replicas: must be between 0 and 10000, got 10001 (line 4, col 15)",
            "web.yaml: jobs.api.replicas: must be between 0 and 10000, got -99999999999999999999 (line 7, col 15)",
        ]),
    BadInput("replicas in base 60 (Yams's conversion traps on overflow)", """
        jobs:
          web:
            command: [x]
            replicas: 1:0:0:0:0:0:0:0:0:0:0:0
          api:
            command: [x]
            replicas: 1:30

        """, [
            "web.yaml: jobs.web.replicas: expected a number, got \"1:0:0:0:0:0:0:0:0:0:0:0\" (YAML 1.1 would read it in base 60; drover does not) (line 4, col 15)",
            "web.yaml: jobs.api.replicas: expected a number, got \"1:30\" (YAML 1.1 would read it in base 60; drover does not) (line 7, col 15)",
        ]),
    BadInput("pids past the kernel's PID_MAX_LIMIT", """
        jobs:
          web:
            command: [x]
            resources: {pids: 4194305}

        """, [
            "web.yaml: jobs.web.resources.pids: must be between 1 and 4194304, got 4194305 (line 4, col 23)",
        ]),
    BadInput("grace past Int64 nanoseconds, and past a day", """
        jobs:
          web:
            command: [x]
            lameduck: {grace: 9999999999h}
          api:
            command: [x]
            lameduck: {grace: 24h1s}

        """, [
            "web.yaml: jobs.web.lameduck.grace: \"9999999999h\" is too long a duration (at most 24h) (line 4, col 23)",
            "web.yaml: jobs.api.lameduck.grace: \"24h1s\" is too long a duration (at most 24h) (line 7, col 23)",
        ]),
    BadInput("backoff durations and multiplier past their limits", """
        jobs:
          web:
            command: [x]
            restart:
              backoff: {initial: 25h, max: 48h, multiplier: 1e300, reset_after: 100000h}

        """, [
            "web.yaml: jobs.web.restart.backoff.initial: \"25h\" is too long a duration (at most 24h) (line 5, col 26)",
            "web.yaml: jobs.web.restart.backoff.max: \"48h\" is too long a duration (at most 24h) (line 5, col 36)",
            "web.yaml: jobs.web.restart.backoff.multiplier: must be between 1 and 100, got 1e300 (line 5, col 53)",
            "web.yaml: jobs.web.restart.backoff.reset_after: \"100000h\" is too long a duration (at most 24h) (line 5, col 73)",
        ]),
    BadInput("max_failures past the limit", """
        jobs:
          web:
            command: [x]
            restart: {max_failures: 9223372036854775807}

        """, [
            "web.yaml: jobs.web.restart.max_failures: must be between 1 and 10000, got 9223372036854775807 (line 4, col 29)",
        ]),
    BadInput("health period, timeout and failures past their limits", """
        jobs:
          web:
            command: [x]
            ports: [http]
            health:
              live: {tcp: http, period: 48h, timeout: 9999999999h, failures: 10001}

        """, [
            "web.yaml: jobs.web.health.live.period: \"48h\" is too long a duration (at most 24h) (line 6, col 33)",
            "web.yaml: jobs.web.health.live.timeout: \"9999999999h\" is too long a duration (at most 24h) (line 6, col 47)",
            "web.yaml: jobs.web.health.live.failures: must be between 1 and 10000, got 10001 (line 6, col 70)",
        ]),
    BadInput("service port past 65535 and 0", """
        jobs:
          web:
            command: [x]
            ports: [http]
            service: {port: 99999999999999999999}
          api:
            command: [x]
            ports: [http]
            service: {port: 0}

        """, [
            "web.yaml: jobs.web.service.port: must be between 1 and 65535, got 99999999999999999999 (line 5, col 21)",
            "web.yaml: jobs.api.service.port: must be between 1 and 65535, got 0 (line 9, col 21)",
        ]),
]

@Suite struct LimitInputs {
    @Test(arguments: limitInputs)
    func refused(input: BadInput) {
        #expect(errorLines(input.files.map { ($0.path, $0.text) }) == input.errors)
    }

    /// The largest value of each kind is accepted.
    @Test func largestValuesPass() throws {
        let web = try #require(parsedJobs("""
            jobs:
              web:
                command: [x]
                replicas: 10000
                ports: [http]
                resources: {cpu: 8192, memory: 256Ti, pids: 4194304}
                restart:
                  max_failures: 10000
                  backoff: {initial: 24h, max: 24h, multiplier: 100, reset_after: 24h}
                lameduck: {grace: 24h}
                health:
                  live: {tcp: http, period: 24h, timeout: 24h, failures: 10000}

            """).first)
        #expect(web.replicas == Limits.replicas)
        #expect(web.resources == .init(cpu: CPUCores(millicores: Limits.cpuMillicores), memory: Limits.size, pids: Limits.pids))
        #expect(web.restart.maxFailures == Limits.failures)
        #expect(web.restart.backoff.multiplier == Limits.backoffMultiplier)
        #expect(web.lameduck.grace == Limits.jobDuration)
        #expect(web.health.live?.failures == Limits.failures)
        #expect(web.valuesOutsideLimits == [])
    }
}
