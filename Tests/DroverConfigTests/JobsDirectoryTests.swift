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

    @Test func notUTF8() throws {
        let dir = try directory([:])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data([0x6A, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: "\(dir)/bad.yaml"))
        #expect(throws: JobsFileReadError(path: "\(dir)/bad.yaml", reason: "is not UTF-8 text")) {
            try JobsFile.read(path: "\(dir)/bad.yaml")
        }
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
