/// Any JSON document as a value, for code that shows or compares documents without knowing
/// their type (`drover inspect`'s text form, the test that checks docs/API.md's examples).
/// Unlike Foundation's JSONSerialization, `true` stays a Bool and never reads as the number 1.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number without a fraction or exponent that fits in an Int64.
    case integer(Int64)
    /// A whole number past Int64.max that fits in a UInt64.
    case unsigned(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before the numbers: a decoder that reads 1 as true must not turn numbers into
        // Bools, nor one that reads true as 1 Bools into numbers.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .unsigned(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Equal documents: objects whatever their key order, numbers by value (`2` is `2.0`).
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.integer(x), .integer(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.unsigned(x), .unsigned(y)): return x == y
        case let (.integer(x), .unsigned(y)), let (.unsigned(y), .integer(x)): return UInt64(exactly: x) == y
        case let (.integer(x), .number(y)), let (.number(y), .integer(x)): return Int64(exactly: y) == x
        case let (.unsigned(x), .number(y)), let (.number(y), .unsigned(x)): return UInt64(exactly: y) == x
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x == y
        default: return false
        }
    }

    /// The value at a dotted path of object keys (`spec.lameduck.grace`); nil where a key is
    /// missing or a value on the way is no object.
    public func at(_ path: String) -> JSONValue? {
        var value = self
        for key in path.split(separator: ".") {
            guard case .object(let fields) = value, let next = fields[String(key)] else { return nil }
            value = next
        }
        return value
    }

    /// A scalar as a person reads it: `true`, `30`, `0.1`, a string without quotes, `null`;
    /// nil for an array or object.
    public var scalarText: String? {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .unsigned(let value): return String(value)
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): return value
        case .array, .object: return nil
        }
    }
}
