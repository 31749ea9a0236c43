/// The filesystem view of a sandbox (SPEC §2, §10), step by step, in the order the child
/// performs them. The child runs these as host root in a mount namespace the host's user
/// namespace owns, before it enters the sandbox's user namespace: nothing inside can undo them.
public enum MountStep: Equatable, Sendable {
    /// Stop mount events propagating to or from the host.
    case makeRootPrivate
    /// Read-only, recursively: the tree and every mount below it.
    case readOnlyTree(String)
    /// Read-only, this mount only (the mounts below it keep their own flags).
    case readOnlyMount(String)
    case tmpfs(target: String, mode: String, size: UInt64?, optional: Bool = false)
    /// A detached copy of `source` (and the mounts below it) in tree slot `slot`, taken before
    /// the host's / becomes read-only and droverd's paths are hidden.
    case cloneTree(source: String, slot: Int)
    /// The copy in `slot` mounted on `target`.
    case attachTree(slot: Int, target: String, readOnly: Bool)
    case mkdir(String, mode: UInt32)
    case device(String, major: UInt32, minor: UInt32, mode: UInt32)
    case symlink(target: String, at: String)
    /// A private devpts instance (its own ptmx).
    case devpts
    /// The path bound onto itself read-only; skipped when it does not exist.
    case readOnlyBind(String)
    /// The path bound onto itself, as it is (a mount of its own, whose flags its parent's later
    /// changes do not touch).
    case selfBind(String)
    /// Hidden: an empty read-only directory over a directory, /dev/null over a file; skipped
    /// when it does not exist.
    case mask(String)
    /// A fresh procfs for the new PID namespace.
    case proc
    /// The sandbox's own cgroup leaf (`source`, the host's path), read-only on /sys/fs/cgroup:
    /// what a cgroup2 mount in its cgroup namespace would show, without a new file system.
    case cgroup(leaf: String)

    /// Read-only inside: runc's default `readonlyPaths`.
    public static let readOnlyKernelPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    /// Not there inside: runc's default `maskedPaths` (and /proc/kcore's kin).
    public static let maskedKernelPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    /// The private /dev: name, major, minor (mode 0666), as runc's default devices.
    public static let devices: [(name: String, major: UInt32, minor: UInt32)] = [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ]

    /// `cgroupLeaf`: the sandbox's leaf (it has a cgroup namespace rooted there), shown as its
    /// whole cgroupfs.
    public static func plan(for spec: SandboxSpec, cgroupLeaf: String?) -> [MountStep] {
        var steps: [MountStep] = [.makeRootPrivate]
        // Everything shown at its own path, copied before / is made read-only (so a writable
        // path stays writable) and before droverd's paths are hidden (so it can be found).
        var shown: [(path: String, readOnly: Bool)] = []
        if let state = spec.stateDirectory { shown.append((state, false)) }
        shown += spec.writablePaths.map { ($0, false) }
        shown += spec.readOnlyPaths.map { ($0, true) }
        for (slot, entry) in shown.enumerated() { steps.append(.cloneTree(source: entry.path, slot: slot)) }

        steps.append(.readOnlyTree("/"))
        steps.append(.tmpfs(target: "/tmp", mode: "1777", size: spec.tmpSize))
        steps.append(.tmpfs(target: "/var/tmp", mode: "1777", size: spec.tmpSize, optional: true))
        steps += privateDev
        steps.append(.proc)
        steps += readOnlyKernelPaths.map { .readOnlyBind($0) }
        steps += maskedKernelPaths.map { .mask($0) }
        if let cgroupLeaf { steps.append(.cgroup(leaf: cgroupLeaf)) }

        // droverd's own files: not there at all, but for what this sandbox is shown of them.
        let hidden = spec.hiddenPaths.filter { path in !spec.hiddenPaths.contains { path != $0 && isBelow(path, $0) } }
        for path in hidden { steps.append(.tmpfs(target: path, mode: "755", size: 1 << 20, optional: true)) }
        var made = Set(hidden)
        for (slot, entry) in shown.enumerated() {
            if let root = hidden.first(where: { isBelow(entry.path, $0) }) {
                var path = root
                for component in entry.path.dropFirst(root.count).split(separator: "/") {
                    path += "/" + component
                    if made.insert(path).inserted { steps.append(.mkdir(path, mode: 0o755)) }
                }
            }
            steps.append(.attachTree(slot: slot, target: entry.path, readOnly: entry.readOnly))
        }
        steps += hidden.map { .readOnlyMount($0) }
        return steps
    }

    /// tmpfs with the devices every program expects and nothing of the host's (no disks, no
    /// kmsg, no fuse, tun or kvm), a private devpts and /dev/shm.
    static let privateDev: [MountStep] = {
        var steps: [MountStep] = [.tmpfs(target: "/dev", mode: "755", size: nil)]
        steps += devices.map { .device("/dev/" + $0.name, major: $0.major, minor: $0.minor, mode: 0o666) }
        steps += [
            .mkdir("/dev/pts", mode: 0o755), .devpts, .symlink(target: "pts/ptmx", at: "/dev/ptmx"),
            // POSIX shared memory lives in /dev/shm: private like /tmp, or the IPC namespace
            // leaks. A directory of /dev's own tmpfs, bound on itself so that it stays
            // writable when /dev is made read-only below (a bind costs less than a new tmpfs).
            .mkdir("/dev/shm", mode: 0o1777), .selfBind("/dev/shm"),
            .symlink(target: "/proc/self/fd", at: "/dev/fd"), .symlink(target: "/proc/self/fd/0", at: "/dev/stdin"),
            .symlink(target: "/proc/self/fd/1", at: "/dev/stdout"), .symlink(target: "/proc/self/fd/2", at: "/dev/stderr"),
            .readOnlyMount("/dev"),
        ]
        return steps
    }()

    /// `path` is `root` or inside it.
    public static func isBelow(_ path: String, _ root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}
