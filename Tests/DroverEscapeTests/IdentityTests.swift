import DroverCore
import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// SPEC §10's identities through a real droverd: each job its own uid, kept across restarts of
/// droverd; `host_root` visible and refusable.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct IdentityTests {
    @Test func twoJobsWithoutAUserGetTheirOwnUidsAndKeepThemAcrossARestart() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let (a, b) = (daemon.job("a"), daemon.job("b"))
        let testload = TestEnvironment.testload
        let applied = try daemon.apply("""
            jobs:
              \(a):
                command: ["/bin/sh", "-c", "echo a > $DROVER_STATE_DIR/mine && exec \(testload) pause"]
              \(b):
                command: ["/bin/sh", "-c", "echo b > $DROVER_STATE_DIR/mine && exec \(testload) pause"]
            """)
        try #require(applied.code == 0, "\(applied.stderr)")
        try #require(waitFor(timeout: 30) { daemon.replica(a)?.state == "ready" && daemon.replica(b)?.state == "ready" })
        let (first, second) = (try #require(daemon.replica(a)), try #require(daemon.replica(b)))
        let (uidA, uidB) = (try #require(first.uid), try #require(second.uid))
        #expect(uidA != uidB, "two jobs never share a uid")
        #expect(DynamicIdentity.defaultJobRange.contains(uidA) && DynamicIdentity.defaultJobRange.contains(uidB))
        // The kernel agrees: drover-init and the workload run as that uid on the host.
        #expect(hostUID(of: try #require(first.initPid)) == uidA)
        #expect(hostUID(of: try #require(first.pid)) == uidA)
        #expect(hostUID(of: try #require(second.initPid)) == uidB)
        #expect(hostUID(of: try #require(second.pid)) == uidB)
        var info = stat()
        #expect(stat(first.stateDirectory + "/mine", &info) == 0 && info.st_uid == uidA, "its files are its uid's")

        daemon.kill(SIGKILL)
        try daemon.start()
        try #require(waitFor(timeout: 30) { daemon.replica(a)?.state == "ready" && daemon.replica(b)?.state == "ready" })
        #expect(daemon.replica(a)?.uid == uidA && daemon.replica(b)?.uid == uidB, "kept across a droverd restart")
        #expect(daemon.replica(a)?.pid == first.pid, "re-adopted, not restarted")
        #expect((try? String(contentsOfFile: first.stateDirectory + "/mine", encoding: .utf8)) == "a\n", "its state files are kept")
    }

    @Test func hostRootIsMarkedAndStrictRefusesIt() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("root")
        let applied = try daemon.apply("""
            jobs:
              \(job):
                user: root
                host_root: true
                command: ["\(TestEnvironment.testload)", "pause"]
            """)
        try #require(applied.code == 0, "\(applied.stderr)")
        try #require(waitFor(timeout: 30) { daemon.replica(job)?.state == "ready" })
        let status = try #require(daemon.replica(job))
        #expect(status.hostRoot == true && status.uid == 0)
        #expect(hostUID(of: try #require(status.pid)) == 0, "real root, as asked")
        #expect(try daemon.drover(["ps"]).stdout.contains("HOST ROOT"), "ps marks it")
        #expect(try daemon.drover(["inspect", job + "/0"]).stdout.contains("hostRoot:"), "inspect shows it")

        let strict = try TestDaemon(extraArguments: ["--strict"])
        defer { strict.destroy() }
        let refused = try strict.apply("""
            jobs:
              \(strict.job("root")):
                host_root: true
                command: ["/bin/true"]
            """)
        #expect(refused.code == 1)
        #expect(refused.stderr.contains("jobs.\(strict.job("root")).host_root: true is refused: droverd runs with --strict"), "\(refused.stderr)")
        #expect(try strict.drover(["ps"]).stdout.contains(strict.job("root")) == false, "nothing applied")
    }
}

extension IdentityTests {
    @Test func anExhaustedUidRangeLeavesTheJobWaitingAndSaysWhy() throws {
        let daemon = try TestDaemon(extraArguments: ["--uid-range", "61184-61184"])
        defer { daemon.destroy() }
        let (first, second) = (daemon.job("first"), daemon.job("second"))
        try #require(daemon.apply("""
            jobs:
              \(first):
                command: ["\(TestEnvironment.testload)", "pause"]
            """).code == 0)
        try #require(waitFor(timeout: 30) { daemon.replica(first)?.state == "ready" })
        try #require(daemon.apply("""
            jobs:
              \(first):
                command: ["\(TestEnvironment.testload)", "pause"]
              \(second):
                command: ["\(TestEnvironment.testload)", "pause"]
            """).code == 0)
        #expect(waitFor(timeout: 10) {
            let why = [daemon.replica(second)?.reason, daemon.replica(second)?.lastExit].compactMap { $0 }.joined()
            return why.contains("no free uid in 61184-61184")
        }, "says why: \(String(describing: daemon.replica(second)))")
        #expect(daemon.replica(second)?.pid == nil, "nothing runs without a uid of its own")
        #expect(daemon.replica(first)?.uid == 61184)
    }
}
