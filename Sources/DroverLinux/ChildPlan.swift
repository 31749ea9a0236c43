import CDroverShim
import DroverCore
import Glibc

/// The child's checklist as C data: argv/envp arrays, the mount table, credentials and
/// capability masks. Built entirely in the parent, because the child may not allocate.
struct ChildPlan {
    let argv: [String]
    let environment: [String]
    let mounts: [MountStep]
    let hostname: String?
    let workdir: String
    let user: ResolvedUser
    let capabilities: UInt64
    let parentDeathSignal: Int32
    /// Joining a running sandbox: no new namespaces, no mounts, no hostname.
    let joinPIDFD: Int32

    init(spec: SandboxSpec, executable: String, environment: [String: String], user: ResolvedUser, joinPIDFD: Int32 = -1) {
        argv = ["drover-init", executable] + spec.command
        self.environment = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        self.joinPIDFD = joinPIDFD
        mounts = joinPIDFD >= 0 ? [] : MountStep.plan(for: spec)
        hostname = joinPIDFD >= 0 ? nil : spec.hostname
        workdir = spec.workdir
        self.user = user
        capabilities = spec.capabilities.mask
        parentDeathSignal = spec.dieWithParent ? SIGKILL : 0
    }

    /// Names what a failed step worked on, for the error message.
    func describe(step: Int32, detail: Int32) -> String? {
        switch UInt32(bitPattern: step) {
        case DROVER_STEP_MOUNT.rawValue where mounts.indices.contains(Int(detail)):
            return mounts[Int(detail)].summary
        case DROVER_STEP_HOSTNAME.rawValue: return hostname
        case DROVER_STEP_CHDIR.rawValue: return workdir
        case DROVER_STEP_SETUID.rawValue, DROVER_STEP_SETGID.rawValue: return "\(user.uid):\(user.gid)"
        case DROVER_STEP_CAP_BOUNDING.rawValue, DROVER_STEP_CAP_AMBIENT.rawValue:
            return Capability(number: Int(detail)).map(\.description)
        case DROVER_STEP_EXEC_WORKLOAD.rawValue: return argv[1]
        default: return nil
        }
    }

    func withCPlan<R>(initFD: Int32, cgroupFD: Int32, stdio: (Int32, Int32, Int32), statusFD: Int32,
                      seccomp: UnsafePointer<sock_fprog>?, lastCapability: Int32,
                      _ body: (UnsafePointer<drover_spawn_plan>) -> R) -> R {
        let arena = CArena()
        defer { arena.free() }
        let cMounts = mounts.map { $0.cMount(arena) }
        let groups: [gid_t] = [] // supplementary groups are cleared
        return cMounts.withUnsafeBufferPointer { mountBuffer in
            groups.withUnsafeBufferPointer { groupBuffer in
                var plan = drover_spawn_plan()
                plan.init_fd = initFD
                plan.argv = arena.stringArray(argv)
                plan.envp = arena.stringArray(environment)
                plan.stdio = stdio
                plan.status_fd = statusFD
                plan.cgroup_fd = cgroupFD
                plan.clone_flags = joinPIDFD >= 0 ? 0 : DROVER_SANDBOX_NAMESPACES
                plan.join_pidfd = joinPIDFD
                plan.mounts = mountBuffer.baseAddress
                plan.mount_count = mountBuffer.count
                plan.hostname = arena.string(hostname)
                plan.workdir = arena.string(workdir)
                plan.change_user = 1
                plan.uid = user.uid
                plan.gid = user.gid
                plan.groups = groupBuffer.baseAddress
                plan.group_count = 0
                plan.capabilities = capabilities
                plan.last_capability = lastCapability
                plan.no_new_privs = 1
                plan.seccomp = seccomp
                plan.parent_death_signal = parentDeathSignal
                return body(&plan)
            }
        }
    }
}

extension MountStep {
    var summary: String {
        switch self {
        case .makeRootPrivate: return "make / private"
        case .readOnlyTree(let path): return "read-only \(path)"
        case .tmpfs(let target, _, _): return "tmpfs on \(target)"
        case .bindWritable(let source, let target): return "bind \(source) on \(target)"
        case .proc: return "proc on /proc"
        }
    }

    fileprivate func cMount(_ arena: CArena) -> drover_mount {
        var m = drover_mount()
        switch self {
        case .makeRootPrivate:
            m.kind = Int32(DROVER_MOUNT_PLAIN.rawValue)
            m.target = arena.string("/")
            m.flags = UInt(MS_REC | MS_PRIVATE)
        case .readOnlyTree(let path):
            m.kind = Int32(DROVER_MOUNT_READONLY_TREE.rawValue)
            m.target = arena.string(path)
        case .tmpfs(let target, let mode, let size):
            m.kind = Int32(DROVER_MOUNT_PLAIN.rawValue)
            m.source = arena.string("tmpfs")
            m.target = arena.string(target)
            m.fstype = arena.string("tmpfs")
            m.flags = UInt(MS_NOSUID | MS_NODEV)
            m.data = arena.string("mode=\(mode)" + (size.map { ",size=\($0)" } ?? ""))
        case .bindWritable(let source, let target):
            m.kind = Int32(DROVER_MOUNT_BIND_WRITABLE.rawValue)
            m.source = arena.string(source)
            m.target = arena.string(target)
        case .proc:
            m.kind = Int32(DROVER_MOUNT_PLAIN.rawValue)
            m.source = arena.string("proc")
            m.target = arena.string("/proc")
            m.fstype = arena.string("proc")
            m.flags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        }
        return m
    }
}

/// C strings and arrays that live until the spawn returns.
private final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    func string(_ text: String?) -> UnsafePointer<CChar>? {
        guard let text, let copy = strdup(text) else { return nil }
        allocations.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    func stringArray(_ items: [String]) -> UnsafePointer<UnsafeMutablePointer<CChar>?> {
        let stride = MemoryLayout<UnsafeMutablePointer<CChar>?>.stride
        let array = malloc((items.count + 1) * stride)!.bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: items.count + 1)
        for (index, item) in items.enumerated() {
            let copy = strdup(item)
            if let copy { allocations.append(UnsafeMutableRawPointer(copy)) }
            array[index] = copy
        }
        array[items.count] = nil
        allocations.append(UnsafeMutableRawPointer(array))
        return UnsafePointer(array)
    }

    func free() {
        for pointer in allocations { Glibc.free(pointer) }
        allocations.removeAll()
    }
}
