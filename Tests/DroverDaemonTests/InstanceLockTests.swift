import DroverTestSupport
import Glibc
import Testing

/// Issue 12: a second droverd on the same state directory (or socket) used to start, adopt the
/// same replicas and fight the first over them.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct InstanceLockTests {
    @Test func aSecondDroverdOnTheSameStateOrSocketIsRefused() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let first = try #require(daemon.process?.pid)
        for (state, socket) in [(daemon.stateDirectory, daemon.directory + "/other.sock"),
                                (daemon.directory + "/other-state", daemon.socket)] {
            let second = try TestProcess([TestEnvironment.buildDirectory + "/droverd", "--socket", socket, "--state-dir", state])
            let code = second.finish(timeout: 30)
            #expect(code == 1, "refused, not running: \(second.stderr.text)")
            #expect(second.stderr.text.contains("another droverd (pid \(first))"), "names the first one: \(second.stderr.text)")
        }
        #expect(try daemon.drover(["ps"]).code == 0, "the first still answers on its socket")
        daemon.kill(SIGKILL)
        try daemon.start()
        #expect(try daemon.drover(["ps"]).code == 0, "a killed droverd's lock dies with it")
    }
}

/// Issue 12: bad state that used to crash droverd at every start, and the tight loop of a
/// start that cannot succeed with a zero backoff.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct StoredStateTests {
    @Test func aStoredSpecOutsideTheLimitsIsRefusedByNameAndTheRestStarts() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let (good, bad) = (daemon.job("good"), daemon.job("bad"))
        try #require(daemon.apply("""
            jobs:
              \(good):
                command: ["\(TestEnvironment.testload)", "pause"]
              \(bad):
                command: ["\(TestEnvironment.testload)", "pause"]
            """).code == 0)
        daemon.kill(SIGKILL)
        // As an earlier droverd, which checked less, could have stored it.
        let edit = try TestProcess(["/usr/bin/env", "python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("UPDATE job SET spec = json_set(spec, '$.replicas', 9223372036854775807) WHERE name = ?", (sys.argv[2],))
            db.commit()
            """, daemon.stateDirectory + "/drover.db", bad])
        try #require(edit.finish() == 0, "\(edit.stderr.text)")
        try daemon.start()
        let ps = try daemon.drover(["ps"])
        #expect(ps.code == 0 && ps.stdout.contains(good), "droverd starts with the rest: \(ps.stdout)")
        let events = try daemon.drover(["events"]).stdout
        #expect(events.contains(bad) && events.contains("refused") && events.contains("replicas"), "says which job and why: \(events)")
    }

    @Test func aStartThatFailsWithAZeroBackoffDoesNotSpinDroverdToDeath() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("missing")
        try #require(daemon.apply("""
            jobs:
              \(job):
                restart: {backoff: {initial: 0s, max: 0s}}
                command: ["/nonexistent/program"]
            """).code == 0)
        usleep(1_500_000)
        #expect(daemon.process?.hasExited == false, "droverd is alive: \(daemon.log.suffix(2000))")
        let ps = try daemon.drover(["ps", job])
        #expect(ps.code == 0 && (ps.stdout.contains("crashlooping") || ps.stdout.contains("pending")), "\(ps.stdout)")
        let starts = try daemon.drover(["events"]).stdout.components(separatedBy: "start-failed").count - 1
        #expect(starts > 1 && starts < 40, "retried with a backoff, not in a tight loop: \(starts) failed starts in 1.5 s")
    }
}

/// Issue 12: scaling 5 → 2 → 5 while 2-4 were still in lameduck left them exited, with two
/// running, until the next apply.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct ScaleBackTests {
    @Test func scalingBackUpDuringLameduckStartsTheMissingIndices() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("web")
        func apply(_ replicas: Int) throws {
            let applied = try daemon.apply("""
                jobs:
                  \(job):
                    replicas: \(replicas)
                    lameduck: {grace: 2s}
                    command: ["\(TestEnvironment.testload)", "ignore-sigterm"]
                """)
            try #require(applied.code == 0, "\(applied.stderr)")
        }
        func states() -> [String] {
            let ps = (try? daemon.drover(["ps", job]).stdout) ?? ""
            return ps.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true)[1].description }
        }
        try apply(5)
        try #require(waitFor(timeout: 30) { states() == Array(repeating: "ready", count: 5) }, "\(states())")
        try apply(2)
        try #require(waitFor(timeout: 10) { states().filter { $0 == "lameduck" }.count == 3 }, "2-4 in lameduck: \(states())")
        try apply(5)
        #expect(waitFor(timeout: 30) { states() == Array(repeating: "ready", count: 5) },
                "all five run again once 2-4 have stopped: \(states())")
    }
}

extension ScaleBackTests {
    /// Issue 12: one apply that changed env and lowered replicas 3 → 1 evicted index 0 for the
    /// update and 1-2 for the scale-down together: no ready replica for about a second.
    @Test func anUpdateThatAlsoScalesDownKeepsTheNewCountReady() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("web")
        func apply(_ replicas: Int, _ version: String) throws {
            let applied = try daemon.apply("""
                jobs:
                  \(job):
                    replicas: \(replicas)
                    env: {VERSION: "\(version)"}
                    ports: [http]
                    lameduck: {grace: 1s}
                    health: {ready: {tcp: http, period: 200ms}}
                    command: ["/bin/sh", "-c", "sleep 0.5; exec \(TestEnvironment.testload) serve PORT_HTTP"]
                """)
            try #require(applied.code == 0, "\(applied.stderr)")
        }
        func ready() -> Int {
            let ps = (try? daemon.drover(["ps", job]).stdout) ?? ""
            return ps.split(separator: "\n").dropFirst().filter { $0.split(separator: " ", omittingEmptySubsequences: true)[1] == "ready" }.count
        }
        try apply(3, "1")
        try #require(waitFor(timeout: 30) { ready() == 3 })
        try apply(1, "2")
        var lowest = Int.max
        let deadline = monotonicSeconds() + 20
        var done = false
        while monotonicSeconds() < deadline {
            let now = ready()
            lowest = min(lowest, now)
            let ps = (try? daemon.drover(["ps", job]).stdout) ?? ""
            if ps.split(separator: "\n").filter({ $0.hasPrefix(job + "/") }).count == 1 && now == 1 { done = true; break }
            usleep(20_000)
        }
        #expect(done, "ends with one replica of the new version: \((try? daemon.drover(["ps", job]).stdout) ?? "")")
        #expect(lowest >= 1, "never fewer ready replicas than the new count (1): saw \(lowest)")
    }
}

/// Issue 12: `drover apply` turned invalid UTF-8 into U+FFFD where `--config` refused it, and
/// an empty directory applied deleted every job without a word.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct ApplyInputTests {
    @Test func invalidUTF8AndAnEmptyDirectoryAreRefusedAndChangeNothing() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("kept")
        try #require(daemon.apply("jobs:\n  \(job):\n    command: [\"\(TestEnvironment.testload)\", \"pause\"]\n").code == 0)
        let bad = daemon.directory + "/bad.yaml"
        let fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let bytes: [UInt8] = Array("jobs:\n  \(job):\n    command: [\"a".utf8) + [0xFF] + Array("\"]\n".utf8)
        _ = write(fd, bytes, bytes.count)
        close(fd)
        let utf8 = try daemon.drover(["apply", bad])
        #expect(utf8.code == 2 && utf8.stderr.contains("is not UTF-8 text: byte 0xFF at offset"), "\(utf8.stderr)")
        let empty = daemon.directory + "/empty"
        mkdir(empty, 0o755)
        let none = try daemon.drover(["apply", empty])
        #expect(none.code == 2 && none.stderr.contains("has no *.yaml or *.yml file"), "\(none.stderr)")
        #expect(try daemon.drover(["ps"]).stdout.contains(job), "the job is still there")
    }
}
