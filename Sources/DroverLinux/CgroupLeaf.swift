import DroverCore
import Glibc

/// One sandbox's cgroup: created before the spawn (the child is born in it with
/// CLONE_INTO_CGROUP), limited, observed, killed as a whole and removed.
public final class CgroupLeaf: @unchecked Sendable {
    public let path: String
    /// O_DIRECTORY fd for clone3's CLONE_INTO_CGROUP.
    public private(set) var directoryFD: Int32

    public init(tree: CgroupTree, name: String) throws(CgroupError) {
        path = tree.root + "/" + name
        if mkdir(path, 0o755) != 0 {
            if errno == EEXIST { throw .leafExists(path) }
            throw .system(SystemError("mkdir", path))
        }
        directoryFD = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD < 0 {
            let error = SystemError("open", path)
            rmdir(path)
            throw .system(error)
        }
    }

    /// Adopts an existing leaf (a daemon re-adopting its replicas after a restart).
    public init(existing path: String) throws(CgroupError) {
        self.path = path
        directoryFD = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD < 0 { throw .system(SystemError("open", path)) }
    }

    deinit {
        closeDirectory()
    }

    /// The directory fd is only needed to clone into the cgroup; a daemon with a thousand
    /// replicas should not hold a thousand of them.
    /// The cgroup's id (its directory's inode on cgroup2), what BPF's cgroup id helpers return.
    public private(set) lazy var id: UInt64? = {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }()

    public func closeDirectory() {
        if directoryFD >= 0 {
            close(directoryFD)
            directoryFD = -1
        }
    }

    /// Writes every setting whose controller the tree has. Returns the limits left
    /// unenforced (by name, once each); throws only when a write the kernel should accept fails.
    public func apply(_ limits: ResourceLimits, available: Set<String>) throws(CgroupError) -> [UnenforcedLimit] {
        var unenforced: [UnenforcedLimit] = []
        for setting in limits.settings {
            guard available.contains(setting.controller) else {
                if !setting.optional && !unenforced.contains(where: { $0.limit == setting.limit }) {
                    unenforced.append(UnenforcedLimit(limit: setting.limit, controller: setting.controller))
                }
                continue
            }
            let file = path + "/" + setting.file
            if setting.optional && !Files.exists(file) { continue }
            do { try Files.write(file, setting.value) } catch { throw .system(error) }
        }
        return unenforced
    }

    /// What the cgroup's interface files say. `controllers`: the ones its parent enabled; the
    /// files of missing controllers are not even looked up (droverd asks this of every
    /// replica for each `ps`).
    public func stats(controllers: Set<String>? = nil) -> CgroupStats {
        let memory = controllers?.contains("memory") ?? true
        let pids = controllers?.contains("pids") ?? true
        let cpu = Files.keyValues((try? Files.read(path + "/cpu.stat")) ?? "")
        let memoryEvents = memory ? Files.keyValues((try? Files.read(path + "/memory.events")) ?? "") : [:]
        func number(_ file: String) -> UInt64? {
            (try? Files.read(path + "/" + file)).flatMap { UInt64($0.trimmingWhitespace()) }
        }
        return CgroupStats(
            cpuUsageMicroseconds: cpu["usage_usec"],
            throttledPeriods: cpu["nr_throttled"],
            throttledMicroseconds: cpu["throttled_usec"],
            memoryCurrent: memory ? number("memory.current") : nil,
            memoryPeak: memory ? number("memory.peak") : nil,
            pidsCurrent: pids ? number("pids.current") : nil,
            oomKills: memoryEvents["oom_kill"])
    }

    public var processIDs: [Int32] {
        ((try? Files.read(path + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    public var isPopulated: Bool {
        Files.keyValues((try? Files.read(path + "/cgroup.events")) ?? "")["populated"] == 1
    }

    /// SIGKILL to every process in the cgroup at once (cgroup.kill, Linux 5.14), so that a
    /// forking tree cannot outrun it; older kernels get a kill loop over cgroup.procs.
    public func killAll() throws(CgroupError) {
        let killFile = path + "/cgroup.kill"
        if Files.exists(killFile) {
            do { try Files.write(killFile, "1") } catch { throw .system(error) }
            return
        }
        for _ in 0..<100 {
            let pids = processIDs
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
        }
    }

    /// Waits until cgroup.events says `populated 0`, sleeping in poll(2) on the file (the
    /// kernel signals POLLPRI when it changes). False on timeout.
    public func waitUntilEmpty(timeoutMilliseconds: Int32 = 5000) -> Bool {
        let eventsPath = path + "/cgroup.events"
        let fd = open(eventsPath, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return !Files.exists(path) }
        defer { close(fd) }
        var remaining = timeoutMilliseconds
        while true {
            if !isPopulated { return true }
            if remaining <= 0 { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLPRI), revents: 0)
            let step = min(remaining, 100) // also re-check periodically: a missed edge costs 100 ms
            _ = poll(&pfd, 1, step)
            remaining -= step
            var scratch = [UInt8](repeating: 0, count: 256)
            _ = lseek(fd, 0, SEEK_SET)
            _ = scratch.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        }
    }

    /// Kills what is left, waits for it to go and removes the directory.
    public func destroy() throws(CgroupError) {
        closeDirectory()
        guard Files.exists(path) else { return }
        if isPopulated {
            try killAll()
            _ = waitUntilEmpty()
        }
        // A just-emptied cgroup can answer EBUSY for a moment while tasks finish exiting.
        for attempt in 0..<50 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            if errno != EBUSY || attempt == 49 { throw .system(SystemError("rmdir", path)) }
            usleep(10_000)
        }
    }
}

public struct UnenforcedLimit: Equatable, Sendable {
    public var limit: String
    public var controller: String

    public init(limit: String, controller: String) {
        self.limit = limit
        self.controller = controller
    }
}

public struct CgroupStats: Equatable, Sendable {
    public var cpuUsageMicroseconds: UInt64?
    public var throttledPeriods: UInt64?
    public var throttledMicroseconds: UInt64?
    public var memoryCurrent: UInt64?
    public var memoryPeak: UInt64?
    public var pidsCurrent: UInt64?
    public var oomKills: UInt64?
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
