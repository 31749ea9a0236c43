import DroverCore
import DroverTestSupport
import DroverWire
import Foundation
import Testing

/// docs/API.md is kept true: every JSON example in it decodes as the type it documents and
/// encodes back to the same document (so it has no field the type lacks, lacks none the type
/// writes, and writes each value in the form droverd and `--json` use).
@Suite struct APIDocTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let document = (try? String(contentsOf: packageRoot.appendingPathComponent("docs/API.md"), encoding: .utf8)) ?? ""

    @Test func everyExampleDecodesAsWhatItDocuments() throws {
        try #require(!Self.document.isEmpty, "docs/API.md at \(Self.packageRoot.path)")
        let examples = APIDocExamples.examples(in: Self.document)
        #expect(APIDocExamples.problems(in: examples) == [])
        // Each documented type has an example, so that the extraction cannot silently miss them.
        let covered = Set(examples.map(\.label))
        #expect(covered == Set(APIDocExamples.types.keys), "examples found for \(covered.sorted())")
        #expect(examples.count >= 25, "\(examples.count) examples")
    }

    /// The control: the same check refuses a broken example of each kind.
    @Test(arguments: [
        // A wrong type.
        (#"`HostStatus`: `{"drained": false}`"#, #"`HostStatus`: `{"drained": "no"}`"#),
        // A field the type lacks (JSONDecoder alone would ignore it).
        (#"`HostStatus`: `{"drained": false}`"#, #"`HostStatus`: `{"drained": false, "draining": true}`"#),
        // A missing field.
        (#""action": "stop", "#, ""),
        // A placeholder.
        (#""evicted": ["web/2"]"#, #""evicted": [..]"#),
        // A duration in Swift's own coding rather than seconds.
        (#""lameduck": {"signal": "SIGTERM", "grace": 10}"#, #""lameduck": {"signal": "SIGTERM", "grace": [0, 10000000000000000000]}"#),
        // A signal by number.
        (#""lameduck": {"signal": "SIGTERM", "grace": 10}"#, #""lameduck": {"signal": 15, "grace": 10}"#),
        // A boolean as a number.
        (#""lastPassed": true}]"#, #""lastPassed": 1}]"#),
        // An error body without its detail.
        (#"`413 {"error": "payload too large", "detail": "the request body exceeds 16 MiB"}`"#, #"`413 {"error": "payload too large"}`"#),
        // An example the check cannot tell the type of.
        (#"`DrainRequest`: `{"grace": "10s"}`"#, #"`DrainBody`: `{"grace": "10s"}`"#),
    ])
    func aBrokenExampleIsFound(original: String, broken: String) throws {
        #expect(Self.document.contains(original), "the doc still has \(original)")
        let examples = APIDocExamples.examples(in: Self.document.replacingOccurrences(of: original, with: broken))
        #expect(!APIDocExamples.problems(in: examples).isEmpty)
    }

    @Test func multiLineSpansReadAsMarkdownShowsThem() {
        let examples = APIDocExamples.examples(in: "`ActionResponse`: `{\"job\": \"web\", \"action\":\n  \"stop\", \"message\": \"job web\n  stopped\"}`")
        #expect(examples.map(\.json) == [#"{"job": "web", "action": "stop", "message": "job web stopped"}"#])
        #expect(APIDocExamples.problems(in: examples) == [])
    }
}

/// The whole `JobStatus` example is what droverd makes of the jobs file shown above it.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct APIDocDaemonTests {
    @Test func theJobStatusExampleIsWhatDroverdShows() throws {
        let document = APIDocTests.document
        let example = try #require(APIDocExamples.examples(in: document).first { $0.label == "JobStatus" })
        let yamlStart = try #require(document.range(of: "```yaml\n", options: .backwards, range: document.startIndex..<example.position))
        let yamlEnd = try #require(document.range(of: "```", range: yamlStart.upperBound..<example.position))
        let yaml = String(document[yamlStart.upperBound..<yamlEnd.lowerBound])
        var documented = try JSONDecoder().decode(JobStatus.self, from: Data(example.json.utf8)).spec

        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let name = daemon.job("web")
        documented.name = name
        let applied = try daemon.apply(yaml.replacingOccurrences(of: "\n  web:\n", with: "\n  \(name):\n"))
        try #require(applied.code == 0, "\(applied.stderr)")
        let inspect = try daemon.drover(["inspect", name, "--json"])
        try #require(inspect.code == 0, "\(inspect.stderr)")
        let shown = try JSONDecoder().decode(JobStatus.self, from: Data(inspect.stdout.utf8))
        #expect(shown.spec == documented)
        #expect(try daemon.drover(["delete", name]).code == 0)
    }
}

/// The JSON examples of docs/API.md and the types they document.
enum APIDocExamples {
    struct Example {
        /// What it documents: a type's name as the doc writes it, or a table's field.
        var label: String
        var json: String
        var line: Int
        var position: String.Index
    }

    /// Decodes `json` as the type and encodes it back.
    typealias Check = @Sendable (Data) throws -> JSONValue

    static func check<T: Codable>(_ type: T.Type) -> Check {
        { data in try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(try JSONDecoder().decode(T.self, from: data))) }
    }

    /// By the name the doc gives each: the nearest preceding one in backquotes; `ErrorBody` for
    /// `{"error": ...}`; a table row's field (`ports`, `spec`) for an example in that row.
    static let types: [String: Check] = [
        "ApplyRequest": check(ApplyRequest.self),
        "ApplyResponse": check(ApplyResponse.self),
        "ScaleRequest": check(ScaleRequest.self),
        "RestartRequest": check(RestartRequest.self),
        "JobStatus": check(JobStatus.self),
        "Event": check(Event.self),
        "NameAnswer": check(NameAnswer.self),
        "EvictRequest": check(EvictRequest.self),
        "DrainRequest": check(DrainRequest.self),
        "EvictResponse": check(EvictResponse.self),
        "HostStatus": check(HostStatus.self),
        "ReplicaStatus.checks": check([CheckStatus].self),
        "ActionResponse": check(ActionResponse.self),
        "ErrorBody": check(ErrorBody.self),
        "ports": check([String: Int].self),
        "spec": check(JobSpec.HealthCheck.Probe.self),
    ]

    /// Names that label an example when they precede it: the types', and any other type the
    /// doc may name between a label and its example, so that the label is not taken from
    /// further up.
    static let labels = Set(types.keys).union(["ReplicaStatus", "ErrorBody", "CheckStatus"]).subtracting(["ports", "spec"])

    /// Fenced ```json blocks, and inline code spans holding a JSON object or array of objects
    /// (after an optional HTTP status: `404 {"error": ...}`). A span's line breaks and the
    /// indentation after them read as one space, as Markdown renders them.
    static func examples(in document: String) -> [Example] {
        var examples: [Example] = []
        var index = document.startIndex
        func line(_ position: String.Index) -> Int { document[..<position].reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }
        while let tick = document[index...].firstIndex(of: "`") {
            if document[tick...].hasPrefix("```") {
                let infoEnd = document[tick...].firstIndex(of: "\n") ?? document.endIndex
                let info = document[document.index(tick, offsetBy: 3)..<infoEnd]
                let close = document.range(of: "\n```", range: infoEnd..<document.endIndex)
                let body = String(document[infoEnd..<(close?.lowerBound ?? document.endIndex)])
                if info == "json" {
                    let json = body.trimmingCharacters(in: .whitespacesAndNewlines)
                    examples.append(Example(label: label(json, at: tick, in: document), json: json, line: line(tick), position: tick))
                }
                index = close?.upperBound ?? document.endIndex
                continue
            }
            let start = document.index(after: tick)
            guard let end = document[start...].firstIndex(of: "`") else { break }
            index = document.index(after: end)
            var text = String(document[start..<end])
            text = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .map { $0.offset == 0 ? String($0.element) : String($0.element.drop { $0 == " " }) }
                .joined(separator: " ")
            if let status = text.firstMatch(of: #/^[1-5][0-9][0-9] /#) { text.removeSubrange(status.range) }
            guard text.hasPrefix("{\"") || text.hasPrefix("[{\"") else { continue }
            examples.append(Example(label: label(text, at: tick, in: document), json: text, line: line(tick), position: tick))
        }
        return examples
    }

    static func label(_ json: String, at position: String.Index, in document: String) -> String {
        if json.hasPrefix("{\"error\"") { return "ErrorBody" }
        let lineStart = document[..<position].lastIndex(of: "\n").map { document.index(after: $0) } ?? document.startIndex
        if document[lineStart...].hasPrefix("| `") {
            let field = document[document.index(lineStart, offsetBy: 3)...].prefix { $0 != "`" }
            return String(field)
        }
        var best: (String.Index, String)?
        for name in labels {
            guard let found = document.range(of: "`\(name)`", options: .backwards, range: document.startIndex..<position) else { continue }
            if best == nil || found.lowerBound > best!.0 { best = (found.lowerBound, name) }
        }
        return best?.1 ?? "(none)"
    }

    /// Each example that is not its type's document exactly, in words.
    static func problems(in examples: [Example]) -> [String] {
        examples.compactMap { example in
            let place = "docs/API.md:\(example.line) (\(example.label))"
            guard let check = types[example.label] else { return "\(place): no type known for \(example.json)" }
            do {
                let written = try JSONDecoder().decode(JSONValue.self, from: Data(example.json.utf8))
                let reencoded = try check(Data(example.json.utf8))
                if written != reencoded {
                    return "\(place): encodes back as \(String(decoding: try JSONEncoder().encode(reencoded), as: UTF8.self)), not \(example.json)"
                }
                return nil
            } catch {
                return "\(place): \(example.json) does not decode: \(error)"
            }
        }
    }
}
