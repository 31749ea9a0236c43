import CDroverShim
import Glibc

/// Small whole-file helpers over raw syscalls: cgroup and proc files are tiny, and their
/// writes must be single write(2) calls the kernel sees as one value.
enum Files {
    static func read(_ path: String, chunk: Int = 4096) throws(SystemError) -> String {
        String(decoding: try readBytes(path, chunk: chunk), as: UTF8.self)
    }

    /// The whole file, read until end of file (proc files do not know their size in advance).
    static func readBytes(_ path: String, chunk: Int = 4096) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path)
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return bytes
    }

    static func write(_ path: String, _ value: String) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path) }
        defer { close(fd) }
        let written = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        if written < 0 { throw SystemError("write", path) }
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// `key value` lines (cpu.stat, memory.events, cgroup.events) as a dictionary.
    static func keyValues(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1]) { result[String(parts[0])] = value }
        }
        return result
    }
}

/// A pipe whose ends are close-on-exec from the start (a concurrent spawn must not inherit
/// them, or the reader never sees EOF).
public func makePipe() throws(SystemError) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    let result = drover_pipe_cloexec(&fds)
    if result < 0 { throw SystemError("pipe2", errno: -result) }
    return (fds[0], fds[1])
}
