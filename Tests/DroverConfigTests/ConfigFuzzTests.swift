import DroverConfig
import DroverCore
import Testing

/// Issue 12, Done-when 2 (the config half): a valid jobs file mutated 400 ways, hostile values
/// included (huge numbers, aliases and merge keys that multiply, deep nesting, bad bytes).
/// The parser never traps or hangs; it accepts, or refuses with messages that name the file
/// and stay short. Deterministic: the mutations come from a fixed seed.
@Suite struct ConfigFuzz {
    /// SplitMix64: the same mutations on every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let valid = """
        m: &m {period: 1s, timeout: 1s}
        jobs:
          web:
            kind: serving
            replicas: 3
            command: ["/usr/bin/python3", "-m", "http.server", "${PORT_HTTP}"]
            env: {GREETING: hello}
            ports: [http]
            resources: {cpu: 0.5, memory: 256Mi, pids: 64}
            restart:
              policy: always
              backoff: {initial: 100ms, max: 60s, multiplier: 2, jitter: 0.1, reset_after: 5m}
            lameduck: {signal: SIGTERM, grace: 30s}
            health:
              ready: {http: /healthz, port: http, period: 1s, timeout: 1s, failures: 3}
            service: {port: 8080}
          crunch:
            kind: batch
            replicas: 4
            command: ["/bin/true", "--shard=${DROVER_REPLICA}"]
        """

    static let hostile = [
        "1e300", "9999999999999999999", "-1", "9223372036854775807", "18446744073709551616", "0x7fffffff",
        "1:0:0:0:0:0", "\"\"", "[]", "{}", "~", "null", "*m", "[*m, *m, *m, *m]", "!!binary aGVsbG8=",
        "\"\\u0000\"", "99999999999Ti", "-5s", "1e-300", "NaN", ".inf", "4294967295", "\"4294967295\"",
        String(repeating: "x", count: 5000), String(repeating: "[", count: 200), "&a [*a]",
    ]

    static func mutate(_ text: String, _ random: inout Seeded) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let line = Int.random(in: 0..<lines.count, using: &random)
        switch Int.random(in: 0..<8, using: &random) {
        case 0: // a value replaced by a hostile one
            if let colon = lines[line].firstIndex(of: ":") {
                lines[line] = String(lines[line][...colon]) + " " + hostile.randomElement(using: &random)!
            }
        case 1: lines.remove(at: line)
        case 2: lines.insert(lines[line], at: line)
        case 3: lines[line] = String(repeating: " ", count: Int.random(in: 0...7, using: &random)) + lines[line].drop { $0 == " " }
        case 4: // a character dropped or doubled
            if !lines[line].isEmpty {
                var characters = Array(lines[line])
                let index = Int.random(in: 0..<characters.count, using: &random)
                if Bool.random(using: &random) { characters.remove(at: index) } else { characters.insert(characters[index], at: index) }
                lines[line] = String(characters)
            }
        case 5: // a key made unknown, or a key from elsewhere
            lines[line] = lines[line].replacingFirst(":", with: "x:")
        case 6: // merge keys that multiply
            lines.insert("    <<: [*m, *m, *m, *m, *m, *m, *m, *m, *m]", at: max(2, line))
        default: // two lines swapped
            let other = Int.random(in: 0..<lines.count, using: &random)
            lines.swapAt(line, other)
        }
        return lines.joined(separator: "\n")
    }

    @Test func mutationsAreAcceptedOrRefusedWithShortMessages() {
        var random = Seeded(state: 12)
        var refused = 0
        for round in 0..<400 {
            var text = Self.valid
            for _ in 0..<Int.random(in: 1...3, using: &random) { text = Self.mutate(text, &random) }
            switch JobsConfig.parse([JobsFile(path: "fuzz.yaml", text: text)]) {
            case .success:
                break
            case .failure(let errors):
                refused += 1
                #expect(!errors.errors.isEmpty, "round \(round): refused without a message")
                for error in errors.errors.map(\.description) {
                    #expect(error.hasPrefix("fuzz.yaml"), "round \(round): names the file: \(error)")
                    #expect(error.count < 700, "round \(round): a message stays short (\(error.count) characters): \(error.prefix(200))")
                    #expect(!error.contains("DecodingError") && !error.contains("Swift."), "round \(round): no Swift internals: \(error)")
                }
            }
        }
        #expect(refused > 100, "most mutations are refused (\(refused) of 400): the mutator does mutate")
    }
}

private extension String {
    func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let index = firstIndex(of: target) else { return self }
        return String(self[..<index]) + replacement + String(self[index...].dropFirst())
    }
}
