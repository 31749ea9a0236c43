/// Hands out host ports for named replica ports (SPEC §9): from a range (default
/// 20000–32000), never one the kernel may pick for outgoing connections
/// (`ip_local_port_range`), never the same port twice while it is held, only after a bind test
/// says nobody else is on it, and freed ports are reused last (round robin), so a port a
/// client still remembers is not handed to somebody else at once.
public struct PortAllocator: Sendable {
    public static let defaultRange = 20000...32000

    public let range: ClosedRange<Int>
    public let ephemeral: ClosedRange<Int>?
    public private(set) var held: Set<Int> = []
    private var cursor: Int

    public init(range: ClosedRange<Int> = defaultRange, ephemeral: ClosedRange<Int>? = nil, start: Int? = nil) throws(InputError) {
        guard range.lowerBound >= 1, range.upperBound <= 65535 else {
            throw InputError("port range \(range.lowerBound)-\(range.upperBound)", "must lie within 1-65535")
        }
        if let ephemeral, ephemeral.lowerBound <= range.lowerBound, ephemeral.upperBound >= range.upperBound {
            throw InputError("port range \(range.lowerBound)-\(range.upperBound)",
                             "lies inside the kernel's ephemeral port range \(ephemeral.lowerBound)-\(ephemeral.upperBound) (net.ipv4.ip_local_port_range); choose ports outside it")
        }
        self.range = range
        self.ephemeral = ephemeral
        let first = start ?? range.lowerBound
        self.cursor = range.contains(first) ? first : range.lowerBound
    }

    /// Allocates the next usable port. `isFree` is the bind test (I/O, supplied by the caller).
    public mutating func allocate(isFree: (Int) -> Bool) throws(PortExhausted) -> Int {
        var busyElsewhere = 0
        for _ in 0..<range.count {
            let candidate = cursor
            cursor = candidate == range.upperBound ? range.lowerBound : candidate + 1
            if held.contains(candidate) || ephemeral?.contains(candidate) == true { continue }
            if !isFree(candidate) { busyElsewhere += 1; continue }
            held.insert(candidate)
            return candidate
        }
        throw PortExhausted(range: range, heldByDrover: held.count, inUseElsewhere: busyElsewhere)
    }

    /// Takes a specific port (a restarted replica asking for its previous one, or re-adoption
    /// after a daemon restart). False if drover already holds it or the bind test fails.
    public mutating func claim(_ port: Int, isFree: (Int) -> Bool) -> Bool {
        guard range.contains(port), !held.contains(port), isFree(port) else { return false }
        held.insert(port)
        return true
    }

    public mutating func release(_ port: Int) {
        held.remove(port)
    }
}

public struct PortExhausted: Error, Equatable, CustomStringConvertible, Sendable {
    public var range: ClosedRange<Int>
    public var heldByDrover: Int
    public var inUseElsewhere: Int

    public init(range: ClosedRange<Int>, heldByDrover: Int, inUseElsewhere: Int) {
        self.range = range
        self.heldByDrover = heldByDrover
        self.inUseElsewhere = inUseElsewhere
    }

    public var description: String {
        "no free port in \(range.lowerBound)-\(range.upperBound): \(heldByDrover) held by drover, \(inUseElsewhere) in use by other programs"
    }
}
