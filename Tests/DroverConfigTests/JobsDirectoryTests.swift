import DroverConfig
import DroverCore
import Foundation
import Testing

/// `droverd --config DIR` and `drover apply DIR`: which files are read, and how they are named
/// in errors.
@Suite struct JobsDirectory {
    /// A fresh directory with these files (name → text; a name ending in / is a directory).
    private func directory(_ files: [String: String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("drover-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files {
            if name.hasSuffix("/") {
                try FileManager.default.createDirectory(atPath: "\(path)/\(name)", withIntermediateDirectories: true)
            } else {
                try Data(text.utf8).write(to: URL(fileURLWithPath: "\(path)/\(name)"))
            }
        }
        return path
    }

    @Test func readsYamlFilesByName() throws {
        let dir = try directory([
            "b.yml": "jobs:\n  b:\n    command: [b]\n",
            "a.yaml": "jobs:\n  a:\n    command: [a]\n",
            ".a.yaml.swp": "not yaml: [",
            "notes.txt": "not yaml: [",
            "old.yaml.bak": "not yaml: [",
            "sub.yaml/": "",
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try JobsFile.readDirectory(dir).map(\.path) == ["\(dir)/a.yaml", "\(dir)/b.yml"])
        #expect(try JobsFile.readDirectory(dir + "/").map(\.path) == ["\(dir)/a.yaml", "\(dir)/b.yml"])
        #expect(try JobsConfig.load(directory: dir).map(\.name) == ["a", "b"])
    }

    @Test func errorsNameTheFileAsFound() throws {
        let dir = try directory(["web.yaml": "jobs:\n  web:\n    command: [x]\n    replicas: many\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: ConfigErrors(errors: [
            ConfigError(file: "\(dir)/web.yaml", line: 4, column: 15, keyPath: "jobs.web.replicas",
                        message: "expected a whole number, got \"many\""),
        ])) {
            try JobsConfig.load(directory: dir)
        }
    }

    @Test func missingDirectory() {
        #expect(throws: JobsFileReadError.self) { try JobsFile.readDirectory("/nonexistent/drover-jobs") }
    }

    /// Invalid UTF-8 names the first bad byte, read from a directory, a file or memory alike
    /// (`drover apply` turned it into U+FFFD where `--config` refused it).
    @Test(arguments: [
        ([0x6A, 0xFF, 0xFE, 0x0A] as [UInt8], "byte 0xFF at offset 1 (line 1, col 2)"),
        (Array("jobs:\n  wéb:\n".utf8) + [0xC3], "byte 0xC3 at offset 14 (line 3, col 1)"),
        (Array("# é\n".utf8) + [0xE2, 0x28, 0xA1], "byte 0xE2 at offset 5 (line 2, col 1)"),
        ([0x0A, 0x0A, 0x20, 0xED, 0xA0, 0x80], "byte 0xED at offset 3 (line 3, col 2)"),
        ([0x01, 0x80], "byte 0x80 at offset 1 (line 1, col 2)"),
    ])
    func notUTF8(bytes: [UInt8], place: String) throws {
        let dir = try directory([:])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/bad.yaml"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let refused = JobsFileReadError(path: path, reason: "is not UTF-8 text: \(place)")
        #expect(throws: refused) { try JobsFile.read(path: path) }
        #expect(throws: refused) { try JobsFile.readDirectory(dir) }
        #expect(throws: refused) { try JobsFile.read(fileOrDirectory: dir) }
        #expect(throws: refused) { try JobsFile(path: path, bytes: bytes) }
        #expect(throws: refused) { try JobsFile(path: path, bytes: Data(bytes)) }
    }

    @Test func validUTF8FromMemory() throws {
        #expect(try JobsFile(path: "web.yaml", bytes: Array("jobs: {}\n".utf8)) == JobsFile(path: "web.yaml", text: "jobs: {}\n"))
    }

    /// A `*.yaml` link that leads nowhere or loops is an error naming it: droverd skipped it and
    /// started without its jobs, which deleted them.
    @Test func danglingSymlinkIsAnError() throws {
        let dir = try directory(["a.yaml": "jobs:\n  a:\n    command: [a]\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/web.yaml", withDestinationPath: "/nonexistent/web.yaml")
        let refused = JobsFileReadError(path: "\(dir)/web.yaml",
                                        reason: "is a symbolic link to /nonexistent/web.yaml, which leads to nothing (ENOENT)")
        #expect(throws: refused) { try JobsFile.readDirectory(dir) }
        #expect(throws: refused) { try JobsConfig.load(directory: dir) }
        #expect(throws: refused) { try JobsFile.read(fileOrDirectory: "\(dir)/web.yaml") }
    }

    @Test func loopingSymlinkIsAnError() throws {
        let dir = try directory(["a.yaml": "jobs:\n  a:\n    command: [a]\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/loop.yaml", withDestinationPath: "loop.yml")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/loop.yml", withDestinationPath: "loop.yaml")
        #expect(throws: JobsFileReadError(path: "\(dir)/loop.yaml", reason: "is a symbolic link to loop.yml that loops (ELOOP)")) {
            try JobsFile.readDirectory(dir)
        }
    }

    /// Links that lead somewhere are followed: to a file it is read (under the link's name), to
    /// a directory it is skipped as subdirectories are.
    @Test func symlinksAreFollowed() throws {
        let dir = try directory(["real/": ""])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("jobs:\n  web:\n    command: [x]\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/real/web.txt"))
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/web.yaml", withDestinationPath: "real/web.txt")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/sub.yaml", withDestinationPath: "real")
        #expect(try JobsFile.readDirectory(dir).map(\.path) == ["\(dir)/web.yaml"])
        #expect(try JobsConfig.load(directory: dir).map(\.name) == ["web"])
    }

    /// Nothing to read is not "no jobs": droverd would delete every job.
    @Test func directoryWithoutJobsFilesIsAnError() throws {
        let dir = try directory(["notes.txt": "", ".hidden.yaml": "jobs: {}\n", "sub.yaml/": ""])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: JobsFileReadError(path: dir, reason: "has no *.yaml or *.yml file (to declare no jobs, write one with jobs: {})")) {
            try JobsFile.readDirectory(dir)
        }
    }

    @Test func fileOrDirectory() throws {
        let dir = try directory(["a.yaml": "jobs: {}\n", "b.yml": "jobs: {}\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try JobsFile.read(fileOrDirectory: dir).map(\.path) == ["\(dir)/a.yaml", "\(dir)/b.yml"])
        #expect(try JobsFile.read(fileOrDirectory: "\(dir)/b.yml").map(\.path) == ["\(dir)/b.yml"])
        #expect(throws: JobsFileReadError(path: "\(dir)/c.yaml", reason: "no such file or directory")) {
            try JobsFile.read(fileOrDirectory: "\(dir)/c.yaml")
        }
    }
}
