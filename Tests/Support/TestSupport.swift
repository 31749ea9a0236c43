import DroverCore
import DroverLinux
import Glibc

/// Facts about the machine the tests run on, and where the built binaries are.
public enum TestEnvironment {
    public static let isRoot = getuid() == 0

    /// The directory holding drover, drover-init, drover-testload (the test bundle sits there).
    public static let buildDirectory: String = SandboxLauncher.executableDirectory()

    public static var drover: String { buildDirectory + "/drover" }

    /// drover-testload at a path the sandbox's default user (nobody) can reach: the build
    /// directory if every ancestor is searchable by others and it is not under /tmp (a
    /// sandbox has its own), else a copy under /var/lib/drover-test (/var/tmp is private too).
    public static let testload: String = {
        let built = buildDirectory + "/drover-testload"
        if searchableByOthers(built) && !built.hasPrefix("/tmp/") && !built.hasPrefix("/var/tmp/") { return built }
        let directory = "/var/lib/drover-test/bin"
        mkdir("/var/lib/drover-test", 0o755)
        mkdir(directory, 0o755)
        chmod(directory, 0o755)
        let copy = directory + "/drover-testload"
        let source = open(built, O_RDONLY)
        let target = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0o755)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(source, &buffer, buffer.count)
            if n <= 0 { break }
            _ = write(target, buffer, n)
        }
        close(source)
        close(target)
        chmod(copy, 0o755)
        return copy
    }()

    /// The cgroup v2 controllers drover's tree gets on this host (none on a hybrid host).
    public static let controllers: Set<String> = (try? CgroupTree.prepare().controllers) ?? []

    public static func hasControllers(_ names: String...) -> Bool {
        isRoot && names.allSatisfy(controllers.contains)
    }

    static func searchableByOthers(_ path: String) -> Bool {
        var current = path
        while let slash = current.lastIndex(of: "/"), slash != current.startIndex {
            current = String(current[..<slash])
            var info = stat()
            if stat(current, &info) != 0 || info.st_mode & 0o001 == 0 { return false }
        }
        return true
    }
}

/// A unique name for a test's cgroup leaf, so parallel tests never collide.
public func uniqueName(_ prefix: String) -> String {
    "test-\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

/// `key=value` lines (what drover-testload prints) as a dictionary; later keys win.
public func keyValues(_ text: String) -> [String: String] {
    var result: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        result[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }
    return result
}

/// Collects what a process writes to a pipe, with deadlines, so a test that waits for output
/// that never comes fails instead of hanging.
public final class PipeReader {
    public let fd: Int32
    public private(set) var text = ""
    public private(set) var closed = false

    public init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Reads until `needle` has appeared or the deadline passes. True if it appeared.
    @discardableResult
    public func read(until needle: String, timeout seconds: Double = 10) -> Bool {
        let deadline = monotonicSeconds() + seconds
        while !text.contains(needle) {
            if closed { return false }
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { return false }
            readSome(timeoutMilliseconds: Int32(min(remaining, 1) * 1000))
        }
        return true
    }

    /// Reads until EOF or the deadline. True at EOF.
    @discardableResult
    public func readToEnd(timeout seconds: Double = 20) -> Bool {
        let deadline = monotonicSeconds() + seconds
        while !closed {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { return false }
            readSome(timeoutMilliseconds: Int32(min(remaining, 1) * 1000))
        }
        return true
    }

    private func readSome(timeoutMilliseconds: Int32) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = Glibc.read(fd, &buffer, buffer.count)
        if n > 0 {
            text += String(decoding: buffer[0..<n], as: UTF8.self)
        } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
            closed = true
        }
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` seconds pass; whether it held.
public func waitFor(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = monotonicSeconds() + timeout
    while monotonicSeconds() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// A sandbox started through the library with its output on a pipe.
public final class TestSandbox {
    public let sandbox: Sandbox
    public let output: PipeReader

    public init(_ spec: SandboxSpec, launcher: SandboxLauncher, name: String = uniqueName("sandbox")) throws {
        let (readEnd, writeEnd) = try makePipe()
        defer { close(writeEnd) }
        do {
            sandbox = try launcher.launch(spec, name: name, stdio: (-1, writeEnd, writeEnd))
        } catch {
            close(readEnd)
            throw error
        }
        output = PipeReader(fd: readEnd)
    }

    /// Waits for exit (killing everything at the timeout), reads the rest of the output and
    /// removes the cgroup.
    public func finish(timeout seconds: Double = 20) -> (status: ExitStatus, output: String) {
        let deadline = monotonicSeconds() + seconds
        while sandbox.poll() == nil && monotonicSeconds() < deadline { usleep(2000) }
        if sandbox.poll() == nil { try? sandbox.killAll() }
        let status = sandbox.wait()
        output.readToEnd(timeout: 5)
        try? sandbox.cleanup()
        return (status, output.text)
    }

    /// Kills the whole sandbox now and cleans up: for tests' `defer`.
    public func destroy() {
        if sandbox.poll() == nil { try? sandbox.killAll() }
        _ = sandbox.wait()
        try? sandbox.cleanup()
    }
}

/// Runs a spec to completion and returns its status and output.
public func runToCompletion(_ spec: SandboxSpec, launcher: SandboxLauncher, timeout: Double = 20) throws -> (status: ExitStatus, output: String, values: [String: String]) {
    let running = try TestSandbox(spec, launcher: launcher)
    let (status, output) = running.finish(timeout: timeout)
    return (status, output, keyValues(output))
}

/// A child process (the drover CLI) with stdout and stderr on pipes.
public final class TestProcess {
    public let pid: pid_t
    public let stdout: PipeReader
    public let stderr: PipeReader
    public private(set) var exitCode: Int32?

    /// `outputFile`: stdout and stderr appended to that file instead of pipes (a long-running
    /// process whose output nobody reads must not block on a full pipe).
    public init(_ argv: [String], outputFile: String? = nil) throws {
        let out = try makePipe()
        let err = try makePipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let outputFile {
            posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_adddup2(&actions, out.write, 1)
            posix_spawn_file_actions_adddup2(&actions, err.write, 2)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, nil, cArgs, environ)
        close(out.write)
        close(err.write)
        guard result == 0 else {
            close(out.read)
            close(err.read)
            throw SystemError("posix_spawn", argv[0], errno: result)
        }
        pid = child
        stdout = PipeReader(fd: out.read)
        stderr = PipeReader(fd: err.read)
    }

    public func signal(_ number: Int32) {
        if exitCode == nil { kill(pid, number) }
    }

    /// True once it has exited (reaping it).
    public var hasExited: Bool {
        if exitCode != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        exitCode = Self.code(status)
        return true
    }

    static func code(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits for exit; past the timeout the process is killed and the result is nil.
    @discardableResult
    public func finish(timeout seconds: Double = 30) -> Int32? {
        if let exitCode {
            stdout.readToEnd(timeout: 2)
            stderr.readToEnd(timeout: 2)
            return exitCode
        }
        let deadline = monotonicSeconds() + seconds
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if monotonicSeconds() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                stdout.readToEnd(timeout: 2)
                stderr.readToEnd(timeout: 2)
                return nil
            }
            stdout.read(until: "\u{0}", timeout: 0.005) // drains output so a full pipe cannot block it
            stderr.read(until: "\u{0}", timeout: 0.005)
        }
        stdout.readToEnd(timeout: 5)
        stderr.readToEnd(timeout: 5)
        exitCode = Self.code(status)
        return exitCode
    }

    /// Runs `drover ARGS...` to completion.
    public static func drover(_ arguments: [String], timeout: Double = 30) throws -> (code: Int32?, stdout: String, stderr: String) {
        let process = try TestProcess([TestEnvironment.drover] + arguments)
        let code = process.finish(timeout: timeout)
        return (code, process.stdout.text, process.stderr.text)
    }
}

/// A readable file without execute permission (exec gives EACCES), in a place sandboxes see:
/// one every system has, so that no fixture is left behind.
public func nonExecutableFile() -> String {
    "/etc/passwd"
}
