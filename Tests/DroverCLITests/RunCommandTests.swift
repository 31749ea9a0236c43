import DroverCore
import DroverLinux
import DroverTestSupport
import Glibc
import Testing

/// `drover run` end to end: the real binary, as a user runs it.
@Suite(.enabled(if: TestEnvironment.isRoot, "needs root: it creates namespaces and cgroups"))
struct RunCommandTests {
    let testload = TestEnvironment.testload
    let treeRoot = (try? CgroupTree.prepare().root) ?? "/sys/fs/cgroup/unified/drover"

    @Test(arguments: [(["exit", "0"], Int32(0)), (["exit", "3"], Int32(3)), (["kill-self", "9"], Int32(137))] as [([String], Int32)])
    func exitCodeIsTheWorkloads(arguments: [String], code: Int32) throws {
        let result = try TestProcess.drover(["run", "--", testload] + arguments)
        #expect(result.code == code, "stderr: \(result.stderr)")
    }

    @Test func outputPassesThrough() throws {
        let result = try TestProcess.drover(["run", "--hostname", "cli-test", "--", testload, "info"])
        #expect(result.code == 0)
        #expect(keyValues(result.stdout)["hostname"] == "cli-test")
        #expect(keyValues(result.stdout)["pid1_comm"] == "drover-init")
    }

    @Test func sigtermToDroverReachesTheWorkload() throws {
        let process = try TestProcess([TestEnvironment.drover, "run", "--", testload, "trap-term"])
        defer { if process.exitCode == nil { process.signal(SIGKILL); process.finish(timeout: 5) } }
        try #require(process.stdout.read(until: "ready=1"), "workload did not start: \(process.stderr.text)")
        process.signal(SIGTERM)
        let code = process.finish(timeout: 10)
        #expect(process.stdout.text.contains("got=SIGTERM"))
        #expect(code == 0, "the trapping workload exits 0 and drover passes that on")
        #expect(access(treeRoot + "/run-\(process.pid)", F_OK) != 0, "leaf removed")
    }

    @Test func missingControllerWarnsAndStrictLimitsRefuse() throws {
        let tree = try CgroupTree.prepare()
        guard !tree.controllers.contains("memory") else {
            // A host with the memory controller enforces: no warning, and strict runs.
            let result = try TestProcess.drover(["run", "--strict-limits", "--memory", "64Mi", "--", testload, "true"])
            #expect(result.code == 0)
            #expect(!result.stderr.contains("not enforced"))
            return
        }
        let relaxed = try TestProcess.drover(["run", "--memory", "64Mi", "--", testload, "exit", "4"])
        #expect(relaxed.code == 4, "the run goes on")
        #expect(relaxed.stderr.contains("warning: memory limit not enforced"), "\(relaxed.stderr)")
        #expect(relaxed.stderr.contains("controller \"memory\""), "\(relaxed.stderr)")

        let process = try TestProcess([TestEnvironment.drover, "run", "--strict-limits", "--memory", "64Mi", "--", testload, "true"])
        let code = process.finish()
        #expect(code == 125)
        #expect(process.stderr.text.contains("controller \"memory\""), "\(process.stderr.text)")
        #expect(access(treeRoot + "/run-\(process.pid)", F_OK) != 0, "no cgroup left behind")
    }

    @Test func portVariableIsSetAndBindable() throws {
        let result = try TestProcess.drover(["run", "--port", "http", "--port", "admin-api", "--", testload, "listen", "PORT_ADMIN_API"])
        #expect(result.code == 0, "\(result.stderr)")
        let port = try #require(Int(keyValues(result.stdout)["listening"] ?? ""))
        #expect(PortAllocator.defaultRange.contains(port))
        let expanded = try TestProcess.drover(["run", "--port", "http", "--", testload, "listen", "${PORT_HTTP}"])
        #expect(expanded.code == 0, "\(expanded.stderr)")
        #expect(keyValues(expanded.stdout)["listening"].flatMap { Int($0) }.map(PortAllocator.defaultRange.contains) == true)
    }

    @Test func startFailuresExitWithDockersCodes() throws {
        let cases: [([String], Int32, String)] = [
            (["run", "--", "drover-no-such-command"], 127, "drover-no-such-command: command not found"),
            (["run", "--", nonExecutableFile()], 126, "EACCES"),
            (["run", "--user", "drover-no-such-user", "--", testload, "true"], 125, "user \"drover-no-such-user\": does not exist"),
        ]
        for (arguments, code, message) in cases {
            let process = try TestProcess([TestEnvironment.drover] + arguments)
            #expect(process.finish() == code, "\(arguments): \(process.stderr.text)")
            #expect(process.stderr.text.contains(message), "\(arguments): \(process.stderr.text)")
            #expect(process.stderr.text.split(separator: "\n").count == 1, "one line: \(process.stderr.text)")
            #expect(access(treeRoot + "/run-\(process.pid)", F_OK) != 0, "no cgroup left behind")
        }
    }

    @Test(arguments: [
        (["run", "--memory", "lots", "--", "true"], "--memory \"lots\": is not a size"),
        (["run", "--cpu=-1", "--", "true"], "--cpu \"-1\": is not a CPU amount"),
        (["run", "--pids", "0", "--", "true"], "--pids 0: must be at least 1"),
        (["run", "--cap", "NET_BIND", "--", "true"], "--cap \"NET_BIND\": is not a Linux capability"),
        (["run", "--user", "1000:abc", "--", "true"], "--user \"1000:abc\": is not a user"),
        (["run", "--tmp-size", "big", "--", "true"], "--tmp-size \"big\": is not a size"),
        (["run", "--env", "NOEQUALS", "--", "true"], "--env \"NOEQUALS\": expected KEY=VALUE"),
        (["run", "--port", "9http", "--", "true"], "--port \"9http\": a port name is"),
        (["run", "--state-dir", "relative", "--", "true"], "--state-dir \"relative\": must be an absolute path"),
        (["run"], "missing the command to run"),
        (["run", "--no-such-flag", "--", "true"], "Unknown option '--no-such-flag'"),
        (["frobnicate"], "Unexpected argument 'frobnicate'"),
    ] as [([String], String)])
    func badUsageExitsTwoAndNamesTheProblem(arguments: [String], message: String) throws {
        let result = try TestProcess.drover(arguments)
        #expect(result.code == 2, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
    }
}
