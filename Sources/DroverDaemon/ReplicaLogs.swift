import Foundation
import Glibc

/// A replica's stdout and stderr: one file the sandbox writes with O_APPEND, so output keeps
/// flowing while droverd is down (no pipe to break), rotated by size (SPEC §9: 10 MiB × 3) by
/// copy-and-truncate: the replica's fd stays valid and its next write lands at the new end.
/// A line written between the copy and the truncate can be lost; that is the price of never
/// making a replica depend on droverd to write its output.
struct ReplicaLogs {
    static let defaultMaxBytes: UInt64 = 10 << 20
    static let defaultFiles = 3

    let path: String
    var maxBytes: UInt64 = defaultMaxBytes
    /// The current file plus rotated ones (`.1` newest).
    var files: Int = defaultFiles

    /// A write-only, append-only fd for the sandbox's stdout and stderr (the caller closes it
    /// after the spawn).
    func openForWriting() throws -> Int32 {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 { throw DaemonError.system("open `\(path)`: \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Rotates when the current file has reached the limit. Returns true if it rotated.
    @discardableResult
    func rotateIfNeeded() -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, UInt64(info.st_size) >= maxBytes else { return false }
        if files > 1 {
            unlink("\(path).\(files - 1)")
            for generation in stride(from: files - 2, through: 1, by: -1) {
                rename("\(path).\(generation)", "\(path).\(generation + 1)")
            }
            // Only the newest maxBytes: a burst between two checks must not make a rotated file
            // larger than the limit (what is older than that is dropped).
            copy(from: path, to: "\(path).1", lastBytes: maxBytes)
        }
        truncate(path, 0)
        return true
    }

    private func copy(from source: String, to target: String, lastBytes: UInt64) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return }
        defer { close(input) }
        let size = lseek(input, 0, SEEK_END)
        _ = lseek(input, max(0, size - off_t(lastBytes)), SEEK_SET)
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { return }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = Glibc.read(input, &buffer, buffer.count)
            if n <= 0 { break }
            _ = Glibc.write(output, buffer, n)
        }
    }

    /// The last `lines` lines of the rotated files and the current one, oldest first.
    func tail(lines: Int?) -> Data {
        var combined = Data()
        for generation in stride(from: files - 1, through: 1, by: -1) {
            if let data = FileManager.default.contents(atPath: "\(path).\(generation)") { combined.append(data) }
        }
        if let data = FileManager.default.contents(atPath: path) { combined.append(data) }
        guard let lines else { return combined }
        var newlines = 0
        var start = combined.endIndex
        var index = combined.endIndex
        // A trailing newline ends the last line; it does not start another.
        if index > combined.startIndex && combined[index - 1] == UInt8(ascii: "\n") { index -= 1 }
        while index > combined.startIndex {
            index -= 1
            if combined[index] == UInt8(ascii: "\n") {
                newlines += 1
                if newlines == lines { start = index + 1; break }
            }
            start = index
        }
        return combined[start...]
    }

    var size: UInt64 {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_size) : 0
    }

    /// Bytes of the current file from `offset`; if the file shrank (rotated), from 0.
    func read(from offset: UInt64) -> (data: Data, next: UInt64) {
        let current = size
        let start = current < offset ? 0 : offset
        guard current > start, let handle = FileHandle(forReadingAtPath: path) else { return (Data(), start) }
        defer { try? handle.close() }
        try? handle.seek(toOffset: start)
        let data = (try? handle.read(upToCount: Int(min(current - start, 1 << 20)))) ?? Data()
        return (data, start + UInt64(data.count))
    }
}

enum DaemonError: Error, CustomStringConvertible {
    case system(String)
    case notFound(String)
    case conflict(String)
    /// A request whose values droverd refuses (400).
    case badRequest(String)

    var description: String {
        switch self {
        case .system(let message), .notFound(let message), .conflict(let message), .badRequest(let message): return message
        }
    }
}
