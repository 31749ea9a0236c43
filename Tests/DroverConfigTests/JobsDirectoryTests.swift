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
}
