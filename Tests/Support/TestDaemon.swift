import DroverLinux
import Glibc

/// A droverd of a test's own: its state directory and socket under /var/lib/drover-test (not /tmp or /var/tmp, which
/// replicas do not see), jobs named with a per-daemon suffix so that cleanup can find every
/// cgroup it made, even after the test killed droverd with SIGKILL.
public final class TestDaemon {
    public let directory: String
    public let suffix: String
    public private(set) var process: TestProcess?
    public let extraArguments: [String]

    public var socket: String { directory + "/drover.sock" }
    public var stateDirectory: String { directory + "/state" }

    public init(extraArguments: [String] = []) throws {
        suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        directory = "/var/lib/drover-test/\(getpid())-\(suffix)"
        self.extraArguments = extraArguments
        mkdir("/var/lib/drover-test", 0o755)
        mkdir(directory, 0o755)
        try start()
    }

    /// A job name unique to this daemon: `web` → `web-k3x9a`.
    public func job(_ name: String) -> String { "\(name)-\(suffix)" }

    /// Starts droverd and waits until its API answers.
    public func start(arguments: [String] = []) throws {
        let process = try TestProcess([TestEnvironment.buildDirectory + "/droverd", "--socket", socket,
                                       "--state-dir", stateDirectory] + extraArguments + arguments,
                                      outputFile: directory + "/droverd.log")
        self.process = process
        let deadline = monotonicSeconds() + 20
        while monotonicSeconds() < deadline {
            if access(socket, F_OK) == 0, (try? drover(["ps"]).code) == 0 { return }
            if process.hasExited { break }
            usleep(20_000)
        }
        throw TestDaemonError.didNotStart(log)
    }

    /// What droverd wrote to stdout and stderr.
    public var log: String {
        guard let file = fopen(directory + "/droverd.log", "r") else { return "" }
        defer { fclose(file) }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), file) != nil { text += String(cString: buffer) }
        return text
    }

    /// `drover ARGS... --socket S`
    @discardableResult
    public func drover(_ arguments: [String], timeout: Double = 30) throws -> (code: Int32?, stdout: String, stderr: String) {
        // Before any `--`: what follows it is a command's own arguments.
        let split = arguments.firstIndex(of: "--") ?? arguments.endIndex
        return try TestProcess.drover(Array(arguments[..<split]) + ["--socket", socket] + Array(arguments[split...]), timeout: timeout)
    }

    /// Writes `yaml` to a file and applies it.
    @discardableResult
    public func apply(_ yaml: String, name: String = "jobs.yaml") throws -> (code: Int32?, stdout: String, stderr: String) {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = yaml.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        return try drover(["apply", path])
    }

    /// Writes `text` to `name` in the daemon's directory.
    public func writeFile(_ name: String, _ text: String) {
        let fd = open(directory + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    public func kill(_ signal: Int32) {
        process?.signal(signal)
        process?.finish(timeout: 30)
    }

    /// Kills droverd if it runs, then every cgroup of this daemon's jobs (replicas outlive
    /// droverd by design), then removes its directory.
    public func destroy() {
        if let process, !process.hasExited { kill(SIGKILL) }
        if let tree = try? CgroupTree.prepare() {
            let entries = listDirectory(tree.root)
            for entry in entries where entry.contains("-\(suffix).") {
                if let leaf = try? CgroupLeaf(existing: tree.root + "/" + entry) { try? leaf.destroy() }
            }
        }
        // The bpf file system droverd pins service steering in: removing the pins ends the
        // programs (unmounting alone would not while a sandbox's mount namespace holds a copy).
        for entry in listDirectory(stateDirectory + "/bpf") where !entry.contains(".") { unlink(stateDirectory + "/bpf/" + entry) }
        umount2(stateDirectory + "/bpf", Int32(MNT_DETACH))
        removeTree(directory)
    }
}

public enum TestDaemonError: Error, CustomStringConvertible {
    case didNotStart(String)
    public var description: String {
        switch self {
        case .didNotStart(let stderr): return "droverd did not start: \(stderr)"
        }
    }
}

/// The entries of a directory (no `.` and `..`); empty when it cannot be read.
public func listDirectory(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// rm -rf, without following symlinks out of the tree.
public func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if info.st_mode & S_IFMT == S_IFDIR {
        for entry in listDirectory(path) { removeTree(path + "/" + entry) }
        rmdir(path)
    } else {
        unlink(path)
    }
}
