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

extension InputError {
    /// The most characters of a user's value an error message repeats: a 1 MB value must not
    /// become a 1 MB error line.
    public static let longestEcho = 80

    /// A value as an error message repeats it: control characters escaped (`\n`, `\t`,
    /// `\u{1B}`) so that the message stays one line, and past `longestEcho` characters cut,
    /// with an ellipsis and the whole length: `aaaa… (1048576 characters)`.
    public static func shortened(_ value: some StringProtocol) -> String {
        let (text, length) = cut(value)
        return length.map { "\(text)… (\($0) characters)" } ?? text
    }

    /// `"256Mi"`; `"aaaa…" (1048576 characters)` for a value past `longestEcho` characters.
    public static func quoted(_ value: some StringProtocol) -> String {
        let (text, length) = cut(value)
        return length.map { "\"\(text)…\" (\($0) characters)" } ?? "\"\(text)\""
    }

    /// The value escaped and cut, and its length when it was cut. Characters are Unicode
    /// scalars here, as in column numbers: one grapheme may hold any number of them.
    private static func cut(_ value: some StringProtocol) -> (text: String, length: Int?) {
        var text = ""
        var count = 0
        for scalar in value.unicodeScalars {
            count += 1
            if count > longestEcho { continue }
            switch scalar {
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\0"..."\u{1F}", "\u{7F}"..."\u{9F}", "\u{2028}", "\u{2029}":
                text += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: text.unicodeScalars.append(scalar)
            }
        }
        return (text, count > longestEcho ? count : nil)
    }
}
