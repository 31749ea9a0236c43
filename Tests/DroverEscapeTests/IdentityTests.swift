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
    func replica(_ daemon: TestDaemon, _ job: String) -> ReplicaStatus? {
        let ps = (try? daemon.drover(["ps", "--json"]).stdout) ?? "[]"
        return (try? JSONDecoder().decode([JobStatus].self, from: Data(ps.utf8)))?.first { $0.name == job }?.replicas.first
    }

    func hostUID(of pid: Int32) -> UInt32? {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?
            .split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { UInt32($0) }
    }

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
        try #require(waitFor(timeout: 30) { replica(daemon, a)?.state == "ready" && replica(daemon, b)?.state == "ready" })
        let (first, second) = (try #require(replica(daemon, a)), try #require(replica(daemon, b)))
        let (uidA, uidB) = (try #require(first.uid), try #require(second.uid))
        #expect(uidA != uidB, "two jobs never share a uid")
        #expect(DynamicIdentity.defaultJobRange.contains(uidA) && DynamicIdentity.defaultJobRange.contains(uidB))
        // The kernel agrees: drover-init and the workload run as that uid on the host.
        #expect(hostUID(of: try #require(first.pid)) == uidA)
        #expect(hostUID(of: try #require(second.pid)) == uidB)
        var info = stat()
        #expect(stat(first.stateDirectory + "/mine", &info) == 0 && info.st_uid == uidA, "its files are its uid's")

        daemon.kill(SIGKILL)
        try daemon.start()
        try #require(waitFor(timeout: 30) { replica(daemon, a)?.state == "ready" && replica(daemon, b)?.state == "ready" })
        #expect(replica(daemon, a)?.uid == uidA && replica(daemon, b)?.uid == uidB, "kept across a droverd restart")
        #expect(replica(daemon, a)?.pid == first.pid, "re-adopted, not restarted")
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
        try #require(waitFor(timeout: 30) { replica(daemon, job)?.state == "ready" })
        let status = try #require(replica(daemon, job))
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
        try #require(waitFor(timeout: 30) { replica(daemon, first)?.state == "ready" })
        try #require(daemon.apply("""
            jobs:
              \(first):
                command: ["\(TestEnvironment.testload)", "pause"]
              \(second):
                command: ["\(TestEnvironment.testload)", "pause"]
            """).code == 0)
        #expect(waitFor(timeout: 10) {
            let why = [replica(daemon, second)?.reason, replica(daemon, second)?.lastExit].compactMap { $0 }.joined()
            return why.contains("no free uid in 61184-61184")
        }, "says why: \(String(describing: replica(daemon, second)))")
        #expect(replica(daemon, second)?.pid == nil, "nothing runs without a uid of its own")
        #expect(replica(daemon, first)?.uid == 61184)
    }
}
