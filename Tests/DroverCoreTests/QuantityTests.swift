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

    @Test func overflow() {
        #expect(throws: InputError("\"99999999999Ti\"", "is too large a size")) { try Quantity.size("99999999999Ti") }
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

    @Test(arguments: ["", "30", "s", "1.5s", "-1s", "10 s", "5d", "ms100", "1m30"])
    func invalid(text: String) {
        #expect(throws: InputError("\"\(text)\"", "is not a duration (expected a number with ms, s, m or h, e.g. 30s or 1m30s)")) {
            try Quantity.duration(text)
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

    @Test(arguments: ["", "lots", "-1", "0m", ".5", "nan", "inf"])
    func invalid(text: String) {
        #expect(throws: InputError("\"\(text)\"", "is not a CPU amount (expected cores such as 0.5 or 2, or millicores such as 250m)")) {
            try Quantity.cpu(text)
        }
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
