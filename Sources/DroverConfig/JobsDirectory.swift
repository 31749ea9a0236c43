import DroverCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
    /// A jobs file from its bytes, as read from disk or received: refused unless it is UTF-8,
    /// naming the first byte that is not (nothing is turned into U+FFFD).
    public init(path: String, bytes: some Collection<UInt8>) throws(JobsFileReadError) {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw JobsFileReadError(path: path, reason: Self.notUTF8(bytes))
        }
        self.init(path: path, text: text)
    }

    /// `is not UTF-8 text: byte 0xFF at offset 1 (line 1, col 2)`: the offset counts bytes from
    /// 0, as `cmp` and hex editors do; line and column are counted as in every other error.
    private static func notUTF8(_ bytes: some Collection<UInt8>) -> String {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        var position = Position(line: 1, column: 1)
        while case .valid(let encoded) = parser.parseScalar(from: &iterator) {
            offset += encoded.count
            if Unicode.UTF8.decode(encoded) == "\n" {
                position.line += 1
                position.column = 1
            } else {
                position.column += 1
            }
        }
        let byte = bytes[bytes.index(bytes.startIndex, offsetBy: offset)]
        let hex = String(byte, radix: 16, uppercase: true)
        return "is not UTF-8 text: byte 0x\(hex.count == 1 ? "0" : "")\(hex) at offset \(offset) (\(position.spoken))"
    }

    /// Reads one jobs file; errors will name it as `path` is written.
    public static func read(path: String) throws(JobsFileReadError) -> JobsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobsFileReadError(path: path, reason: "cannot read the file (missing, unreadable or a directory)")
        }
        return try JobsFile(path: path, bytes: data)
    }

    /// `drover apply FILE|DIR` and `droverd --config DIR`: one file, or a directory's jobs files
    /// by `readDirectory`'s rules, so that the CLI and the daemon read the same files.
    public static func read(fileOrDirectory path: String) throws(JobsFileReadError) -> [JobsFile] {
        try isDirectory(path) ? readDirectory(path) : [read(path: path)]
    }

    /// Every `*.yaml` and `*.yml` file directly in `directory`, sorted by name (`droverd
    /// --config DIR`, `drover apply DIR`). Hidden files (editor backups such as `.web.yaml.swp`
    /// and lock files) and subdirectories are skipped, as with `kubectl apply -f DIR`. Symbolic
    /// links are followed; one that leads nowhere or loops is an error, never skipped, since
    /// the jobs it was meant to hold would be deleted. A directory with no jobs file at all is
    /// an error too (write one with `jobs: {}` to declare no jobs).
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
            if try isDirectory(prefix + name) { continue }
            files.append(try read(path: prefix + name))
        }
        if files.isEmpty {
            throw JobsFileReadError(path: directory, reason: "has no *.yaml or *.yml file (to declare no jobs, write one with jobs: {})")
        }
        return files
    }

    /// Whether `path` is a directory once symbolic links are followed; a link that cannot be
    /// followed is an error naming it and why.
    private static func isDirectory(_ path: String) throws(JobsFileReadError) -> Bool {
        var info = stat()
        if stat(path, &info) == 0 { return (info.st_mode & S_IFMT) == S_IFDIR }
        let error = errno
        var link = stat()
        guard lstat(path, &link) == 0, (link.st_mode & S_IFMT) == S_IFLNK else {
            throw JobsFileReadError(path: path, reason: error == ENOENT ? "no such file or directory" : describe(error))
        }
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { " to \($0)" } ?? ""
        switch error {
        case ENOENT:
            throw JobsFileReadError(path: path, reason: "is a symbolic link\(target), which leads to nothing (ENOENT)")
        case ELOOP:
            throw JobsFileReadError(path: path, reason: "is a symbolic link\(target) that loops (ELOOP)")
        default:
            throw JobsFileReadError(path: path, reason: "is a symbolic link\(target) that cannot be followed (\(describe(error)))")
        }
    }

    private static func describe(_ error: Int32) -> String { String(cString: strerror(error)) }
}

extension JobsConfig {
    /// Every job declared in `directory`'s jobs files: throws `JobsFileReadError` when a file
    /// can't be read, `ConfigErrors` when one is wrong.
    public static func load(directory: String) throws -> [JobSpec] {
        try parse(JobsFile.readDirectory(directory)).get()
    }
}
