import DroverCore
import DroverLinux
import DroverTestSupport
import Glibc
import Testing

/// The chaos test's detector of "two live sandboxes for one index" must itself be able to fail:
/// made-up snapshots, then real sandboxes built to be a duplicate.
struct SandboxCensusTableTests {
    func sandbox(_ pid: Int32, env: (String, Int)?, leaf: String) -> SandboxProcess {
        SandboxProcess(pid: pid, startTime: UInt64(pid) * 10, job: env?.0, index: env?.1, cgroup: "/drover/" + leaf)
    }

    @Test func oneSandboxPerIndexIsClean() {
        let snapshot = [sandbox(10, env: ("web", 0), leaf: "web.0"), sandbox(11, env: ("web", 1), leaf: "web.1"),
                        sandbox(12, env: ("api", 0), leaf: "api.0"), sandbox(13, env: nil, leaf: "web.2")]
        #expect(SandboxCensus.violations(in: snapshot).isEmpty)
    }

    @Test func twoSandboxesOfOneIndexAreFlaggedWhereverTheyRun() {
        let first = sandbox(10, env: ("web", 0), leaf: "web.0"), second = sandbox(20, env: ("web", 0), leaf: "web.0-x")
        let found = SandboxCensus.violations(in: [second, sandbox(11, env: ("web", 1), leaf: "web.1"), first])
        #expect(found == [.twoSandboxes(Identity(job: "web", index: 0), [first, second])], "\(found)")
    }

    @Test func twoSandboxesInOneLeafAreFlaggedEvenWithoutAnEnvironment() {
        let first = sandbox(10, env: nil, leaf: "web.0"), second = sandbox(20, env: nil, leaf: "web.0")
        #expect(SandboxCensus.violations(in: [first, second]) == [.twoInOneLeaf("/drover/web.0", [first, second])])
    }

    @Test func aSandboxInAnotherReplicasLeafIsFlagged() {
        let stray = sandbox(10, env: ("web", 1), leaf: "web.2")
        #expect(SandboxCensus.violations(in: [stray]) == [.leafDisagrees(stray)])
    }
}

@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: it starts sandboxes and reads their /proc"))
struct SandboxCensusLiveTests {
    @Test func realSandboxesClaimingOneIndexAreFlaggedAndOneAloneIsNot() throws {
        let launcher = try SandboxLauncher(initPath: TestEnvironment.buildDirectory + "/drover-init", tree: CgroupTree.prepare())
        let job = "census-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let belongs = { (name: String) in name == job }
        func spec(index: Int) -> SandboxSpec {
            SandboxSpec(command: [TestEnvironment.testload, "pause"],
                        environment: ["DROVER_JOB": job, "DROVER_REPLICA": "\(index)"])
        }
        let first = try TestSandbox(spec(index: 0), launcher: launcher, name: "\(job).0")
        defer { first.destroy() }
        let other = try TestSandbox(spec(index: 1), launcher: launcher, name: "\(job).1")
        defer { other.destroy() }
        #expect(first.output.read(until: "ready=1") && other.output.read(until: "ready=1"))

        let alone = SandboxCensus.check(belongs: belongs)
        #expect(alone.violations.isEmpty, "\(alone.violations)")
        #expect(Set(alone.sandboxes.map(\.pid)) == [first.sandbox.pid, other.sandbox.pid], "\(alone.sandboxes)")
        #expect(alone.sandboxes.first { $0.pid == first.sandbox.pid }?.environmentIdentity == Identity(job: job, index: 0),
                "the environment of a non-dumpable drover-init is read: \(alone.sandboxes)")

        // A second sandbox for index 0, in a leaf of its own, as a lost record would make.
        let duplicate = try TestSandbox(spec(index: 0), launcher: launcher, name: "\(job).0-again")
        defer { duplicate.destroy() }
        #expect(duplicate.output.read(until: "ready=1"))
        let twice = SandboxCensus.check(belongs: belongs)
        #expect(twice.violations.count == 1, "\(twice.violations)")
        guard case .twoSandboxes(let identity, let sandboxes)? = twice.violations.first else {
            Issue.record("not flagged: \(twice.violations)")
            return
        }
        #expect(identity == Identity(job: job, index: 0))
        #expect(sandboxes.map(\.pid) == [first.sandbox.pid, duplicate.sandbox.pid].sorted())

        // Gone again (killed and reaped): nothing to flag, a dead process is no sandbox.
        duplicate.destroy()
        let after = SandboxCensus.check(belongs: belongs)
        #expect(after.violations.isEmpty, "\(after.violations)")
        #expect(after.sandboxes.count == 2)
    }
}
