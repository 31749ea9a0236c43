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
