/// Parsing of the quantities users write: sizes (`256Mi`), durations (`100ms`), CPU cores
/// (`0.5`). SPEC §1: sizes take Ki/Mi/Gi, durations ms/s/m/h.
public enum Quantity {
    private static let sizeUnits: [(suffix: String, factor: UInt64)] = [
        ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
    ]

    /// Bytes from `512`, `64Ki`, `256Mi`, `2Gi`, `1Ti`. Plain numbers are bytes.
    public static func size(_ text: String) throws(InputError) -> UInt64 {
        let hint = "is not a size (expected a whole number of bytes or a number with Ki, Mi, Gi or Ti, e.g. 256Mi)"
        var digits = Substring(text)
        var factor: UInt64 = 1
        if let unit = sizeUnits.first(where: { text.hasSuffix($0.suffix) }) {
            digits = digits.dropLast(unit.suffix.count)
            factor = unit.factor
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = UInt64(digits) else {
            throw InputError(quoted(text), hint)
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
        if overflow { throw InputError(quoted(text), "is too large a size") }
        return bytes
    }

    private static let durationUnits: [(suffix: String, nanoseconds: Int64)] = [
        // "ms" before "s" and "m": the longest suffix wins.
        ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// A duration from `100ms`, `30s`, `5m`, `1h`, or a sum of them: `1m30s`.
    public static func duration(_ text: String) throws(InputError) -> Duration {
        let hint = "is not a duration (expected a number with ms, s, m or h, e.g. 30s or 1m30s)"
        var rest = Substring(text)
        var total: Int64 = 0
        guard !rest.isEmpty else { throw InputError(quoted(text), hint) }
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCIIDigit)
            rest = rest.dropFirst(digits.count)
            guard let value = Int64(digits),
                  let unit = durationUnits.first(where: { rest.hasPrefix($0.suffix) })
            else { throw InputError(quoted(text), hint) }
            rest = rest.dropFirst(unit.suffix.count)
            let (part, overflow) = value.multipliedReportingOverflow(by: unit.nanoseconds)
            let (sum, overflow2) = total.addingReportingOverflow(part)
            if overflow || overflow2 { throw InputError(quoted(text), "is too long a duration") }
            total = sum
        }
        return .nanoseconds(total)
    }

    /// CPU cores from `0.5`, `2`, `250m` (millicores, as Kubernetes writes them).
    public static func cpu(_ text: String) throws(InputError) -> CPUCores {
        let hint = "is not a CPU amount (expected cores such as 0.5 or 2, or millicores such as 250m)"
        if text.hasSuffix("m") {
            guard let milli = Int(text.dropLast()), milli > 0 else { throw InputError(quoted(text), hint) }
            return CPUCores(millicores: milli)
        }
        guard text.first?.isASCIIDigit == true, let cores = Double(text), cores.isFinite else {
            throw InputError(quoted(text), hint)
        }
        let milli = Int((cores * 1000).rounded())
        guard milli > 0 else { throw InputError(quoted(text), "is less than the smallest CPU amount, 0.001 cores") }
        return CPUCores(millicores: milli)
    }

    static func quoted(_ text: String) -> String { InputError.quoted(text) }
}

/// CPU in thousandths of a core, the resolution both Kubernetes and cgroup cpu.max offer.
public struct CPUCores: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var millicores: Int
    public init(millicores: Int) { self.millicores = millicores }

    /// `cpu.max`: quota and period in microseconds.
    public func cpuMax(periodMicroseconds: Int = 100_000) -> String {
        "\(millicores * periodMicroseconds / 1000) \(periodMicroseconds)"
    }

    public var description: String {
        millicores % 1000 == 0 ? "\(millicores / 1000)" : "\(Double(millicores) / 1000)"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Human rendering of sizes: 268435456 → "256Mi".
public func formatSize(_ bytes: UInt64) -> String {
    for (suffix, factor) in [("Ti", UInt64(1) << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)]
    where bytes >= factor && bytes % factor == 0 {
        return "\(bytes / factor)\(suffix)"
    }
    return "\(bytes)"
}

/// Human rendering of durations, the way users write them: 1500ms → "1500ms", 30s → "30s",
/// 5m → "5m" (the largest unit that divides it, milliseconds at least).
public func formatDuration(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
    for (unit, size) in [("h", Int64(3_600_000)), ("m", 60000), ("s", 1000)] where milliseconds % size == 0 && milliseconds >= size {
        return "\(milliseconds / size)\(unit)"
    }
    return "\(milliseconds)ms"
}
