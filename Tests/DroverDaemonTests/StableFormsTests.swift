import DroverCore
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// Issue 14: `--json` and `inspect` show the forms docs/API.md documents (durations as
/// seconds, signals by name, booleans as words), through the real CLI and droverd; and the
/// store, which keeps specs in the same JSON, gives back the spec that was applied.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct StableFormsTests {
    let testload = TestEnvironment.testload

    func jobs(_ daemon: TestDaemon) throws -> [JobStatus] {
        let result = try daemon.drover(["ps", "--json"])
        try #require(result.code == 0, "ps failed: \(result.stderr)")
        return try JSONDecoder().decode([JobStatus].self, from: Data(result.stdout.utf8))
    }

    func eventually(timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    func config(_ job: String) -> String {
        """
        jobs:
          \(job):
            replicas: 1
            command: [\(yamlQuoted(testload)), serve, PORT_HTTP]
            ports: [http]
            lameduck: {signal: SIGINT, grace: 1500ms}
            restart: {backoff: {initial: 250ms, max: 1m30s, reset_after: 2h}}
            health:
              ready: {http: /healthz, port: http, period: 100ms, timeout: 2s, failures: 2}
        """
    }

    @Test func inspectAndJSONShowSecondsNamesAndWords() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("forms")
        let applied = try daemon.apply(config(web))
        try #require(applied.code == 0, "\(applied.stderr)")
        FileManager.default.createFile(atPath: daemon.stateDirectory + "/state/\(web)/0/healthy", contents: nil)
        #expect(try eventually { try jobs(daemon).first?.replicas.first?.state == "ready" })

        let replicaText = try daemon.drover(["inspect", "\(web)/0"])
        #expect(replicaText.code == 0, "\(replicaText.stderr)")
        let lines = replicaText.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("lastPassed: true"), "\(replicaText.stdout)")
        #expect(lines.contains("verdict: passing"), "\(replicaText.stdout)")
        #expect(!lines.contains { $0.hasSuffix(": 1") && $0.hasPrefix("lastPassed") }, "\(replicaText.stdout)")

        let jobText = try daemon.drover(["inspect", web])
        #expect(jobText.code == 0, "\(jobText.stderr)")
        let jobLines = Set(jobText.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for line in ["signal: SIGINT", "grace: 1.5", "initial: 0.25", "max: 90", "resetAfter: 7200", "period: 0.1",
                     "timeout: 2", "hostRoot: false", "lastPassed: true", "capabilities: []", "environment: {}"] {
            #expect(jobLines.contains(line), "\(line) in \(jobText.stdout)")
        }

        let json = try daemon.drover(["inspect", web, "--json"])
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(json.stdout.utf8))
        let expected: [(String, JSONValue)] = [
            ("spec.lameduck.signal", .string("SIGINT")), ("spec.lameduck.grace", .number(1.5)),
            ("spec.restart.backoff.initial", .number(0.25)), ("spec.restart.backoff.max", .integer(90)),
            ("spec.restart.backoff.resetAfter", .integer(7200)), ("spec.health.ready.period", .number(0.1)),
            ("spec.health.ready.timeout", .integer(2)),
        ]
        for (path, value) in expected {
            #expect(document.at(path) == value, "\(path) in \(json.stdout)")
        }
        let status = try JSONDecoder().decode(JobStatus.self, from: Data(json.stdout.utf8))
        #expect(status.spec.lameduck == JobSpec.Lameduck(signal: SIGINT, grace: .milliseconds(1500)))
        #expect(status.replicas.first?.checks?.first?.lastPassed == true)
        // `ps --json` shows the same spec.
        #expect(try jobs(daemon).first?.spec == status.spec)
    }

    /// droverd stores the spec as this JSON: after a restart the same file is unchanged and
    /// the replica keeps running (a spurious change would replace it).
    @Test func aRestartedDaemonReadsBackTheSpecItStored() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("stored")
        try #require(try daemon.apply(config(web)).code == 0)
        #expect(try eventually { try jobs(daemon).first?.replicas.first?.pid != nil })
        let before = try jobs(daemon)
        daemon.kill(SIGTERM)
        try daemon.start()
        let second = try daemon.apply(config(web))
        #expect(second.stdout.contains("\(web) unchanged"), "\(second.stdout) \(second.stderr)")
        usleep(300_000)
        let after = try jobs(daemon)
        #expect(after.first?.spec == before.first?.spec)
        #expect(after.first?.replicas.first?.pid == before.first?.replicas.first?.pid, "not replaced")
    }
}
