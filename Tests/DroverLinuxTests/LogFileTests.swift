@testable import DroverLinux
import DroverTestSupport
import Glibc
import Testing

/// A replica's log: appended by the sandbox, rotated by copy-and-truncate, read back by `drover logs`.
struct LogFileTests {
    let base: String

    init() throws {
        base = try makeScratchDirectory("drover-logs")
    }

    func append(_ fd: Int32, _ text: String) {
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test(arguments: [
        ("a\nb\nc\n", 2, "b\nc\n"),
        ("a\nb\nc", 2, "b\nc"),
        ("a\nb\nc\n", 5, "a\nb\nc\n"),
        ("", 3, ""),
        ("\n\n", 1, "\n"),
    ])
    func lastLines(bytes: String, count: Int, expected: String) {
        #expect(text(Array(LogFile.lastLines(count, of: Array(bytes.utf8)))) == expected)
    }

    @Test func rotatesBySizeKeepingTheNewestBytesAndTheWritersDescriptor() throws {
        defer { removeTree(base) }
        let log = LogFile(path: base + "/0.log", maxBytes: 8, files: 3)
        let fd = try log.openForAppending()
        defer { closeDescriptor(fd) }
        append(fd, "aaa\n")
        #expect(!log.rotateIfNeeded(), "below the limit")
        append(fd, "bbb\nccc\n")
        #expect(log.rotateIfNeeded())
        #expect(log.size == 0)
        #expect(text(log.tail(lines: nil)) == "bbb\nccc\n", "a rotated file keeps only the newest 8 bytes")
        // The writer's fd (O_APPEND) goes on at the new end.
        append(fd, "ddd\n")
        append(fd, "eee\n")
        #expect(log.rotateIfNeeded(), "at the limit")
        append(fd, "fff\n")
        #expect(text(log.tail(lines: nil)) == "bbb\nccc\nddd\neee\nfff\n")
        #expect(text(log.tail(lines: 2)) == "eee\nfff\n")
        append(fd, "ggg\n")
        #expect(log.rotateIfNeeded())
        #expect(text(log.tail(lines: nil)) == "ddd\neee\nfff\nggg\n", "the oldest file is dropped")
    }

    @Test func readsOnFromAnOffsetAndFromTheStartAfterARotation() throws {
        defer { removeTree(base) }
        let log = LogFile(path: base + "/0.log", maxBytes: 1 << 20, files: 3)
        #expect(log.size == 0)
        #expect(log.read(from: 0).bytes.isEmpty)
        let fd = try log.openForAppending()
        defer { closeDescriptor(fd) }
        append(fd, "hello\n")
        let first = log.read(from: 0)
        #expect(text(first.bytes) == "hello\n" && first.next == 6)
        append(fd, "world\n")
        let second = log.read(from: first.next)
        #expect(text(second.bytes) == "world\n" && second.next == 12)
        #expect(log.read(from: second.next).bytes.isEmpty)
        truncate(log.path, 0)
        append(fd, "new\n")
        let third = log.read(from: second.next)
        #expect(text(third.bytes) == "new\n" && third.next == 4, "shrunk below the offset: from 0")
    }
}
