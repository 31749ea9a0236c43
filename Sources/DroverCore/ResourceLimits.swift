/// What a sandbox may use, and how each limit maps onto cgroup v2 files.
public struct ResourceLimits: Equatable, Sendable {
    public var memory: UInt64?
    public var cpu: CPUCores?
    public var pids: Int?
    /// cgroup v2 cpu.weight (1–10000, default 100). Batch and best-effort run low (SPEC §2).
    public var cpuWeight: Int?
    /// cgroup v2 cpu.idle: the kernel runs the group only when the CPU would otherwise idle.
    public var cpuIdle = false

    public init(memory: UInt64? = nil, cpu: CPUCores? = nil, pids: Int? = nil, cpuWeight: Int? = nil, cpuIdle: Bool = false) {
        self.memory = memory
        self.cpu = cpu
        self.pids = pids
        self.cpuWeight = cpuWeight
        self.cpuIdle = cpuIdle
    }

    /// One write into a cgroup's interface file.
    public struct Setting: Equatable, Sendable {
        /// The limit as users name it (`memory`, `cpu`, `pids`, `cpu weight`).
        public var limit: String
        public var controller: String
        public var file: String
        public var value: String
        /// A setting the kernel may lack (cpu.idle came in 5.15) is skipped, not an error.
        public var optional = false
    }

    public var settings: [Setting] {
        var result: [Setting] = []
        if let memory {
            result.append(Setting(limit: "memory", controller: "memory", file: "memory.max", value: "\(memory)"))
            // Without swap the limit is the limit; otherwise a workload pages out instead of
            // being OOM-killed, which is not what a declared memory limit promises.
            result.append(Setting(limit: "memory", controller: "memory", file: "memory.swap.max", value: "0", optional: true))
        }
        if let cpu {
            result.append(Setting(limit: "cpu", controller: "cpu", file: "cpu.max", value: cpu.cpuMax()))
        }
        if let pids {
            result.append(Setting(limit: "pids", controller: "pids", file: "pids.max", value: "\(pids)"))
        }
        if let cpuWeight {
            result.append(Setting(limit: "cpu weight", controller: "cpu", file: "cpu.weight", value: "\(cpuWeight)"))
        }
        if cpuIdle {
            result.append(Setting(limit: "cpu idle", controller: "cpu", file: "cpu.idle", value: "1", optional: true))
        }
        return result
    }

    /// Controllers these limits need, in the order cgroup.subtree_control takes them.
    public var controllers: [String] {
        var seen: [String] = []
        for setting in settings where !seen.contains(setting.controller) { seen.append(setting.controller) }
        return seen
    }
}
