@testable import DroverLinux
import DroverCore
import DroverTestSupport
import Glibc
import Testing

/// Issue 14: `ps` shows the workload's PID, found as the child of drover-init whose PID in the
/// sandbox is 2.
struct WorkloadProcessTests {
    @Test(arguments: [
        // The host's own process: one namespace.
        ("Name:\tsleep\nPid:\t4242\nNSpid:\t4242\nNSpgid:\t4242\n", [4242]),
        // A sandbox's workload seen from the host: host PID first, its own last.
        ("Name:\tsleep\nTgid:\t4242\nNSpid:\t4242\t2\nNSsid:\t4241\t1\n", [4242, 2]),
        // Nested namespaces, spaces as separators.
        ("NSpid: 9000 17 2\n", [9000, 17, 2]),
        // A kernel before 4.1 has no NSpid line; NStgid is not it.
        ("Name:\tsleep\nNStgid:\t4242\t2\nPid:\t4242\n", []),
        ("", []),
    ] as [(String, [Int32])])
    func namespacePIDsComeFromTheNSpidLine(status: String, expected: [Int32]) {
        #expect(WorkloadProcess.parseNamespacePIDs(status) == expected)
    }

    @Test func thisProcessIsInTheHostsNamespaceOnly() throws {
        #expect(WorkloadProcess.namespacePIDs(of: getpid()) == [getpid()])
        #expect(WorkloadProcess.namespacePIDs(of: -1).isEmpty, "no such process")
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: it creates namespaces and cgroups"))
    func theWorkloadIsDroverInitsChildWithNamespacePID2() throws {
        let launcher = try SandboxLauncher(initPath: TestEnvironment.buildDirectory + "/drover-init", tree: CgroupTree.prepare())
        let run = try TestSandbox(SandboxSpec(command: [TestEnvironment.testload, "pause"]), launcher: launcher)
        defer { run.destroy() }
        try #require(run.output.read(until: "ready=1"), "did not start: \(run.output.text)")
        let initPID = run.sandbox.pid
        let workload = try #require(WorkloadProcess.pid(underInit: initPID))
        #expect(workload != initPID)
        #expect(WorkloadProcess.namespacePIDs(of: workload) == [workload, 2])
        #expect(WorkloadProcess.namespacePIDs(of: initPID) == [initPID, 1], "the control: drover-init is PID 1 inside")
        let cmdline = (try? Files.read("/proc/\(workload)/cmdline")) ?? ""
        #expect(cmdline.split(separator: "\0").last == "pause", "the workload runs the program: \(cmdline)")

        kill(workload, SIGKILL)
        _ = run.finish(timeout: 10)
        #expect(WorkloadProcess.pid(underInit: initPID) == nil, "gone with its drover-init")
    }
}
