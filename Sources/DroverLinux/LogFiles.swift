import Glibc

/// A log file that a sandbox writes with O_APPEND, rotated by size by copy-and-truncate: the
/// writer's fd stays valid and its next write lands at the new end, so the writer never
/// depends on whoever rotates (droverd may be down). A line written between the copy and the
/// truncate can be lost: the price of that independence. Rotated files are `<path>.1`
/// (newest) to `<path>.<files - 1>`.
public struct LogFile: Sendable {
    public let path: String
    /// The size at which the current file is rotated, and the most a rotated file keeps.
    public var maxBytes: UInt64
    /// The current file plus rotated ones.
    public var files: Int

    public init(path: String, maxBytes: UInt64, files: Int) {
        self.path = path
        self.maxBytes = maxBytes
        self.files = files
    }

    /// A write-only, append-only fd on the current file (created 0600 if missing), for the
    /// writer's stdout and stderr; the caller closes it after handing it over. Its directory
    /// must exist.
    public func openForAppending() throws(SystemError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 { throw SystemError("open", path) }
        return fd
    }

    /// Rotates when the current file has reached `maxBytes`. Returns true if it rotated.
    @discardableResult
    public func rotateIfNeeded() -> Bool {
        guard let current = fileSize(path), current >= maxBytes else { return false }
        // Best effort throughout: a rotation that fails part way loses old output at worst,
        // and the truncate below still bounds the current file.
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

    /// The last `lines` lines (all of them when nil) of the rotated files and the current one,
    /// oldest first.
    public func tail(lines: Int?) -> [UInt8] {
        var combined: [UInt8] = []
        for generation in stride(from: files - 1, through: 1, by: -1) {
            if let bytes = wholeFile("\(path).\(generation)") { combined.append(contentsOf: bytes) }
        }
        if let bytes = wholeFile(path) { combined.append(contentsOf: bytes) }
        guard let lines else { return combined }
        return Array(Self.lastLines(lines, of: combined))
    }

    /// The last `count` lines of `bytes` (a trailing newline ends the last line; it does not
    /// start another).
    static func lastLines(_ count: Int, of bytes: [UInt8]) -> ArraySlice<UInt8> {
        var newlines = 0
        var start = bytes.endIndex
        var index = bytes.endIndex
        if index > bytes.startIndex && bytes[index - 1] == UInt8(ascii: "\n") { index -= 1 }
        while index > bytes.startIndex {
            index -= 1
            if bytes[index] == UInt8(ascii: "\n") {
                newlines += 1
                if newlines == count { start = index + 1; break }
            }
            start = index
        }
        return bytes[start...]
    }

    /// The current file's size (0 when it does not exist).
    public var size: UInt64 { fileSize(path) ?? 0 }

    /// Up to 1 MiB of the current file from `offset`, and the offset after it; if the file
    /// shrank below `offset` (rotated), from 0.
    public func read(from offset: UInt64) -> (bytes: [UInt8], next: UInt64) {
        let current = size
        let start = current < offset ? 0 : offset
        guard current > start else { return ([], start) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return ([], start) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: Int(min(current - start, 1 << 20)))
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(start) + off_t(filled)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            filled += n
        }
        return (Array(bytes[0..<filled]), start + UInt64(filled))
    }

    private func fileSize(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_size) : nil
    }

    /// Nil when it cannot be read (a rotated file not there yet): `tail` skips it.
    private func wholeFile(_ path: String) -> [UInt8]? {
        try? Files.readBytes(path, chunk: 1 << 16)
    }
}
