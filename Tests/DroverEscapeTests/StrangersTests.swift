import DroverCore
import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// SPEC §10 / issue 11: jobs are strangers to each other and to droverd. Job B, as its own uid
/// and as root inside, goes after job A's state, logs and environment, droverd's store and its
/// API socket; every path is there on the host (the control reads it as real root) and not
/// there inside.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct StrangersTests {
    @Test(arguments: ["", "nobody", "root"])
    func anotherJobsFilesAndDroverdsAreNotThere(_ user: String) throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let (a, b) = (daemon.job("a"), daemon.job("b"))
        let testload = TestEnvironment.testload
        try #require(daemon.apply("""
            jobs:
              \(a):
                env: {TOKEN: s3cr3t-\(daemon.suffix)}
                command: ["/bin/sh", "-c", "echo $TOKEN > $DROVER_STATE_DIR/secret; echo logged-$TOKEN; exec \(testload) pause"]
              \(b):\(user.isEmpty ? "" : "\n    user: \(user)")
                command: ["\(testload)", "pause"]
            """).code == 0)
        try #require(waitFor(timeout: 30) { daemon.replica(a)?.state == "ready" && daemon.replica(b)?.state == "ready" })
        let victim = try #require(daemon.replica(a))
        try #require(waitFor(timeout: 10) { access(victim.stateDirectory + "/secret", F_OK) == 0 })
        let targets: [(String, [String])] = [
            ("A's state file", ["read", victim.stateDirectory + "/secret"]),
            ("A's state directory", ["create", victim.stateDirectory + "/planted"]),
            ("A's log", ["read", victim.logFile]),
            ("the store", ["read", daemon.stateDirectory + "/drover.db"]),
            ("the store's WAL", ["read", daemon.stateDirectory + "/drover.db-wal"]),
            ("the API socket", ["connect-unix", daemon.socket]),
        ]
        for (what, arguments) in targets {
            let control = try TestProcess([testload, "probe"] + arguments)
            _ = control.finish()
            #expect(probeResult(control.stdout.text) == "ok", "control: \(what) is there on the host: \(control.stdout.text)")
            let inside = try daemon.drover(["exec", b + "/0", "--", testload, "probe"] + arguments)
            #expect(probeResult(inside.stdout) == "ENOENT", "\(what) is not there inside B (as \(user.isEmpty ? "its own uid" : user)): \(inside.stdout) \(inside.stderr)")
        }
        // B's view of droverd's state root: only the way to its own state directory.
        let listing = try daemon.drover(["exec", b + "/0", "--", testload, "probe", "list", daemon.stateDirectory + "/state"])
        #expect(keyValues(listing.stdout.replacingOccurrences(of: " ", with: "\n"))["detail"] == b, "\(listing.stdout)")
        // No process of A's (nor its environment) is visible from B.
        let environ = try daemon.drover(["exec", b + "/0", "--", "/bin/sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\\\0' '\\\\n' | grep -c s3cr3t; true"])
        #expect(environ.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "A's TOKEN is nowhere in B's /proc: \(environ.stdout)")
        #expect(try daemon.drover(["logs", a + "/0"]).stdout.contains("logged-s3cr3t"), "control: A did log it")
    }
}

extension StrangersTests {
    /// What isolation must not take away: `drover exec` reaches the replica's own processes
    /// (a reload signal to the workload, as `docker exec ... kill -HUP 1` does).
    @Test func execSignalsTheReplicasWorkload() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("app")
        try #require(daemon.apply("""
            jobs:
              \(job):
                restart: {policy: never}
                command: ["/bin/sh", "-c", "trap 'echo got=SIGTERM' TERM; echo ready=1; while :; do sleep 0.1; done"]
            """).code == 0)
        // The workload outlives the signal: were it to exit, its PID namespace would end, and
        // the exec'd kill in it with it (exit 137) before kill itself had exited.
        try #require(waitFor(timeout: 30) { ((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "").contains("ready=1") })
        let kill = try daemon.drover(["exec", job + "/0", "--", "/bin/kill", "-TERM", "2"])
        #expect(kill.code == 0, "\(kill.stdout) \(kill.stderr)")
        #expect(waitFor(timeout: 10) { ((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "").contains("got=SIGTERM") },
                "the workload got it: \((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "")")
    }
}
