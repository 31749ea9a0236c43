import DroverCore
import DroverWire
import Foundation
import Hummingbird

/// What routes read from a request (bodies, names in the path, durations), each refused with
/// a 400 that says what was wrong, never a Swift `DecodingError` dump.
enum RequestParsing {
    static func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch {
            throw APIError(.badRequest, ErrorBody(error: "malformed request", detail: "the body is not a valid \(T.self) JSON document: \(describeDecoding(error))"))
        }
    }

    /// `grace` of an evict or a drain: `30s`.
    static func grace(_ text: String?) throws -> Duration? {
        try text.map { text throws -> Duration in
            do { return try Quantity.duration(text) } catch {
                throw APIError(.badRequest, ErrorBody(error: "bad grace", detail: "grace \(error)"))
            }
        }
    }

    /// The `{job}/{index}` of a replica's route.
    static func replicaKey(_ context: DroverRequestContext) throws -> Supervisor.Key {
        let job = try context.parameters.require("job")
        let indexText = try context.parameters.require("index")
        guard let index = Int(indexText), index >= 0 else {
            throw APIError(.badRequest, ErrorBody(error: "bad replica name", detail: "\"\(job)/\(indexText)\": the index must be a number"))
        }
        return Supervisor.Key(job: job, index: index)
    }

    /// `web/2`, `2.web` or `web`.
    static func replicaName(_ text: String) throws -> (job: String, index: Int?) {
        guard let name = ReplicaName.parse(text) else {
            throw APIError(.badRequest, ErrorBody(error: "bad replica name", detail: "\"\(text)\": \(ReplicaName.expected)"))
        }
        return (name.job, name.index)
    }

    private static func describeDecoding(_ error: Error) -> String {
        func path(_ context: DecodingError.Context) -> String { context.codingPath.map(\.stringValue).joined(separator: ".") }
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: return "missing field \"\(key.stringValue)\""
        case .typeMismatch(let type, let context)?, .valueNotFound(let type, let context)?:
            if context.codingPath.isEmpty { return "expected a JSON object at the top level" }
            return "field \"\(path(context))\": expected \(jsonTypeName(type))"
        case .dataCorrupted(let context)?:
            return context.codingPath.isEmpty ? "not JSON" : "field \"\(path(context))\": invalid value"
        default: return "unreadable"
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is Double.Type, is UInt64.Type: return "a number"
        default: return "\(type)".hasPrefix("Array") ? "a JSON array" : "a JSON object"
        }
    }
}
