/// What one probe found: whether the check passed, and what to show for it in
/// `drover inspect` (`HTTP 200`, `HTTP 503`, `connect: connection refused`,
/// `timeout after 1s`). The daemon hands both to DroverCore's `HealthTracker`.
public struct ProbeResult: Sendable, Equatable, CustomStringConvertible {
    public var passed: Bool
    public var message: String

    public init(passed: Bool, message: String) {
        self.passed = passed
        self.message = message
    }

    static func failed(_ message: String) -> ProbeResult { ProbeResult(passed: false, message: message) }

    public var description: String { "\(passed ? "passed" : "failed"): \(message)" }
}
