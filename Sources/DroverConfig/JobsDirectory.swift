import DroverCore
import Foundation

/// A jobs file or directory that could not be read.
public struct JobsFileReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

extension JobsFile {
    /// Reads one jobs file; errors will name it as `path` is written.
    public static func read(path: String) throws(JobsFileReadError) -> JobsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobsFileReadError(path: path, reason: "cannot read the file (missing, unreadable or a directory)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw JobsFileReadError(path: path, reason: "is not UTF-8 text")
        }
        return JobsFile(path: path, text: text)
    }

    /// Every `*.yaml` and `*.yml` file directly in `directory`, sorted by name (`droverd
    /// --config DIR`, `drover apply DIR`). Hidden files (editor backups such as `.web.yaml.swp`
    /// and lock files) and subdirectories are skipped, as with `kubectl apply -f DIR`.
    public static func readDirectory(_ directory: String) throws(JobsFileReadError) -> [JobsFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw JobsFileReadError(path: directory, reason: "cannot list the directory (\(error.localizedDescription))")
        }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        var files: [JobsFile] = []
        for name in names.sorted() where !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: prefix + name, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            files.append(try read(path: prefix + name))
        }
        return files
    }
}

extension JobsConfig {
    /// Every job declared in `directory`'s jobs files: throws `JobsFileReadError` when a file
    /// can't be read, `ConfigErrors` when one is wrong.
    public static func load(directory: String) throws -> [JobSpec] {
        try parse(JobsFile.readDirectory(directory)).get()
    }
}
