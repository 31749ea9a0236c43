/// Parsing of the quantities users write: sizes (`256Mi`), durations (`100ms`), CPU cores
/// (`0.5`). SPEC §1: sizes take Ki/Mi/Gi, durations ms/s/m/h.
public enum Quantity {
    private static let sizeUnits: [(suffix: String, factor: UInt64)] = [
        ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
    ]

    /// Bytes from `512`, `64Ki`, `256Mi`, `2Gi`, `1Ti`. Plain numbers are bytes. At most
    /// `Limits.size` (256Ti).
    public static func size(_ text: String) throws(InputError) -> UInt64 {
        let hint = "is not a size (expected a whole number of bytes or a number with Ki, Mi, Gi or Ti, e.g. 256Mi)"
        var digits = Substring(text)
        var factor: UInt64 = 1
        if let unit = sizeUnits.first(where: { text.hasSuffix($0.suffix) }) {
            digits = digits.dropLast(unit.suffix.count)
            factor = unit.factor
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { throw InputError(quoted(text), hint) }
        // Digits past UInt64 are too large, not malformed.
        let tooLarge = InputError(quoted(text), "is too large a size (at most \(formatSize(Limits.size)))")
        guard let value = UInt64(digits) else { throw tooLarge }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow, bytes <= Limits.size else { throw tooLarge }
        return bytes
    }

    private static let durationUnits: [(suffix: String, nanoseconds: Int64)] = [
        // "ms" before "s" and "m": the longest suffix wins.
        ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// A duration from `100ms`, `30s`, `5m`, `1h`, or a sum of them: `1m30s`; at most
    /// `longest`.
    public static func duration(_ text: String, atMost longest: Duration = Limits.anyDuration) throws(InputError) -> Duration {
        let hint = "is not a duration (expected a number with ms, s, m or h, e.g. 30s or 1m30s)"
        let tooLong = InputError(quoted(text), "is too long a duration (at most \(formatDuration(longest)))")
        var rest = Substring(text)
        var total: Int64 = 0
        var overflow = false
        guard !rest.isEmpty else { throw InputError(quoted(text), hint) }
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCIIDigit)
            rest = rest.dropFirst(digits.count)
            guard !digits.isEmpty, let unit = durationUnits.first(where: { rest.hasPrefix($0.suffix) })
            else { throw InputError(quoted(text), hint) }
            rest = rest.dropFirst(unit.suffix.count)
            // Overflow is remembered, not thrown at once, so that a malformed rest still gets
            // the hint; digits past Int64 overflow too.
            guard !overflow, let value = Int64(digits) else {
                overflow = true
                continue
            }
            let (part, overflow1) = value.multipliedReportingOverflow(by: unit.nanoseconds)
            let (sum, overflow2) = total.addingReportingOverflow(part)
            overflow = overflow1 || overflow2
            total = sum
        }
        guard !overflow, Duration.nanoseconds(total) <= longest else { throw tooLong }
        return .nanoseconds(total)
    }

    /// CPU cores from `0.5`, `2`, `250m` (millicores, as Kubernetes writes them), at most
    /// `Limits.cpuCores`.
    public static func cpu(_ text: String) throws(InputError) -> CPUCores {
        let hint = "is not a CPU amount (expected cores such as 0.5 or 2, or millicores such as 250m)"
        let tooMuch = InputError(quoted(text), "is too much CPU (at most \(Limits.cpuCores) cores)")
        if text.hasSuffix("m") {
            let digits = text.dropLast()
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { throw InputError(quoted(text), hint) }
            guard let milli = Int(digits), milli <= Limits.cpuMillicores else { throw tooMuch }
            guard milli > 0 else { throw InputError(quoted(text), hint) }
            return CPUCores(millicores: milli)
        }
        // Decimal only (`1.5`, `2e3`): Double also reads hexadecimal (`0x1p3`), nan and inf.
        guard text.first?.isASCIIDigit == true, text.allSatisfy({ $0.isASCIIDigit || ".eE+-".contains($0) }),
              let cores = Double(text), !cores.isNaN
        else { throw InputError(quoted(text), hint) }
        // Checked before converting: Int(1e300 * 1000) would trap. Too many digits read as inf.
        guard cores <= Double(Limits.cpuCores) else { throw tooMuch }
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
    let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
    let (milliseconds, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
    // Past Int64 milliseconds (a stored spec no parser would accept) in whole seconds.
    if overflow || overflow2 { return "\(seconds)s" }
    for (unit, size) in [("h", Int64(3_600_000)), ("m", 60000), ("s", 1000)] where milliseconds % size == 0 && milliseconds >= size {
        return "\(milliseconds / size)\(unit)"
    }
    return "\(milliseconds)ms"
}
