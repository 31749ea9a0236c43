import DroverCore
import Foundation
import Testing

/// The JSON value `drover inspect` prints and the docs/API.md test compares.
@Suite struct JSONValues {
    static func value(_ text: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    @Test(arguments: [
        ("true", JSONValue.bool(true)), ("false", .bool(false)), ("1", .integer(1)), ("0", .integer(0)),
        ("-7", .integer(-7)), ("0.1", .number(0.1)), ("1e3", .integer(1000)), ("18446744073709551615", .unsigned(.max)),
        ("null", .null), ("\"1\"", .string("1")), ("[true, 1]", .array([.bool(true), .integer(1)])),
        ("{\"b\": 1, \"a\": true}", .object(["a": .bool(true), "b": .integer(1)])),
    ])
    func decodes(text: String, value: JSONValue) throws {
        #expect(try Self.value(text) == value)
    }

    /// The reason for this type: JSONSerialization reads `true` as 1 (`lastPassed: 1`).
    @Test func boolsAreNeverNumbers() throws {
        #expect(try Self.value("true") != .integer(1))
        #expect(try Self.value("1") != .bool(true))
        #expect(try Self.value("0") != .bool(false))
        #expect(try Self.value("[true]") != Self.value("[1]"))
    }

    @Test(arguments: [
        ("true", "true"), ("false", "false"), ("30", "30"), ("0.1", "0.1"), ("86399.999", "86399.999"), ("2.0", "2"),
        ("-1.5", "-1.5"), ("\"web/2\"", "web/2"), ("null", "null"), ("18446744073709551615", "18446744073709551615"),
    ])
    func scalarText(text: String, shown: String) throws {
        #expect(try Self.value(text).scalarText == shown)
    }

    @Test func containersHaveNoScalarText() throws {
        #expect(try Self.value("[]").scalarText == nil)
        #expect(try Self.value("{}").scalarText == nil)
    }

    /// Numbers compare by value, objects whatever their key order; nothing else is equal.
    @Test func equality() throws {
        #expect(try Self.value("2") == Self.value("2.0"))
        #expect(try Self.value("{\"a\": 1, \"b\": 2}") == Self.value("{\"b\": 2, \"a\": 1}"))
        #expect(try Self.value("2") != Self.value("2.5"))
        #expect(try Self.value("\"2\"") != Self.value("2"))
        #expect(try Self.value("{\"a\": 1}") != Self.value("{\"a\": 1, \"b\": null}"))
        #expect(try Self.value("18446744073709551615") != Self.value("9223372036854775807"))
    }

    /// Encoding gives back the same document.
    @Test func roundTrip() throws {
        let text = "{\"a\": [true, false, null, 1, -2, 0.25, 18446744073709551615, \"x\"], \"b\": {}}"
        let value = try Self.value(text)
        #expect(try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value)) == value)
    }
}

extension JSONValues {
    @Test func valueAtAPath() throws {
        let document = try Self.value("{\"spec\": {\"lameduck\": {\"grace\": 30}, \"ports\": [\"http\"]}}")
        #expect(document.at("spec.lameduck.grace") == .integer(30))
        #expect(document.at("spec.ports") == .array([.string("http")]))
        #expect(document.at("spec.lameduck.signal") == nil)
        #expect(document.at("spec.ports.0") == nil, "no index into arrays")
    }
}
