import DroverConfig
import Foundation
import DroverCore
import Testing

@Suite struct SpecExample {
    /// Every field of both jobs, as SPEC §1 writes them, with the defaults of §9 for the rest.
    @Test func parsesToTheDeclaredJobs() {
        let web = JobSpec(
            name: "web", kind: .serving, replicas: 3, priority: .production,
            command: ["/usr/bin/python3", "-m", "http.server", "${PORT_HTTP}"],
            environment: ["GREETING": "hello"], user: "nobody", workdir: "/", ports: ["http"],
            resources: JobSpec.Resources(cpu: CPUCores(millicores: 500), memory: 256 << 20, pids: 64),
            restart: JobSpec.Restart(
                policy: .always,
                backoff: JobSpec.Backoff(initial: .milliseconds(100), max: .seconds(60), multiplier: 2, jitter: 0.1,
                                         resetAfter: .seconds(300)),
                maxFailures: 6),
            lameduck: JobSpec.Lameduck(signal: 15, grace: .seconds(30)),
            health: JobSpec.Health(
                ready: JobSpec.HealthCheck(probe: .http(path: "/healthz", port: "http"), period: .seconds(1),
                                           timeout: .seconds(1), failures: 3),
                live: JobSpec.HealthCheck(probe: .tcp(port: "http"), period: .seconds(5), timeout: .seconds(1),
                                          failures: 3)),
            service: JobSpec.Service(port: 8080),
            capabilities: [])
        let crunch = JobSpec(
            name: "crunch", kind: .batch, replicas: 4, priority: .batch,
            command: ["/usr/local/bin/crunch", "--shard=${DROVER_REPLICA}", "--of=${DROVER_REPLICAS}"],
            environment: [:], user: nil, workdir: "/", ports: [],
            resources: JobSpec.Resources(cpu: nil, memory: nil, pids: nil),
            restart: JobSpec.Restart(policy: .onFailure, backoff: JobSpec.Backoff(), maxFailures: 6),
            lameduck: JobSpec.Lameduck(signal: 15, grace: .seconds(30)),
            health: JobSpec.Health(ready: nil, live: nil), service: nil, capabilities: [])
        #expect(parsedJobs(specExample) == [web, crunch])
    }
}

@Suite struct Defaults {
    /// SPEC §1 and §9: what a job gets when it says only what to run.
    @Test func minimalServingJob() throws {
        let jobs = parsedJobs("jobs:\n  web:\n    command: [/bin/web]\n")
        let web = try #require(jobs.first)
        #expect(jobs.count == 1)
        #expect(web.kind == .serving)
        #expect(web.replicas == 1)
        #expect(web.priority == .production)
        #expect(web.restart.policy == .always)
        #expect(web.restart.backoff == JobSpec.Backoff(initial: .milliseconds(100), max: .seconds(60), multiplier: 2,
                                                       jitter: 0.1, resetAfter: .seconds(300)))
        #expect(web.restart.maxFailures == 6)
        #expect(web.user == nil, "no user: the job's own uid (SPEC §10)")
        #expect(web.workdir == "/")
        #expect(web.environment.isEmpty && web.ports.isEmpty && web.capabilities.isEmpty)
        #expect(web.resources == JobSpec.Resources())
        #expect(web.lameduck == JobSpec.Lameduck(signal: 15, grace: .seconds(30)))
        #expect(web.health == JobSpec.Health())
        #expect(web.service == nil)
    }

    @Test func minimalBatchJob() throws {
        let crunch = try #require(parsedJobs("jobs:\n  crunch:\n    kind: batch\n    command: [/bin/crunch]\n").first)
        #expect(crunch.kind == .batch)
        #expect(crunch.replicas == 1)
        #expect(crunch.priority == .batch)
        #expect(crunch.restart.policy == .onFailure)
        #expect(crunch.restart.maxFailures == 6)
        #expect(crunch.user == nil)
    }

    /// `key:` with no value is "not given", as in Kubernetes.
    @Test func emptyValuesMeanDefaults() {
        let text = """
            jobs:
              web:
                command: [x]
                replicas:
                env:
                resources:
                restart: {policy: , backoff: }
                health: {ready: }
                service:
                capabilities: ~

            """
        #expect(parsedJobs(text) == [JobSpec(name: "web", command: ["x"])])
    }

    @Test func healthCheckDefaults() throws {
        let text = """
            jobs:
              web:
                command: [x]
                ports: [http]
                health:
                  ready: {tcp: http}
                  live: {exec: [/bin/check, --quick]}

            """
        let web = try #require(parsedJobs(text).first)
        #expect(web.health.ready == JobSpec.HealthCheck(probe: .tcp(port: "http"), period: .seconds(1), timeout: .seconds(1), failures: 3))
        #expect(web.health.live == JobSpec.HealthCheck(probe: .exec(command: ["/bin/check", "--quick"]), period: .seconds(5),
                                                       timeout: .seconds(1), failures: 3))
    }

    @Test func backoffFieldsDefaultOneByOne() throws {
        let text = "jobs:\n  web:\n    command: [x]\n    restart: {backoff: {initial: 1s, jitter: 0}}\n"
        let web = try #require(parsedJobs(text).first)
        #expect(web.restart.backoff == JobSpec.Backoff(initial: .seconds(1), max: .seconds(60), multiplier: 2, jitter: 0,
                                                       resetAfter: .seconds(300)))
        #expect(web.restart.policy == .always)
    }
}

@Suite struct Documents {
    /// No jobs only when written so (NoJobsTests: an empty file is an error).
    @Test(arguments: ["jobs: {}\n", "# none yet\njobs: {}\n", "---\n---\njobs: {}\n", "jobs: {}\n---\n", "\u{FEFF}jobs: {}\n"])
    func noJobs(text: String) {
        #expect(JobsConfig.parse([JobsFile(path: "empty.yaml", text: text)]) == .success([]))
    }

    @Test func noFiles() {
        #expect(JobsConfig.parse([]) == .success([]))
    }

    @Test func severalDocumentsInOneFile() {
        let text = """
            jobs:
              web:
                command: [web]
            ---
            # comments only
            ---
            jobs:
              api:
                command: [api]
              db:
                command: [db]

            """
        #expect(parsedJobs(text).map(\.name) == ["web", "api", "db"])
    }

    @Test func severalFilesInTheOrderGiven() {
        let jobs = parsedJobs([
            ("b.yaml", "jobs:\n  zeta:\n    command: [z]\n  alpha:\n    command: [a]\n"),
            ("a.yaml", "jobs:\n  mid:\n    command: [m]\n"),
            ("c.yaml", "jobs: {}\n"),
        ])
        #expect(jobs.map(\.name) == ["zeta", "alpha", "mid"])
        #expect(jobs.map(\.command) == [["z"], ["a"], ["m"]])
    }

    @Test func windowsLineEndings() {
        #expect(parsedJobs("jobs:\r\n  web:\r\n    replicas: 2\r\n    command: [x]\r\n").map(\.replicas) == [2])
    }

    /// Anchors, aliases and merge keys, with keys written beside `<<` winning.
    @Test func anchorsAndMergeKeys() {
        let text = """
            jobs:
              web:
                command: &run [/bin/app, --serve]
                resources: &small {cpu: 250m, memory: 128Mi}
                restart: &patient {backoff: {initial: 1s, max: 5m}}
              api:
                <<: {replicas: 2, priority: batch, command: [/bin/other]}
                command: *run
                resources:
                  <<: *small
                  memory: 512Mi
                restart: *patient

            """
        let jobs = parsedJobs(text)
        #expect(jobs.count == 2)
        guard jobs.count == 2 else { return }
        let (web, api) = (jobs[0], jobs[1])
        #expect(api.command == ["/bin/app", "--serve"])
        #expect(api.replicas == 2)
        #expect(api.priority == .batch)
        #expect(api.resources == JobSpec.Resources(cpu: CPUCores(millicores: 250), memory: 512 << 20))
        #expect(web.resources == JobSpec.Resources(cpu: CPUCores(millicores: 250), memory: 128 << 20))
        #expect(api.restart == web.restart)
        #expect(api.restart.backoff.max == .seconds(300))
    }
}

@Suite struct Values {
    /// Unquoted numbers and booleans in `env` and `command` are kept exactly as written.
    @Test func scalarsAreTakenAsWritten() throws {
        let text = """
            jobs:
              web:
                command: [sleep, 10, true, 0x10, 1.50, "${N}"]
                env: {N: 10, B: yes, F: 1.50, O: 017, E: "", S: 'it''s'}

            """
        let web = try #require(parsedJobs(text).first)
        #expect(web.command == ["sleep", "10", "true", "0x10", "1.50", "${N}"])
        #expect(web.environment == ["N": "10", "B": "yes", "F": "1.50", "O": "017", "E": "", "S": "it's"])
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var yaml: String
        var check: @Sendable (JobSpec) -> Bool
        var testDescription: String { yaml }
    }

    @Test(arguments: [
        Case(yaml: "resources: {cpu: 250m}") { $0.resources.cpu == CPUCores(millicores: 250) },
        Case(yaml: "resources: {cpu: 2}") { $0.resources.cpu == CPUCores(millicores: 2000) },
        Case(yaml: "resources: {cpu: \"1.5\"}") { $0.resources.cpu == CPUCores(millicores: 1500) },
        Case(yaml: "resources: {memory: 1024}") { $0.resources.memory == 1024 },
        Case(yaml: "resources: {memory: 2Gi, pids: 1}") { $0.resources.memory == 2 << 30 && $0.resources.pids == 1 },
        Case(yaml: "lameduck: {signal: 10}") { $0.lameduck.signal == 10 },
        Case(yaml: "lameduck: {signal: term, grace: 0s}") { $0.lameduck == JobSpec.Lameduck(signal: 15, grace: .zero) },
        Case(yaml: "lameduck: {signal: SIGUSR1, grace: 1m30s}") { $0.lameduck == JobSpec.Lameduck(signal: 10, grace: .seconds(90)) },
        Case(yaml: "user: root") { $0.user == "root" },
        Case(yaml: "user: 1000:1000") { $0.user == "1000:1000" },
        Case(yaml: "user: 1000") { $0.user == "1000" },
        Case(yaml: "workdir: /srv/app") { $0.workdir == "/srv/app" },
        Case(yaml: "replicas: 0") { $0.replicas == 0 },
        Case(yaml: "priority: best-effort") { $0.priority == .bestEffort },
        Case(yaml: "restart: {policy: never, max_failures: 2}") { $0.restart.policy == .never && $0.restart.maxFailures == 2 },
        Case(yaml: "restart: {policy: on-failure}") { $0.restart.policy == .onFailure },
        Case(yaml: "capabilities: [cap_net_bind_service, SYS_PTRACE]") { $0.capabilities == ["NET_BIND_SERVICE", "SYS_PTRACE"] },
        Case(yaml: "ports: [http, grpc-admin]") { $0.ports == ["http", "grpc-admin"] },
        Case(yaml: "ports: [http]\n    service: {port: 443}") { $0.service == JobSpec.Service(port: 443) },
        Case(yaml: "env: {PATH: /opt/bin, HOME: /home/app, TMPDIR: /var/tmp}") { $0.environment["PATH"] == "/opt/bin" },
        Case(yaml: "ports: [web]\n    health: {ready: {http: /ready?full=1, port: web, period: 2s, timeout: 500ms, failures: 1}}") {
            $0.health.ready == JobSpec.HealthCheck(probe: .http(path: "/ready?full=1", port: "web"), period: .seconds(2),
                                                   timeout: .milliseconds(500), failures: 1)
        },
    ])
    func field(_ input: Case) throws {
        let job = try #require(parsedJobs("jobs:\n  web:\n    command: [x]\n    \(input.yaml)\n").first)
        #expect(input.check(job))
    }

    /// Every variable SPEC §1 promises a replica may be referred to, plus `env` keys and `$$`.
    @Test func referencesToTheReplicaEnvironment() throws {
        let text = """
            jobs:
              web:
                ports: [http, grpc-admin]
                env: {MODE: fast}
                command: [/srv, "${DROVER_JOB}", "${DROVER_REPLICA}/${DROVER_REPLICAS}", "${DROVER_NAME}",
                          "${DROVER_STATE_DIR}", "${DROVER_LAMEDUCK_FILE}", "${TMPDIR}", "${PATH}", "${HOME}",
                          "--http=${PORT_HTTP}", "--admin=${PORT_GRPC_ADMIN}", "--mode=${MODE}", "$${NOT_A_VAR}", "$5"]

            """
        let web = try #require(parsedJobs(text).first)
        #expect(web.command.count == 14)
        #expect(web.command.last == "$5")
    }
}

@Suite struct BundledConfig {
    /// `make run` starts droverd on config/: it must stay a valid jobs directory.
    @Test func theExampleDirectoryParses() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names == ["crunch.yaml", "web.yaml"])
        let files = try names.map { JobsFile(path: $0, text: try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)) }
        let jobs = try JobsConfig.parse(files).get()
        #expect(jobs.map(\.name).sorted() == ["crunch", "web"])
        let web = try #require(jobs.first { $0.name == "web" })
        #expect(web.service == JobSpec.Service(port: 8080))
        #expect(web.health.ready?.probe == .http(path: "/", port: "http"))
    }
}
