import DroverCore
import Testing

@Suite struct SizeParsing {
    @Test(arguments: [
        ("0", UInt64(0)), ("512", 512), ("64Ki", 65536), ("256Mi", 268_435_456), ("2Gi", 2_147_483_648),
        ("1Ti", 1_099_511_627_776),
    ])
    func valid(text: String, bytes: UInt64) throws {
        #expect(try Quantity.size(text) == bytes)
    }

    @Test(arguments: ["lots", "", "Mi", "-1", "1.5Gi", "256M", "256mi", " 1Gi", "1 Gi", "0x10"])
    func invalid(text: String) {
        #expect(throws: InputError("\"\(text)\"", "is not a size (expected a whole number of bytes or a number with Ki, Mi, Gi or Ti, e.g. 256Mi)")) {
            try Quantity.size(text)
        }
    }

    /// At most `Limits.size` (256Ti): 2^63 bytes crashed admission's Int64 arithmetic.
    @Test(arguments: ["99999999999Ti", "9223372036854775808", "18446744073709551616", "99999999999999999999999",
                      "257Ti", "262145Gi", "281474976710657"])
    func tooLarge(text: String) {
        #expect(throws: InputError("\"\(text)\"", "is too large a size (at most 256Ti)")) { try Quantity.size(text) }
    }

    @Test func largestAccepted() throws {
        #expect(try Quantity.size("256Ti") == Limits.size)
        #expect(try Quantity.size("281474976710656") == 1 << 48)
    }

    @Test(arguments: [(UInt64(268_435_456), "256Mi"), (1024, "1Ki"), (1000, "1000"), (3 << 30, "3Gi")])
    func formatting(bytes: UInt64, text: String) {
        #expect(formatSize(bytes) == text)
    }
}

@Suite struct DurationParsing {
    @Test(arguments: [
        ("100ms", Duration.milliseconds(100)), ("30s", .seconds(30)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
        ("1m30s", .seconds(90)), ("0s", .zero), ("1h1ms", .milliseconds(3_600_001)),
    ])
    func valid(text: String, duration: Duration) throws {
        #expect(try Quantity.duration(text) == duration)
    }

    @Test(arguments: ["", "30", "s", "1.5s", "-1s", "10 s", "5d", "ms100", "1m30", "99999999999999999999", "9999999999h1x"])
    func invalid(text: String) {
        #expect(throws: InputError("\"\(text)\"", "is not a duration (expected a number with ms, s, m or h, e.g. 30s or 1m30s)")) {
            try Quantity.duration(text)
        }
    }
}

extension DurationParsing {
    /// `grace: 9999999999h` and digits past Int64 are too long, with the limit, not malformed.
    @Test(arguments: ["9999999999h", "99999999999999999999s", "10001h", "10000h1ms", "2562047h47m16s854ms"])
    func tooLongByDefault(text: String) {
        #expect(throws: InputError("\"\(text)\"", "is too long a duration (at most 10000h)")) { try Quantity.duration(text) }
    }

    @Test func longestByDefault() throws {
        #expect(try Quantity.duration("10000h") == Limits.anyDuration)
    }

    /// A caller's own limit (a jobs file's durations: `Limits.jobDuration`).
    @Test func callersLimit() throws {
        #expect(try Quantity.duration("24h", atMost: Limits.jobDuration) == .seconds(86400))
        #expect(throws: InputError("\"24h1ms\"", "is too long a duration (at most 24h)")) {
            try Quantity.duration("24h1ms", atMost: Limits.jobDuration)
        }
    }
}

@Suite struct CPUParsing {
    @Test(arguments: [("0.5", 500, "50000 100000"), ("2", 2000, "200000 100000"), ("250m", 250, "25000 100000"), ("0.001", 1, "100 100000")])
    func valid(text: String, millicores: Int, cpuMax: String) throws {
        let cpu = try Quantity.cpu(text)
        #expect(cpu.millicores == millicores)
        #expect(cpu.cpuMax() == cpuMax)
    }

    @Test(arguments: ["", "lots", "-1", "0m", ".5", "nan", "inf", "NaN", "1nan", "0x10", "0x1p3", "-0.5", "+1", "1.5m", "-5m", "m"])
    func invalid(text: String) {
        #expect(throws: InputError("\"\(text)\"", "is not a CPU amount (expected cores such as 0.5 or 2, or millicores such as 250m)")) {
            try Quantity.cpu(text)
        }
    }

    /// At most `Limits.cpuCores`: `1e300` and `9999999999999999999` trapped converting to
    /// millicores (`drover run --cpu`, `droverd --capacity`, `resources.cpu`).
    @Test(arguments: ["1e300", "9999999999999999999", "1e400", "99999999999999999999999999999999999999m", "8193",
                      "8192.001", "8192001m"])
    func tooMuch(text: String) {
        #expect(throws: InputError("\"\(text)\"", "is too much CPU (at most 8192 cores)")) { try Quantity.cpu(text) }
    }

    @Test(arguments: [("8192", 8_192_000), ("8192000m", 8_192_000), ("1e3", 1_000_000), ("2.5e-1", 250)])
    func largeAndScientific(text: String, millicores: Int) throws {
        #expect(try Quantity.cpu(text).millicores == millicores)
    }

    @Test func tooSmall() {
        #expect(throws: InputError("\"0.0001\"", "is less than the smallest CPU amount, 0.001 cores")) { try Quantity.cpu("0.0001") }
    }
}

@Suite struct ExpansionRules {
    let environment = ["PORT_HTTP": "20001", "DROVER_REPLICA": "2"]

    @Test(arguments: [
        ("${PORT_HTTP}", "20001"), ("--shard=${DROVER_REPLICA}", "--shard=2"), ("$$HOME", "$HOME"),
        ("plain", "plain"), ("a$b", "a$b"), ("${PORT_HTTP}:${DROVER_REPLICA}", "20001:2"),
    ])
    func expands(text: String, expected: String) throws {
        #expect(try Expansion.expand(text, environment: environment) == expected)
    }

    @Test func unsetVariableIsAnError() {
        #expect(throws: InputError("\"${PORT_HTTPS}\"", "refers to ${PORT_HTTPS}, which is not set in the environment")) {
            try Expansion.expand("${PORT_HTTPS}", environment: environment)
        }
    }

    @Test func unclosedReferenceIsAnError() {
        #expect(throws: InputError("\"${PORT\"", "has an unclosed ${ (write $$ for a literal $)")) {
            try Expansion.expand("${PORT", environment: environment)
        }
    }
}

@Suite struct UserSpecParsing {
    @Test(arguments: [
        ("nobody", UserSpec.name("nobody")), ("1000", .id(uid: 1000, gid: nil)), ("1000:100", .id(uid: 1000, gid: 100)),
        ("www-data", .name("www-data")), ("0", .id(uid: 0, gid: nil)),
    ])
    func valid(text: String, user: UserSpec) throws {
        #expect(try UserSpec.parse(text) == user)
    }

    @Test(arguments: ["", ":1", "1000:", "1000:abc", "a:b", "bad user", "1:2:3"])
    func invalid(text: String) {
        #expect(throws: InputError.self) { try UserSpec.parse(text) }
    }
}

@Suite struct SignalNames {
    @Test(arguments: [("SIGTERM", Int32(15)), ("TERM", 15), ("usr1", 10), ("9", 9), ("SIGINT", 2)])
    func valid(text: String, number: Int32) throws {
        #expect(try Signals.number(text) == number)
        #expect(Signals.name(number).hasPrefix("SIG"))
    }

    @Test(arguments: ["SIGFOO", "", "0", "65", "TERMINATE"])
    func invalid(text: String) {
        #expect(throws: InputError.self) { try Signals.number(text) }
    }
}
