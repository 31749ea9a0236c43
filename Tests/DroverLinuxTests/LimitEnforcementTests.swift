import DroverCore
import DroverLinux
import DroverTestSupport
import Glibc
import Testing

/// Proof that every limit is enforced by the kernel, observed from inside the sandbox. These
/// need the cgroup v2 controllers, which hybrid hosts lack: there they skip with the reason,
/// and `make test-vm` runs them in a VM with pure cgroup v2 (tests/vm). One at a time: each
/// measures CPU, and a neighbour spinning beside it would blur the numbers.
@Suite(.serialized)
struct LimitEnforcementTests {
    let testload = TestEnvironment.testload

    func launcher() throws -> SandboxLauncher {
        try SandboxLauncher(initPath: TestEnvironment.buildDirectory + "/drover-init", tree: CgroupTree.prepare())
    }

    @Test(.enabled(if: TestEnvironment.hasControllers("memory"), "needs the cgroup v2 memory controller (make test-vm runs it)"))
    func memoryHogIsOOMKilledAndReportedAsSuch() throws {
        var spec = SandboxSpec(command: [testload, "alloc", String(128 << 20)])
        spec.limits = ResourceLimits(memory: 32 << 20)
        spec.strictLimits = true
        let running = try TestSandbox(spec, launcher: launcher())
        defer { running.destroy() }
        let status = running.sandbox.wait()
        let stats = try #require(running.sandbox.cgroup?.stats())
        #expect(status.exitCode == 137, "killed by SIGKILL: \(status)")
        #expect((stats.oomKills ?? 0) >= 1, "memory.events counts the OOM kill")
        #expect(!running.output.text.contains("allocated="), "it never got its 128Mi")
    }

    @Test(.enabled(if: TestEnvironment.hasControllers("memory"), "needs the cgroup v2 memory controller (make test-vm runs it)"))
    func droverRunSaysOOMKilled() throws {
        let result = try TestProcess.drover(["run", "--strict-limits", "--memory", "32Mi", "--", testload, "alloc", String(128 << 20)])
        #expect(result.code == 137)
        #expect(result.stderr.contains("oom-killed"), "\(result.stderr)")
    }

    @Test(.enabled(if: TestEnvironment.hasControllers("pids"), "needs the cgroup v2 pids controller (make test-vm runs it)"))
    func forkLoopHitsThePidsLimitAndTheSandboxSurvives() throws {
        var spec = SandboxSpec(command: [testload, "fork-bomb"])
        spec.limits = ResourceLimits(pids: 16)
        spec.strictLimits = true
        let run = try runToCompletion(spec, launcher: launcher())
        // drover-init and the workload are 2 of the 16 tasks.
        #expect(run.values["forked"] == "14", "\(run.output)")
        #expect(run.values["fork_error"] == "EAGAIN")
        #expect(run.values["survived"] == "yes")
        #expect(run.status == .exited(0))
    }

    @Test(.enabled(if: TestEnvironment.hasControllers("cpu"), "needs the cgroup v2 cpu controller (make test-vm runs it)"))
    func cpuQuotaCapsASpinner() throws {
        var spec = SandboxSpec(command: [testload, "spin", "2"])
        spec.limits = ResourceLimits(cpu: CPUCores(millicores: 200))
        spec.strictLimits = true
        let running = try TestSandbox(spec, launcher: launcher())
        defer { running.destroy() }
        _ = running.sandbox.wait()
        let stats = try #require(running.sandbox.cgroup?.stats())
        running.output.readToEnd()
        let used = try #require(Double(keyValues(running.output.text)["cpu_seconds"] ?? ""))
        let wall = try #require(Double(keyValues(running.output.text)["wall_seconds"] ?? ""))
        #expect(used / wall <= 0.25, "0.2 cores allowed; used \(used) s of CPU in \(wall) s = \(used / wall) cores")
        #expect(used > 0.1, "it did run: \(used) s")
        #expect((stats.throttledPeriods ?? 0) > 0, "cpu.stat shows throttling")
    }

    @Test(.enabled(if: TestEnvironment.hasControllers("cpu"), "needs the cgroup v2 cpu controller (make test-vm runs it)"))
    func productionGetsTheContendedCPUOverBatch() throws {
        let launcher = try launcher()
        let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        // Each side runs as many spinners as there are CPUs: together they want twice the
        // machine. CPU is counted from both cgroups over the same window, once both spin.
        var production = SandboxSpec(command: [testload, "spin-many", String(cpus), "30"])
        production.strictLimits = true
        var batch = production
        batch.limits = ResourceLimits(cpuWeight: 1, cpuIdle: true) // SPEC §2 for batch/best-effort
        let batchRun = try TestSandbox(batch, launcher: launcher)
        defer { batchRun.destroy() }
        let productionRun = try TestSandbox(production, launcher: launcher)
        defer { productionRun.destroy() }
        try #require(batchRun.output.read(until: "ready=1", timeout: 30))
        try #require(productionRun.output.read(until: "ready=1", timeout: 30))
        let batchLeaf = try #require(batchRun.sandbox.cgroup)
        let productionLeaf = try #require(productionRun.sandbox.cgroup)
        let batchStart = batchLeaf.stats().cpuUsageMicroseconds ?? 0
        let productionStart = productionLeaf.stats().cpuUsageMicroseconds ?? 0
        usleep(2_000_000)
        let batchCPU = Double((batchLeaf.stats().cpuUsageMicroseconds ?? 0) - batchStart) / 1e6
        let productionCPU = Double((productionLeaf.stats().cpuUsageMicroseconds ?? 0) - productionStart) / 1e6
        let share = productionCPU / (productionCPU + batchCPU)
        #expect(productionCPU > 0.5, "production ran: \(productionCPU) s")
        #expect(share >= 0.8, "over 2 s: production \(productionCPU) s, batch \(batchCPU) s: production share \(share)")
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: it creates namespaces and cgroups"))
    func childIsBornInItsLeafNeverInTheParentsCgroup() throws {
        // Watch the parent's cgroup.procs while sandboxes start: a child forked there and moved
        // afterwards would show up in it for the whole of its set-up (hundreds of µs).
        let launcher = try launcher()
        let tree = try #require(launcher.tree)
        let parentCgroup = tree.hierarchy.mountPoint + (tree.hierarchy.ownPath == "/" ? "" : tree.hierarchy.ownPath)
        let watcher = ProcsWatcher(path: parentCgroup + "/cgroup.procs")
        watcher.start()
        var sandboxPIDs: [Int32] = []
        for _ in 0..<30 {
            let run = try TestSandbox(SandboxSpec(command: [testload, "true"]), launcher: launcher)
            sandboxPIDs.append(run.sandbox.pid)
            _ = run.finish()
        }
        let seen = watcher.stop()
        #expect(watcher.reads > 30, "the watcher sampled the parent's cgroup (\(watcher.reads) reads)")
        #expect(Set(sandboxPIDs).isDisjoint(with: seen), "sandbox PIDs seen in the parent's cgroup: \(Set(sandboxPIDs).intersection(seen))")
    }
}

/// Reads a cgroup.procs file in a loop on its own thread and remembers every PID it saw.
final class ProcsWatcher: @unchecked Sendable {
    let path: String
    private var thread = pthread_t()
    private var running = true
    private var seen = Set<Int32>()
    private(set) var reads = 0

    init(path: String) { self.path = path }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let watcher = Unmanaged<ProcsWatcher>.fromOpaque(context!).takeRetainedValue()
            watcher.loop()
            return nil
        }, context)
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while running {
            let fd = open(path, O_RDONLY)
            if fd < 0 { return }
            let n = read(fd, &buffer, buffer.count)
            close(fd)
            if n > 0 {
                for line in String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n") {
                    if let pid = Int32(line) { seen.insert(pid) }
                }
            }
            reads += 1
        }
    }

    func stop() -> Set<Int32> {
        running = false
        pthread_join(thread, nil)
        return seen
    }
}
