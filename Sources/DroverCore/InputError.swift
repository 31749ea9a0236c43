/// Bad user input: a flag, a config value, an API field. `subject` names what was wrong
/// (`--memory`, `jobs.web.resources.memory`), `message` says why, in words a user can act on.
public struct InputError: Error, Equatable, CustomStringConvertible, Sendable {
    public var subject: String
    public var message: String

    public init(_ subject: String, _ message: String) {
        self.subject = subject
        self.message = message
    }

    public var description: String { "\(subject): \(message)" }

    /// The same error about another subject (a parser reports the value, the caller knows
    /// which flag or key it came from).
    public func about(_ subject: String) -> InputError { InputError(subject, message) }
}
