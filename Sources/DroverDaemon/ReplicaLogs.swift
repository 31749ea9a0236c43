import DroverLinux
import Foundation

/// A replica's stdout and stderr: one file the sandbox writes with O_APPEND, so output keeps
/// flowing while droverd is down (no pipe to break), rotated by size (SPEC §9: 10 MiB × 3) by
/// copy-and-truncate (`LogFile`).
struct ReplicaLogs {
    static let defaultMaxBytes: UInt64 = 10 << 20
    static let defaultFiles = 3

    let path: String
    var maxBytes: UInt64 = defaultMaxBytes
    /// The current file plus rotated ones (`.1` newest).
    var files: Int = defaultFiles

    private var file: LogFile { LogFile(path: path, maxBytes: maxBytes, files: files) }

    /// A write-only, append-only fd for the sandbox's stdout and stderr (the caller closes it
    /// after the spawn).
    func openForWriting() throws -> Int32 {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do { return try file.openForAppending() } catch { throw DaemonError.system(error.description) }
    }

    /// Rotates when the current file has reached the limit. Returns true if it rotated.
    @discardableResult
    func rotateIfNeeded() -> Bool { file.rotateIfNeeded() }

    /// The last `lines` lines of the rotated files and the current one, oldest first.
    func tail(lines: Int?) -> Data { Data(file.tail(lines: lines)) }

    var size: UInt64 { file.size }

    /// Bytes of the current file from `offset`; if the file shrank (rotated), from 0.
    func read(from offset: UInt64) -> (data: Data, next: UInt64) {
        let (bytes, next) = file.read(from: offset)
        return (Data(bytes), next)
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
