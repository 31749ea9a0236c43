import DroverCore
import Testing

@Suite struct CapabilityPlans {
    @Test func emptyByDefault() {
        let plan = CapabilityPlan()
        #expect(plan.mask == 0)
        #expect(plan.statusHex == "0000000000000000")
    }

    @Test(arguments: [("NET_BIND_SERVICE", "0000000000000400"), ("cap_net_bind_service", "0000000000000400"),
                      ("SYS_ADMIN", "0000000000200000"), ("CHECKPOINT_RESTORE", "0000010000000000")])
    func singleCapability(name: String, statusHex: String) throws {
        let plan = CapabilityPlan(kept: [try Capability.named(name)])
        #expect(plan.statusHex == statusHex)
    }

    @Test func severalCapabilities() throws {
        let plan = CapabilityPlan(kept: [try Capability.named("CHOWN"), try Capability.named("KILL")])
        #expect(plan.mask == 0b10_0001)
    }

    @Test func unknownCapabilityNamesTheInput() {
        #expect(throws: InputError("\"NET_BIND\"", "is not a Linux capability (e.g. NET_BIND_SERVICE, SYS_PTRACE; see capabilities(7))")) {
            try Capability.named("NET_BIND")
        }
    }
}

@Suite struct SeccompPlan {
    /// The list: each must be denied with EPERM by the default filter.
    static let required = [
        "mount", "umount2", "pivot_root", "swapon", "swapoff", "reboot", "kexec_load", "kexec_file_load",
        "init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "keyctl", "add_key",
        "request_key", "setns", "unshare", "open_by_handle_at", "name_to_handle_at", "userfaultfd", "acct",
        "quotactl", "settimeofday", "clock_settime", "ptrace",
    ]

    @Test(arguments: required)
    func deniesWithEPERM(syscall: String) {
        let rules = SeccompPolicy.default.rules.filter { $0.syscall == syscall }
        #expect(rules.count == 1)
        #expect(rules.first?.action == .errno(SeccompPolicy.eperm))
        #expect(rules.first?.whenFirstArgumentHasAnyOf == nil, "denied unconditionally")
    }

    @Test func cloneIsDeniedOnlyWithNamespaceFlags() {
        let clone = SeccompPolicy.default.rules.first { $0.syscall == "clone" }
        #expect(clone?.action == .errno(SeccompPolicy.eperm))
        #expect(clone?.whenFirstArgumentHasAnyOf == SeccompPolicy.cloneNamespaceFlags)
        #expect(SeccompPolicy.cloneNamespaceFlags & 0x0002_0000 != 0, "CLONE_NEWNS")
        #expect(SeccompPolicy.cloneNamespaceFlags & 0x0000_0100 == 0, "CLONE_VM (threads) stays allowed")
    }

    @Test func everyDeniedCallIsListedOnce() {
        let names = SeccompPolicy.default.rules.map(\.syscall)
        #expect(Set(names).count == names.count)
        #expect(!names.contains("execve") && !names.contains("fork") && !names.contains("wait4"))
    }
}

@Suite struct MountPlans {
    @Test func defaultSandboxSeesTheHostReadOnlyAndTheKernelsKnobsNot() {
        let steps = MountStep.plan(for: SandboxSpec(command: ["/bin/true"]), cgroupLeaf: "/sys/fs/cgroup/drover/web.0")
        #expect(Array(steps.prefix(4)) == [
            .makeRootPrivate,
            .readOnlyTree("/"),
            .tmpfs(target: "/tmp", mode: "1777", size: nil),
            .tmpfs(target: "/var/tmp", mode: "1777", size: nil, optional: true),
        ])
        #expect(steps.contains(.tmpfs(target: "/dev", mode: "755", size: nil)))
        #expect(steps.contains(.device("/dev/null", major: 1, minor: 3, mode: 0o666)))
        #expect(steps.contains(.selfBind("/dev/shm")), "private shared memory, writable under a read-only /dev")
        let proc = steps.firstIndex(of: .proc)!
        for path in ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"] {
            #expect(steps.firstIndex(of: .readOnlyBind(path)).map { $0 > proc } == true, "\(path) read-only after /proc")
        }
        for path in ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats",
                     "/proc/acpi", "/proc/scsi", "/sys/firmware"] {
            #expect(steps.firstIndex(of: .mask(path)).map { $0 > proc } == true, "\(path) masked after /proc")
        }
        #expect(steps.last == .cgroup(leaf: "/sys/fs/cgroup/drover/web.0"))
        #expect(!MountStep.plan(for: SandboxSpec(command: ["/bin/true"]), cgroupLeaf: nil).contains { if case .cgroup = $0 { true } else { false } })
    }

    @Test func ownPathsReappearUnderHiddenOnes() {
        let spec = SandboxSpec(command: ["/bin/true"], stateDirectory: "/var/lib/drover/state/web/0",
                               writablePaths: ["/srv/cache"], readOnlyPaths: ["/var/lib/drover/run/web/0"],
                               hiddenPaths: ["/var/lib/drover", "/var/lib/drover/state", "/run/drover"], tmpSize: 1 << 20)
        let steps = MountStep.plan(for: spec, cgroupLeaf: nil)
        // Copied while the host's tree is still writable and visible.
        #expect(Array(steps.prefix(5)) == [
            .makeRootPrivate,
            .cloneTree(source: "/var/lib/drover/state/web/0", slot: 0),
            .cloneTree(source: "/srv/cache", slot: 1),
            .cloneTree(source: "/var/lib/drover/run/web/0", slot: 2),
            .readOnlyTree("/"),
        ])
        let tail = Array(steps.drop { $0 != .tmpfs(target: "/var/lib/drover", mode: "755", size: 1 << 20, optional: true) })
        #expect(tail == [
            .tmpfs(target: "/var/lib/drover", mode: "755", size: 1 << 20, optional: true),
            .tmpfs(target: "/run/drover", mode: "755", size: 1 << 20, optional: true),
            .mkdir("/var/lib/drover/state", mode: 0o755), .mkdir("/var/lib/drover/state/web", mode: 0o755),
            .mkdir("/var/lib/drover/state/web/0", mode: 0o755),
            .attachTree(slot: 0, target: "/var/lib/drover/state/web/0", readOnly: false),
            .attachTree(slot: 1, target: "/srv/cache", readOnly: false),
            .mkdir("/var/lib/drover/run", mode: 0o755), .mkdir("/var/lib/drover/run/web", mode: 0o755),
            .mkdir("/var/lib/drover/run/web/0", mode: 0o755),
            .attachTree(slot: 2, target: "/var/lib/drover/run/web/0", readOnly: true),
            .readOnlyMount("/var/lib/drover"), .readOnlyMount("/run/drover"),
        ])
    }

    @Test(arguments: [
        ("/srv/data", "/srv/data"), ("/srv/data/", "/srv/data"),
    ]) func writablePathsAccepted(_ input: String, _ expected: String) throws {
        #expect(try WritablePath.check(input, exists: { _ in true }) == expected)
    }

    @Test(arguments: [
        ("srv/data", "\"srv/data\": is not an absolute path (writable paths start with /)"),
        ("/", "\"/\": cannot be writable: name the directories the job writes"),
        ("/srv/../etc", "\"/srv/../etc\": is not a normalised path (no ., .. or //)"),
        ("/srv//x", "\"/srv//x\": is not a normalised path (no ., .. or //)"),
        ("/nonexistent", "\"/nonexistent\": does not exist on this host (create it first: drover binds it, it does not create it)"),
    ]) func writablePathsRefused(_ input: String, _ message: String) {
        #expect(throws: InputError.self) { try WritablePath.check(input, exists: { $0 != "/nonexistent" }) }
        do { _ = try WritablePath.check(input, exists: { $0 != "/nonexistent" }) } catch { #expect(error.description == message) }
    }

    @Test(arguments: ["4294967295", "65535", "65535:1000", "1000:65535", "4294967295:0", "99999999999"])
    func reservedAndOutOfRangeIDsAreRefused(_ text: String) {
        #expect(throws: InputError.self) { try UserSpec.parse(text) }
    }

    @Test func runIdentitiesAreUnprivilegedAndPerRun() {
        let a = DynamicIdentity.forRun(pid: 100), b = DynamicIdentity.forRun(pid: 101)
        #expect(a != b)
        #expect(a.uid > 65535 && a.uid < 4_294_967_295 && DynamicIdentity.runRange.contains(a.uid))
    }
}

@Suite struct LimitSettings {
    @Test func everyLimitMapsToItsFile() {
        let limits = ResourceLimits(memory: 64 << 20, cpu: CPUCores(millicores: 200), pids: 16, cpuWeight: 1, cpuIdle: true)
        let files = limits.settings.map { "\($0.controller) \($0.file)=\($0.value)" }
        #expect(files == [
            "memory memory.max=67108864", "memory memory.swap.max=0", "cpu cpu.max=20000 100000",
            "pids pids.max=16", "cpu cpu.weight=1", "cpu cpu.idle=1",
        ])
        #expect(limits.controllers == ["memory", "cpu", "pids"])
    }

    @Test func noLimitsNoWrites() {
        #expect(ResourceLimits().settings.isEmpty)
    }

    @Test func exitStatusUsesTheShellConvention() {
        #expect(ExitStatus.exited(3).exitCode == 3)
        #expect(ExitStatus.signaled(9).exitCode == 137)
        #expect(ExitStatus.signaled(9).description == "killed by signal SIGKILL")
    }
}
