import DroverCore
import DroverLinux
import DroverTestSupport
import Glibc
import Testing

/// Each test starts real sandboxes and looks at them from inside with drover-testload.
@Suite(.enabled(if: TestEnvironment.isRoot, "needs root: it creates namespaces and cgroups"))
struct SandboxIsolationTests {
    let launcher: SandboxLauncher
    let testload = TestEnvironment.testload

    init() throws {
        launcher = try SandboxLauncher(initPath: TestEnvironment.buildDirectory + "/drover-init", tree: CgroupTree.prepare())
    }

    func spec(_ arguments: String...) -> SandboxSpec {
        SandboxSpec(command: [testload] + arguments)
    }

    @Test func pid1IsDroverInitAndHostProcessesAreInvisible() throws {
        let run = try runToCompletion(spec("info"), launcher: launcher)
        #expect(run.status == .exited(0))
        #expect(run.values["pid1_comm"] == "drover-init")
        #expect(run.values["pid"] == "2", "the workload is PID 2, under drover-init")
        #expect(run.values["visible_pids"] == "2", "only drover-init and the workload are visible: \(run.output)")
    }

    @Test func orphanedGrandchildrenAreReaped() throws {
        let run = try runToCompletion(spec("orphans", "8"), launcher: launcher)
        #expect(run.status == .exited(0))
        #expect(run.values["zombies"] == "0", "drover-init reaps orphans: \(run.output)")
    }

    @Test func tmpIsEmptyPrivateAndPerSandbox() throws {
        let hostFile = "/tmp/drover-host-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let created = open(hostFile, O_CREAT | O_WRONLY, 0o644)
        try #require(created >= 0)
        close(created)
        defer { unlink(hostFile) }
        let name = "drover-inside-\(UInt32.random(in: 0...UInt32.max))"

        let first = try TestSandbox(spec("write-tmp", name, "--wait"), launcher: launcher)
        defer { first.destroy() }
        try #require(first.output.read(until: "ready=1"), "first sandbox did not start: \(first.output.text)")
        #expect(keyValues(first.output.text)["write_tmp"] == "ok")

        let empty = try runToCompletion(spec("info"), launcher: launcher)
        #expect(empty.values["tmp_entries"] == "0", "a new sandbox's /tmp starts empty")
        #expect(empty.values["tmp_mode"] == "1777")
        let second = try runToCompletion(spec("exists", "/tmp/" + name), launcher: launcher)
        #expect(second.values["exists"] == "no", "a concurrent sandbox must not see the first one's /tmp")
        let hostSide = try runToCompletion(spec("exists", hostFile), launcher: launcher)
        #expect(hostSide.values["exists"] == "no", "the host's /tmp is invisible inside")
        #expect(access("/tmp/" + name, F_OK) != 0, "a file written in a sandbox's /tmp is invisible on the host")
    }

    @Test func hostnameAndNamespacesAreItsOwn() throws {
        var spec = spec("info")
        spec.hostname = "2.web"
        let run = try runToCompletion(spec, launcher: launcher)
        #expect(run.values["hostname"] == "2.web")
        #expect(run.values["ipc_ns"] != nil)
        #expect(run.values["ipc_ns"] != readLink("/proc/self/ns/ipc"), "IPC namespace differs from the host's")
        #expect(run.values["mnt_ns"] != readLink("/proc/self/ns/mnt"), "mount namespace differs from the host's")
        var hostname = [CChar](repeating: 0, count: 256)
        gethostname(&hostname, hostname.count)
        #expect(String(cString: hostname) != "2.web", "the host's hostname is untouched")
    }

    @Test func unprivilegedByDefault() throws {
        let run = try runToCompletion(spec("info"), launcher: launcher)
        #expect(run.values["nonewprivs"] == "1")
        #expect(run.values["seccomp"] == "2", "filter mode")
        for set in ["capinh", "capprm", "capeff", "capbnd", "capamb"] {
            #expect(run.values[set] == "0000000000000000", "\(set) is empty by default")
        }
        let nobody = try ResolvedUser.resolve(.nobody)
        #expect(run.values["uid"]?.split(separator: "\t").allSatisfy { $0 == "\(nobody.uid)" } == true, "runs as nobody: \(run.values["uid"] ?? "")")
        #expect(run.values["gid"]?.split(separator: "\t").allSatisfy { $0 == "\(nobody.gid)" } == true)
        #expect(run.values["groups"] == "", "supplementary groups cleared")
    }

    @Test func namedCapabilityIsTheOnlyOne() throws {
        var spec = spec("info")
        spec.capabilities = CapabilityPlan(kept: [try Capability.named("NET_BIND_SERVICE")])
        let run = try runToCompletion(spec, launcher: launcher)
        for set in ["capprm", "capeff", "capbnd", "capamb"] {
            #expect(run.values[set] == "0000000000000400", "\(set) holds NET_BIND_SERVICE only")
        }
        // Capabilities belong to the sandbox's user namespace (SPEC §10): the host's network
        // namespace is not its, so a privileged port needs host_root; with it, the capability
        // works, and without the capability it does not.
        var withCap = self.spec("listen", "1023")
        withCap.capabilities = spec.capabilities
        #expect(try runToCompletion(withCap, launcher: launcher).values["listen"] == "EACCES")
        withCap.hostRoot = true
        #expect(try runToCompletion(withCap, launcher: launcher).values["listening"] == "1023")
        var withoutCap = self.spec("listen", "1023")
        withoutCap.hostRoot = true
        #expect(try runToCompletion(withoutCap, launcher: launcher).values["listen"] == "EACCES")
    }

    @Test func seccompDeniesEvenWhereCapabilitiesWouldAllow() throws {
        // As real root with CAP_SYS_ADMIN, only the filter stands between the workload and these.
        var filtered = spec("syscalls")
        filtered.user = .id(uid: 0, gid: 0)
        filtered.hostRoot = true
        filtered.capabilities = CapabilityPlan(kept: [try Capability.named("SYS_ADMIN")])
        let denied = try runToCompletion(filtered, launcher: launcher)
        #expect(denied.values["mount"] == "EPERM")
        #expect(denied.values["unshare"] == "EPERM")
        #expect(denied.values["keyctl"] == "EPERM")
        #expect(denied.values["ptrace"] == "EPERM")

        var unfiltered = filtered
        unfiltered.seccomp = nil
        let allowed = try runToCompletion(unfiltered, launcher: launcher)
        #expect(allowed.values["mount"] == "OK", "control: without the filter the same calls succeed")
        #expect(allowed.values["unshare"] == "OK")
        #expect(allowed.values["keyctl"] == "OK")
    }

    @Test(arguments: [(["exit", "0"], Int32(0)), (["exit", "3"], 3), (["kill-self", "9"], 137), (["kill-self", "15"], 143)] as [([String], Int32)])
    func exitStatusPropagates(arguments: [String], code: Int32) throws {
        let run = try runToCompletion(SandboxSpec(command: [testload] + arguments), launcher: launcher)
        #expect(run.status.exitCode == code)
    }

    @Test func sigtermReachesATrappingWorkload() throws {
        let running = try TestSandbox(spec("trap-term"), launcher: launcher)
        defer { running.destroy() }
        try #require(running.output.read(until: "ready=1"))
        try running.sandbox.signal(SIGTERM)
        let (status, output) = running.finish()
        #expect(output.contains("got=SIGTERM"))
        #expect(status == .exited(0))
    }

    @Test func workloadLivesInItsOwnLeafWhichIsRemovedAfterExit() throws {
        let name = uniqueName("leaf")
        let running = try TestSandbox(spec("info"), launcher: launcher, name: name)
        let leaf = try #require(running.sandbox.cgroup)
        #expect(leaf.path == launcher.tree!.root + "/" + name)
        let (status, output) = running.finish()
        #expect(status == .exited(0))
        let relative = String(leaf.path.dropFirst(launcher.tree!.hierarchy.mountPoint.count))
        #expect(!relative.isEmpty)
        #expect(keyValues(output)["cgroup"] == "/", "the workload's cgroup namespace is rooted at its leaf: \(output)")
        #expect(access(leaf.path, F_OK) != 0, "the leaf is gone after exit")
    }

    @Test func cgroupKillLeavesNoSurvivorOfAForkingTree() throws {
        let running = try TestSandbox(spec("fork-tree", "4"), launcher: launcher)
        defer { running.destroy() }
        try #require(running.output.read(until: "forked=8"))
        let leaf = try #require(running.sandbox.cgroup)
        let members = leaf.processIDs
        #expect(members.count == 10, "drover-init, the workload and 8 descendants: \(members)")
        try running.sandbox.killAll()
        #expect(leaf.waitUntilEmpty(timeoutMilliseconds: 5000))
        #expect(running.sandbox.wait() == .signaled(SIGKILL))
        for pid in members {
            #expect(kill(pid, 0) != 0 && errno == ESRCH, "pid \(pid) survived cgroup.kill")
        }
        try running.sandbox.cleanup()
        #expect(access(leaf.path, F_OK) != 0)
    }

    @Test func hostIsReadOnlyButTmpStateAndWritablePaths() throws {
        let base = "/var/lib/drover-test/rw-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir("/var/lib/drover-test", 0o755)
        let stateDirectory = base + "-state", writable = base + "-writable", untouched = base + "-other"
        for directory in [stateDirectory, writable, untouched] {
            try #require(mkdir(directory, 0o777) == 0)
            chmod(directory, 0o777)
        }
        defer {
            for directory in [stateDirectory, writable, untouched] {
                unlink(directory + "/file")
                rmdir(directory)
            }
        }
        func write(_ path: String, hostRoot: Bool = true) throws -> String? {
            var spec = self.spec("write", path)
            spec.stateDirectory = stateDirectory
            spec.writablePaths = [writable]
            spec.hostRoot = hostRoot
            spec.user = .id(uid: 0, gid: 0) // real root, so that only the read-only mount can refuse
            return try runToCompletion(spec, launcher: launcher).values["write"]
        }
        #expect(try write(stateDirectory + "/file") == "ok")
        #expect(access(stateDirectory + "/file", F_OK) == 0, "state directory writes reach the host")
        #expect(try write(writable + "/file") == "ok")
        #expect(access(writable + "/file", F_OK) == 0, "writable path writes reach the host")
        #expect(try write("/tmp/scratch") == "ok")
        #expect(try write("/var/tmp/scratch") == "ok")
        #expect(try write(untouched + "/file") == "EROFS", "the host's / is read-only, even for real root")
        #expect(access(untouched + "/file", F_OK) != 0)
    }

    @Test func allocatedPortIsSetAndBindable() throws {
        var allocator = try PortAllocator(ephemeral: PortProbe.ephemeralRange(), start: 20000 + Int(getpid()) % 12000)
        let port = try allocator.allocate(isFree: PortProbe.isFree)
        var spec = spec("listen", "PORT_HTTP")
        spec.environment["PORT_HTTP"] = String(port)
        let run = try runToCompletion(spec, launcher: launcher)
        #expect(run.values["listening"] == String(port))
        #expect(run.status == .exited(0))
    }

    @Test func limitsAreWrittenOrReportedUnenforced() throws {
        var spec = spec("pause")
        spec.limits = ResourceLimits(memory: 64 << 20, cpu: CPUCores(millicores: 500), pids: 32)
        let running = try TestSandbox(spec, launcher: launcher)
        defer { running.destroy() }
        let leaf = try #require(running.sandbox.cgroup)
        let controllers = launcher.tree!.controllers
        for (limit, controller, file, value) in [("memory", "memory", "memory.max", "67108864"), ("cpu", "cpu", "cpu.max", "50000 100000"), ("pids", "pids", "pids.max", "32")] {
            if controllers.contains(controller) {
                #expect(readFile(leaf.path + "/" + file) == value, "\(file) written")
                #expect(!running.sandbox.unenforced.contains { $0.limit == limit })
            } else {
                #expect(running.sandbox.unenforced.contains(UnenforcedLimit(limit: limit, controller: controller)),
                        "\(limit) reported as not enforced when \(controller) is missing")
            }
        }
    }

    @Test func strictLimitsRefuseAMissingControllerAndLeaveNothing() throws {
        let missing = CgroupTree.wantedControllers.filter { !launcher.tree!.controllers.contains($0) }
        try #require(!missing.isEmpty || launcher.tree!.controllers.contains("memory"))
        var spec = spec("true")
        spec.limits = ResourceLimits(memory: 64 << 20)
        spec.strictLimits = true
        let name = uniqueName("strict")
        if launcher.tree!.controllers.contains("memory") {
            #expect(try runToCompletion(spec, launcher: launcher).status == .exited(0))
            return
        }
        do {
            _ = try launcher.launch(spec, name: name)
            Issue.record("launch should have been refused")
        } catch {
            #expect(error.exitCode == 125)
            #expect(error.description.contains("\"memory\""), "names the controller: \(error)")
        }
        #expect(access(launcher.tree!.root + "/" + name, F_OK) != 0, "no cgroup left behind")
    }

    @Test func startFailuresMapToExitCodesAndLeaveNoCgroup() throws {
        let cases: [(SandboxSpec, Int32, String)] = [
            (SandboxSpec(command: ["drover-no-such-command"]), 127, "command not found"),
            (SandboxSpec(command: ["/nonexistent/drover-no-such-command"]), 127, "execve `/nonexistent/drover-no-such-command`: ENOENT"),
            (SandboxSpec(command: [nonExecutableFile()]), 126, "execve `\(nonExecutableFile())`: EACCES"),
            (SandboxSpec(command: [testload, "true"], user: .name("drover-no-such-user")), 125, "user \"drover-no-such-user\""),
            (SandboxSpec(command: [testload, "true"], workdir: "/nonexistent-dir"), 125, "chdir `/nonexistent-dir`: ENOENT"),
        ]
        for (spec, code, message) in cases {
            let name = uniqueName("fail")
            do {
                let sandbox = try launcher.launch(spec, name: name)
                _ = sandbox.wait()
                try? sandbox.cleanup()
                Issue.record("\(spec.command) should not have started")
            } catch {
                #expect(error.exitCode == code, "\(spec.command): \(error)")
                #expect(error.description.contains(message), "\(error.description)")
            }
            #expect(access(launcher.tree!.root + "/" + name, F_OK) != 0, "no cgroup left behind for \(spec.command)")
        }
    }
}

func readLink(_ path: String) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = readlink(path, &buffer, buffer.count - 1)
    return n > 0 ? String(cString: buffer) : ""
}

func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 4096)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
    return String(cString: buffer).trimmingCharacters(in: "\n")
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var result = self
        while result.last == set { result.removeLast() }
        return result
    }
}
