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
    @Test func defaultSandbox() {
        let steps = MountStep.plan(for: SandboxSpec(command: ["/bin/true"]))
        #expect(steps == [
            .makeRootPrivate,
            .tmpfs(target: "/tmp", mode: "1777", size: nil),
            .tmpfs(target: "/dev/shm", mode: "1777", size: nil),
            .proc,
        ])
    }

    @Test func readOnlyWithStateDirectory() {
        let spec = SandboxSpec(command: ["/bin/true"], readOnlyRoot: true, stateDirectory: "/var/lib/drover/web/0", tmpSize: 1 << 20)
        #expect(MountStep.plan(for: spec) == [
            .makeRootPrivate,
            .readOnlyTree("/"),
            .tmpfs(target: "/tmp", mode: "1777", size: 1 << 20),
            .tmpfs(target: "/dev/shm", mode: "1777", size: nil),
            .bindWritable(source: "/var/lib/drover/web/0", target: "/var/lib/drover/web/0"),
            .proc,
        ])
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
