/// JobSpec's JSON forms (docs/API.md): durations as seconds (a JSON number: `30`, `0.1`),
/// signals by name (`"SIGTERM"`). Decoding also takes what droverd stored before these forms
/// existed, Swift's own `Duration` coding (`[high, low]`: the attoseconds as two 64-bit
/// halves) and signal numbers, and gives exactly the spec that was stored: an apply compares
/// specs for equality, and a spurious difference would roll every replica.

/// A duration coded as seconds, in whole nanoseconds: what drover's parsers make (whole
/// milliseconds, at most `Limits.jobDuration` in a spec) comes back exactly.
struct SecondsCoded: Codable {
    var value: Duration

    init(_ value: Duration) { self.value = value }

    /// The shortest decimal text of the seconds (`30`, `0.1`, `86399.999`), from integers so
    /// that no binary rounding shows in it.
    static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        // Both components carry the sign (truncating division): work on magnitudes.
        var whole = seconds.magnitude
        var nanoseconds = (attoseconds.magnitude + 500_000_000) / 1_000_000_000
        if nanoseconds == 1_000_000_000 {
            whole += 1
            nanoseconds = 0
        }
        var text = duration < .zero ? "-\(whole)" : "\(whole)"
        if nanoseconds != 0 {
            var fraction = String(nanoseconds)
            fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        let text = Self.text(value)
        // A whole number of seconds is written as an integer (`30`, not `30.0`).
        if let whole = Int64(text) {
            try container.encode(whole)
        } else {
            try container.encode(Double(text)!)
        }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let seconds = try? container.decode(Double.self) else {
            // As stored before durations were written as seconds.
            value = try Duration(from: decoder)
            return
        }
        let nanoseconds = (seconds * 1e9).rounded()
        // Past about 292 years Int64 nanoseconds overflow: refused (a hand-edited store),
        // not trapped on.
        guard nanoseconds.isFinite, abs(nanoseconds) <= 9.2e18 else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(seconds) seconds is not a duration drover can hold")
        }
        value = .nanoseconds(Int64(nanoseconds))
    }
}

/// A signal number coded by name: `"SIGTERM"`.
struct SignalCoded: Codable {
    var value: Int32

    init(_ value: Int32) { self.value = value }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        // A signal without a name (a real-time one, 34 to 64) stays a number.
        if let entry = Signals.table.first(where: { $0.1 == value }) {
            try container.encode(entry.0)
        } else {
            try container.encode(value)
        }
    }

    /// Any form `Signals.number` reads, or a number (as stored before).
    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int32.self) {
            value = number
            return
        }
        let text = try container.decode(String.self)
        do {
            value = try Signals.number(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }
}

extension KeyedDecodingContainer {
    func decodeSeconds(forKey key: Key) throws -> Duration { try decode(SecondsCoded.self, forKey: key).value }
}

extension KeyedEncodingContainer {
    mutating func encodeSeconds(_ duration: Duration, forKey key: Key) throws {
        try encode(SecondsCoded(duration), forKey: key)
    }
}
