import DroverCore
import Testing

/// How error messages repeat a user's value: whole up to 80 characters, one line always.
@Suite struct EchoedValues {
    @Test(arguments: [
        ("256Mi", "\"256Mi\""),
        (String(repeating: "a", count: 80), "\"\(String(repeating: "a", count: 80))\""),
        (String(repeating: "a", count: 81), "\"\(String(repeating: "a", count: 80))…\" (81 characters)"),
        (String(repeating: "é", count: 1_048_576), "\"\(String(repeating: "é", count: 80))…\" (1048576 characters)"),
        ("a\nb\tc\r\u{1B}\0", "\"a\\nb\\tc\\r\\u{1B}\\u{0}\""),
    ])
    func quoted(value: String, echoed: String) {
        #expect(InputError.quoted(value) == echoed)
    }

    @Test func shortened() {
        #expect(InputError.shortened("PORT_HTTP") == "PORT_HTTP")
        #expect(InputError.shortened(String(repeating: "X", count: 100)) == String(repeating: "X", count: 80) + "… (100 characters)")
    }

    /// One grapheme may hold any number of scalars: they are counted, not the graphemes.
    @Test func combiningMarksAreCounted() {
        let zalgo = "a" + String(repeating: "\u{301}", count: 1000)
        #expect(InputError.quoted(zalgo).unicodeScalars.count < 120)
    }

    /// Every parser in DroverCore quotes what it was given this way.
    @Test func parsersShortenTheValue() {
        let long = String(repeating: "9", count: 1000) + "x"
        let echoed = "\"\(String(repeating: "9", count: 80))…\" (1001 characters)"
        #expect(throws: InputError(echoed, "is not a size (expected a whole number of bytes or a number with Ki, Mi, Gi or Ti, e.g. 256Mi)")) {
            try Quantity.size(long)
        }
        #expect(throws: InputError(echoed, "is not a CPU amount (expected cores such as 0.5 or 2, or millicores such as 250m)")) {
            try Quantity.cpu(long)
        }
        #expect(throws: InputError(echoed, "is not a duration (expected a number with ms, s, m or h, e.g. 30s or 1m30s)")) {
            try Quantity.duration(long)
        }
        #expect(throws: InputError(echoed, "is not a signal (e.g. SIGTERM, SIGINT, SIGUSR1)")) { try Signals.number(long) }
        #expect(throws: InputError(echoed, "is not a Linux capability (e.g. NET_BIND_SERVICE, SYS_PTRACE; see capabilities(7))")) {
            try Capability.named(long)
        }
        let name = String(repeating: "V", count: 200)
        #expect(throws: InputError("\"${\(String(repeating: "V", count: 78))…\" (203 characters)",
                                   "refers to ${\(String(repeating: "V", count: 80))… (200 characters)}, which is not set in the environment")) {
            try Expansion.expand("${\(name)}", environment: [:])
        }
    }
}
