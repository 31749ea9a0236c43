import DroverLinux
import DroverTestSupport
import Glibc

/// One sandbox as /proc shows it: a drover-init that is PID 1 of its own PID namespace (an
/// exec probe's or `drover exec`'s drover-init joins the replica's namespace and is not one).
struct SandboxProcess: Equatable, CustomStringConvertible {
    var pid: Int32
    /// Field 22 of /proc/PID/stat: with the pid, names the process even if the pid is reused.
    var startTime: UInt64
    /// The job and index its environment says it runs (`DROVER_JOB`, `DROVER_REPLICA`).
    var job: String?
    var index: Int?
    /// Its cgroup as /proc/PID/cgroup names it (`/drover/web-x.2`), and that cgroup's last
    /// component, the leaf (`web-x.2`).
    var cgroup: String
    var leaf: String { cgroup.split(separator: "/").last.map(String.init) ?? cgroup }

    /// What the leaf's name says: `web-x.2` is web-x, index 2 (droverd names leaves `job.index`).
    var leafIdentity: Identity? {
        guard let dot = leaf.lastIndex(of: "."), let index = Int(leaf[leaf.index(after: dot)...]) else { return nil }
        return Identity(job: String(leaf[..<dot]), index: index)
    }

    var environmentIdentity: Identity? {
        guard let job, let index else { return nil }
        return Identity(job: job, index: index)
    }

    var description: String {
        "pid \(pid) (start \(startTime)) in \(cgroup), env \(job ?? "?")/\(index.map(String.init) ?? "?")"
    }
}

/// A replica's name: job and index.
struct Identity: Hashable, Comparable, CustomStringConvertible {
    var job: String
    var index: Int
    var description: String { "\(job)/\(index)" }
    static func < (a: Identity, b: Identity) -> Bool { (a.job, a.index) < (b.job, b.index) }
}

/// What must never be: two live sandboxes for one index (by the environment or by the leaf
/// they run in), or a sandbox whose leaf names another replica than its environment.
enum SandboxViolation: Equatable, CustomStringConvertible {
    case twoSandboxes(Identity, [SandboxProcess])
    case twoInOneLeaf(String, [SandboxProcess])
    case leafDisagrees(SandboxProcess)

    var description: String {
        switch self {
        case .twoSandboxes(let identity, let sandboxes):
            return "\(identity) has \(sandboxes.count) live sandboxes: \(sandboxes.map(\.description).joined(separator: "; "))"
        case .twoInOneLeaf(let leaf, let sandboxes):
            return "leaf \(leaf) holds \(sandboxes.count) sandboxes: \(sandboxes.map(\.description).joined(separator: "; "))"
        case .leafDisagrees(let sandbox):
            return "\(sandbox) runs in the leaf of \(sandbox.leafIdentity?.description ?? "no replica")"
        }
    }

    var processes: [SandboxProcess] {
        switch self {
        case .twoSandboxes(_, let sandboxes), .twoInOneLeaf(_, let sandboxes): return sandboxes
        case .leafDisagrees(let sandbox): return [sandbox]
        }
    }
}

/// Reads every live sandbox from /proc and finds the violations among them. Reading /proc is
/// not atomic: a sandbox seen early in a scan may have died before one seen later started, so
/// a violation counts only when every process in it is still the same live process after the
/// scan (alive after the later one was seen alive, so both lived at that moment).
enum SandboxCensus {
    /// The violations in one snapshot (pure: the detector itself, tested on made-up snapshots).
    static func violations(in sandboxes: [SandboxProcess]) -> [SandboxViolation] {
        var found: [SandboxViolation] = []
        let byIdentity = Dictionary(grouping: sandboxes.filter { $0.environmentIdentity != nil }) { $0.environmentIdentity! }
        for (identity, group) in byIdentity.sorted(by: { $0.key < $1.key }) where group.count > 1 {
            found.append(.twoSandboxes(identity, group.sorted { $0.pid < $1.pid }))
        }
        let byLeaf = Dictionary(grouping: sandboxes) { $0.cgroup }
        for (cgroup, group) in byLeaf.sorted(by: { $0.key < $1.key }) where group.count > 1 {
            found.append(.twoInOneLeaf(cgroup, group.sorted { $0.pid < $1.pid }))
        }
        for sandbox in sandboxes.sorted(by: { $0.pid < $1.pid }) {
            if let own = sandbox.environmentIdentity, let leaf = sandbox.leafIdentity, own != leaf {
                found.append(.leafDisagrees(sandbox))
            }
        }
        return found
    }

    /// Every live sandbox whose leaf or environment names a job accepted by `belongs`.
    static func scan(belongs: (String) -> Bool) -> [SandboxProcess] {
        var sandboxes: [SandboxProcess] = []
        for entry in listDirectory("/proc") {
            guard let pid = Int32(entry), readText("/proc/\(entry)/comm") == "drover-init\n",
                  let stat = ProcessStat.read(pid), stat.isLive,
                  namespacePID(pid) == 1,
                  let cgroupText = readText("/proc/\(entry)/cgroup"),
                  let cgroup = cgroupText.split(separator: "\n").first(where: { $0.hasPrefix("0::") }).map({ String($0.dropFirst(3)) })
            else { continue }
            let environment = environmentOf(pid)
            var sandbox = SandboxProcess(pid: pid, startTime: stat.startTime, job: environment["DROVER_JOB"],
                                         index: environment["DROVER_REPLICA"].flatMap { Int($0) }, cgroup: cgroup)
            if sandbox.cgroup.hasSuffix(" (deleted)") { sandbox.cgroup = String(sandbox.cgroup.dropLast(10)) }
            let named = [sandbox.job, sandbox.leafIdentity?.job].compactMap { $0 }
            if named.contains(where: belongs) { sandboxes.append(sandbox) }
        }
        return sandboxes
    }

    /// Whether the process is still the one seen (same start time) and not dead.
    static func stillLive(_ sandbox: SandboxProcess) -> Bool {
        guard let stat = ProcessStat.read(sandbox.pid) else { return false }
        return stat.startTime == sandbox.startTime && stat.isLive
    }

    /// One scan's confirmed violations, and the sandboxes it saw.
    static func check(belongs: (String) -> Bool) -> (violations: [SandboxViolation], sandboxes: [SandboxProcess]) {
        let sandboxes = scan(belongs: belongs)
        let confirmed = violations(in: sandboxes).filter { $0.processes.allSatisfy(stillLive) }
        return (confirmed, sandboxes)
    }
}

/// The fields of /proc/PID/stat the chaos test reads.
struct ProcessStat {
    /// R, S, D, Z, X...
    var state: Character
    var parent: Int32
    var startTime: UInt64
    var comm: String

    var isLive: Bool { state != "Z" && state != "X" && state != "x" }

    static func read(_ pid: Int32) -> ProcessStat? {
        guard let text = readText("/proc/\(pid)/stat"), let open = text.firstIndex(of: "("),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the comm: state (field 3), ppid (4), ..., starttime (22).
        guard fields.count > 19, let state = fields[0].first, let parent = Int32(fields[1]),
              let start = UInt64(fields[19]) else { return nil }
        return ProcessStat(state: state, parent: parent, startTime: start,
                           comm: String(text[text.index(after: open)..<close]))
    }
}

/// Every process of the host with its stat fields (a pid that ended meanwhile is left out).
func allProcesses() -> [(pid: Int32, stat: ProcessStat)] {
    listDirectory("/proc").compactMap { entry in
        guard let pid = Int32(entry), let stat = ProcessStat.read(pid) else { return nil }
        return (pid, stat)
    }
}

/// The last `NSpid:` field of /proc/PID/status: its pid in its innermost PID namespace.
func namespacePID(_ pid: Int32) -> Int32? {
    guard let status = readText("/proc/\(pid)/status") else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { Int32($0) }
    }
    return nil
}

/// /proc/PID/environ as a dictionary (root reads it even though drover-init is not dumpable).
func environmentOf(_ pid: Int32) -> [String: String] {
    guard let text = readText("/proc/\(pid)/environ") else { return [:] }
    var result: [String: String] = [:]
    for pair in text.split(separator: "\0") {
        guard let equals = pair.firstIndex(of: "=") else { continue }
        result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return result
}

/// The number of descriptors a process holds.
func descriptorCount(_ pid: Int32) -> Int { listDirectory("/proc/\(pid)/fd").count }

/// A process's descriptors: how many, how many are user namespaces, and all of them by kind.
struct Descriptors {
    var total = 0
    var userNamespaces = 0
    var kinds = ""

    init(_ pid: Int32) {
        for entry in listDirectory("/proc/\(pid)/fd") {
            total += 1
            var buffer = [CChar](repeating: 0, count: 64)
            if readlink("/proc/\(pid)/fd/\(entry)", &buffer, buffer.count - 1) > 0, String(cString: buffer).hasPrefix("user:") {
                userNamespaces += 1
            }
        }
        kinds = descriptorKinds(pid)
    }
}

/// What a process's descriptors are, by kind (`anon_inode:[pidfd] 7, socket 12, ...`).
func descriptorKinds(_ pid: Int32) -> String {
    var kinds: [String: Int] = [:]
    for entry in listDirectory("/proc/\(pid)/fd") {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/fd/\(entry)", &buffer, buffer.count - 1)
        guard n > 0 else { continue }
        var target = String(cString: buffer)
        if let bracket = target.firstIndex(of: "["), target.hasPrefix("socket:") || target.hasPrefix("pipe:") {
            target = String(target[..<bracket])
        } else if target.hasPrefix("/") {
            // A directory of a replica's (its leaf, its files) counts as its kind of place.
            target = target.split(separator: "/").prefix(4).joined(separator: "/")
        }
        kinds[target, default: 0] += 1
    }
    return kinds.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
}

/// A whole small file (/proc, cgroupfs), nil when it cannot be read.
func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 8192)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return n == 0 ? String(decoding: bytes, as: UTF8.self) : nil }
        bytes += buffer[0..<n]
    }
}
