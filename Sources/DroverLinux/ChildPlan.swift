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
    /// Joining: the sandbox has a user namespace of its own to join too.
    let joinUserNamespace: Bool
    /// The user namespace to enter after the mounts (-1: none, the host's).
    let userNamespaceFD: Int32
    let cgroupNamespace: Bool
    let ownNetwork: Bool

    init(spec: SandboxSpec, executable: String, environment: [String: String], user: ResolvedUser,
         userNamespaceFD: Int32, cgroupLeaf: String?, joinPIDFD: Int32 = -1, joinUserNamespace: Bool = false) {
        argv = ["drover-init", executable] + spec.command
        self.environment = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        self.joinPIDFD = joinPIDFD
        self.joinUserNamespace = joinUserNamespace
        self.userNamespaceFD = userNamespaceFD
        cgroupNamespace = cgroupLeaf != nil
        ownNetwork = joinPIDFD < 0 && spec.network == .none
        mounts = joinPIDFD >= 0 ? [] : MountStep.plan(for: spec, cgroupLeaf: cgroupLeaf)
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
        var treeFDs = [Int32](repeating: -1, count: mounts.count { if case .cloneTree = $0 { return true } else { return false } })
        defer { for fd in treeFDs where fd >= 0 { close(fd) } } // left open only by a failed child
        return cMounts.withUnsafeBufferPointer { mountBuffer in
            groups.withUnsafeBufferPointer { groupBuffer in
              treeFDs.withUnsafeMutableBufferPointer { treeBuffer in
                var plan = drover_spawn_plan()
                plan.init_fd = initFD
                plan.argv = arena.stringArray(argv)
                plan.envp = arena.stringArray(environment)
                plan.stdio = stdio
                plan.status_fd = statusFD
                plan.cgroup_fd = cgroupFD
                plan.clone_flags = joinPIDFD >= 0 ? 0 : DROVER_SANDBOX_NAMESPACES | (cgroupNamespace ? DROVER_CLONE_NEWCGROUP : 0)
                    | (ownNetwork ? DROVER_CLONE_NEWNET : 0)
                plan.loopback_up = ownNetwork ? 1 : 0
                plan.join_pidfd = joinPIDFD
                plan.join_userns = joinUserNamespace ? 1 : 0
                plan.userns_fd = userNamespaceFD
                plan.mounts = mountBuffer.baseAddress
                plan.mount_count = mountBuffer.count
                plan.tree_fds = treeBuffer.baseAddress
                plan.tree_slots = treeBuffer.count
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
                // Not for `drover exec` and exec probes: a Landlock domain of their own would
                // keep them from signalling the replica's processes (`drover exec web/0 -- kill
                // -HUP 2`, as `docker exec` allows).
                plan.landlock_scope = joinPIDFD >= 0 ? 0 : 1
                plan.seccomp = seccomp
                plan.parent_death_signal = parentDeathSignal
                return body(&plan)
              }
            }
        }
    }
}

extension MountStep {
    var summary: String {
        switch self {
        case .makeRootPrivate: return "make / private"
        case .readOnlyTree(let path): return "read-only \(path)"
        case .readOnlyMount(let path): return "read-only mount \(path)"
        case .tmpfs(let target, _, _, _): return "tmpfs on \(target)"
        case .cloneTree(let source, _): return "open_tree \(source)"
        case .attachTree(_, let target, let readOnly): return "bind \(target)\(readOnly ? " read-only" : "")"
        case .mkdir(let path, _): return "mkdir \(path)"
        case .device(let path, _, _, _): return "mknod \(path)"
        case .symlink(let target, let path): return "symlink \(path) -> \(target)"
        case .devpts: return "devpts on /dev/pts"
        case .readOnlyBind(let path): return "read-only bind \(path)"
        case .selfBind(let path): return "bind \(path) on itself"
        case .mask(let path): return "mask \(path)"
        case .proc: return "proc on /proc"
        case .cgroup(let leaf): return "bind \(leaf) on /sys/fs/cgroup"
        }
    }

    fileprivate func cMount(_ arena: CArena) -> drover_mount {
        var m = drover_mount()
        func plain(_ source: String, _ target: String, _ type: String?, _ flags: Int, _ data: String?) {
            m.kind = Int32(DROVER_MOUNT_PLAIN.rawValue)
            m.source = arena.string(source)
            m.target = arena.string(target)
            m.fstype = arena.string(type)
            m.flags = UInt(flags)
            m.data = arena.string(data)
        }
        switch self {
        case .makeRootPrivate:
            plain("none", "/", nil, Int(MS_REC | MS_PRIVATE), nil)
        case .readOnlyTree(let path):
            m.kind = Int32(DROVER_MOUNT_READONLY_TREE.rawValue)
            m.target = arena.string(path)
        case .readOnlyMount(let path):
            m.kind = Int32(DROVER_MOUNT_READONLY_ONE.rawValue)
            m.target = arena.string(path)
        case .tmpfs(let target, let mode, let size, let optional):
            plain("tmpfs", target, "tmpfs", Int(MS_NOSUID | MS_NODEV), "mode=\(mode)" + (size.map { ",size=\($0)" } ?? ""))
            m.optional = optional ? 1 : 0
            if target == "/dev" { m.flags = UInt(MS_NOSUID | MS_NOEXEC) } // device nodes work here
        case .cloneTree(let source, let slot):
            m.kind = Int32(DROVER_MOUNT_CLONE_TREE.rawValue)
            m.source = arena.string(source)
            m.slot = Int32(slot)
        case .attachTree(let slot, let target, let readOnly):
            m.kind = Int32(DROVER_MOUNT_ATTACH_TREE.rawValue)
            m.slot = Int32(slot)
            m.target = arena.string(target)
            m.flags = readOnly ? UInt(MS_RDONLY) : 0
        case .mkdir(let path, let mode):
            m.kind = Int32(DROVER_MOUNT_MKDIR.rawValue)
            m.target = arena.string(path)
            m.mode = mode
        case .device(let path, let major, let minor, let mode):
            m.kind = Int32(DROVER_MOUNT_MKNOD.rawValue)
            m.target = arena.string(path)
            m.mode = mode
            // glibc's makedev (a macro Swift cannot call)
            let (major, minor) = (UInt64(major), UInt64(minor))
            m.device = (major & 0xfffff000) << 32 | (major & 0xfff) << 8 | (minor & 0xffffff00) << 12 | (minor & 0xff)
        case .symlink(let target, let path):
            m.kind = Int32(DROVER_MOUNT_SYMLINK.rawValue)
            m.source = arena.string(target)
            m.target = arena.string(path)
        case .devpts:
            plain("devpts", "/dev/pts", "devpts", Int(MS_NOSUID | MS_NOEXEC), "newinstance,ptmxmode=0666,mode=0620")
        case .selfBind(let path):
            plain(path, path, nil, Int(MS_BIND), nil)
        case .readOnlyBind(let path):
            m.kind = Int32(DROVER_MOUNT_READONLY_BIND.rawValue)
            m.target = arena.string(path)
            m.optional = 1
        case .mask(let path):
            m.kind = Int32(DROVER_MOUNT_MASK.rawValue)
            m.target = arena.string(path)
            m.optional = 1
        case .proc:
            plain("proc", "/proc", "proc", Int(MS_NOSUID | MS_NODEV | MS_NOEXEC), nil)
        case .cgroup(let leaf):
            m.kind = Int32(DROVER_MOUNT_BIND_READONLY.rawValue)
            m.source = arena.string(leaf)
            m.target = arena.string("/sys/fs/cgroup")
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
