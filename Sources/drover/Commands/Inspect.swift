import ArgumentParser
import DroverCore
import DroverWire
import Foundation

struct Inspect: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Everything known about a replica (web/2) or a job (web).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2, 2.web or web") var name: String
    @Flag(help: "Print JSON.") var json = false

    func validate() throws { _ = try parseName(name) }

    func execute() async throws {
        let (job, index) = try parseName(name)
        try await call {
            if let index {
                let replica = try await daemon.client.replica(job: job, index: index)
                if json { return try printJSON(replica) }
                try printFields(replica)
            } else {
                let status = try await daemon.client.job(job)
                if json { return try printJSON(status) }
                try printFields(status)
            }
        }
    }

    /// The same fields as --json, as YAML-ish lines for people: keys sorted, `true`/`false`,
    /// numbers as the JSON has them (`grace: 30`, `initial: 0.1`).
    private func printFields<T: Encodable>(_ value: T) throws {
        let document = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        for line in fieldLines(document) { print(line) }
    }
}

/// `document` as indented `key: value` lines, `- item` for array items; an empty array or
/// object as `[]` or `{}` on its key's line.
func fieldLines(_ document: JSONValue, indent: String = "") -> [String] {
    func inline(_ value: JSONValue) -> String? {
        switch value {
        case .array([]): return "[]"
        case .object(let fields) where fields.isEmpty: return "{}"
        default: return value.scalarText
        }
    }
    var lines: [String] = []
    switch document {
    case .object(let fields):
        for key in fields.keys.sorted() {
            let child = fields[key]!
            if let text = inline(child) {
                lines.append("\(indent)\(key): \(text)")
            } else {
                lines.append("\(indent)\(key):")
                lines += fieldLines(child, indent: indent + "  ")
            }
        }
    case .array(let items):
        for item in items {
            if let text = inline(item) {
                lines.append("\(indent)- \(text)")
            } else {
                lines.append("\(indent)-")
                lines += fieldLines(item, indent: indent + "  ")
            }
        }
    default:
        if let text = inline(document) { lines.append(indent + text) }
    }
    return lines
}
