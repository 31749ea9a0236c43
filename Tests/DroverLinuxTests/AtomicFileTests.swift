import DroverLinux
import DroverTestSupport
import Glibc
import Testing

/// Files others poll (lameduck notices, names files) are replaced whole, with exactly their mode.
struct AtomicFileTests {
    let base: String

    init() throws {
        base = try makeScratchDirectory("drover-atomic")
    }

    func contents(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        while case let c = fgetc(file), c != EOF { bytes.append(UInt8(c)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func mode(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    @Test func writesThenReplacesWithExactlyTheModeAndLeavesNoTemporary() throws {
        defer { removeTree(base) }
        let path = base + "/names"
        try writeFileAtomically(atPath: path, contents: Array("127.0.0.1:8080\n".utf8), mode: 0o644)
        #expect(contents(path) == "127.0.0.1:8080\n")
        #expect(mode(path) == 0o644)
        // Group-writable: more than any usual umask lets through.
        try writeFileAtomically(atPath: path, contents: Array("a\nb\n".utf8), mode: 0o664)
        #expect(contents(path) == "a\nb\n")
        #expect(mode(path) == 0o664, "not narrowed by the umask")
        try writeFileAtomically(atPath: path, contents: [], mode: 0o600)
        #expect(contents(path) == "")
        #expect(mode(path) == 0o600)
        #expect(mode(path + ".new") == nil, "the temporary is renamed away")
    }

    @Test func aLinkAtTheTemporaryIsRefusedNotWrittenThrough() throws {
        defer { removeTree(base) }
        let victim = base + "/victim"
        try writeFileAtomically(atPath: victim, contents: Array("keep\n".utf8), mode: 0o600)
        symlink(victim, base + "/notice.new")
        #expect(throws: SystemError.self) {
            try writeFileAtomically(atPath: base + "/notice", contents: Array("evil\n".utf8), mode: 0o644)
        }
        #expect(contents(victim) == "keep\n")
        #expect(mode(victim) == 0o600)
        #expect(contents(base + "/notice") == nil)
    }

    @Test func aMissingDirectoryIsAnErrorNamingThePath() {
        defer { removeTree(base) }
        let path = base + "/missing/names"
        #expect(throws: SystemError("open", path + ".new", errno: ENOENT)) {
            try writeFileAtomically(atPath: path, contents: Array("x".utf8), mode: 0o644)
        }
    }

    @Test func removeFileTakesAFileAndCountsNothingThereAsDone() throws {
        defer { removeTree(base) }
        let path = base + "/socket"
        try writeFileAtomically(atPath: path, contents: [], mode: 0o600)
        try removeFile(atPath: path)
        #expect(mode(path) == nil)
        try removeFile(atPath: path)
        #expect(throws: SystemError.self) { try removeFile(atPath: base) } // a directory: EISDIR
    }
}
