/// One source of YAML documents: a file's name as the user should see it in errors, and its
/// text. The caller reads files (or receives them over the API); parsing needs no I/O.
public struct JobsFile: Equatable, Sendable {
    public var path: String
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// One thing wrong in a jobs file, said where it is: the file, the line and column (both from
/// 1; columns count Unicode scalars, as libyaml does) and the key path
/// (`jobs.web.resources.memory`, `jobs.web.command[3]`; empty for whole-document problems such
/// as a YAML syntax error).
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    /// `web.yaml: jobs.web.resources.memory: "lots" is not a size (...) (line 9, col 15)`.
    public var description: String {
        let subject = keyPath.isEmpty ? "" : "\(keyPath): "
        return "\(file): \(subject)\(message) (line \(line), col \(column))"
    }
}

/// Every error found in a set of jobs files, in file order, then by line and column.
public struct ConfigErrors: Error, Equatable, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(errors: [ConfigError]) { self.errors = errors }

    /// One error per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
