/// `${VAR}` in a command's arguments, from the sandbox's environment (SPEC §1); `$$` is a
/// literal `$`. A reference to an unset variable is an error, not an empty string: a typo in
/// `${PORT_HTTP}` must not start a server on a random port.
public enum Expansion {
    public static func expand(_ text: String, environment: [String: String]) throws(InputError) -> String {
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {
                result += "$"
                rest = after.dropFirst()
            } else if after.hasPrefix("{") {
                guard let close = after.firstIndex(of: "}") else {
                    throw InputError(InputError.quoted(text), "has an unclosed ${ (write $$ for a literal $)")
                }
                let name = String(after[after.index(after: after.startIndex)..<close])
                guard let value = environment[name] else {
                    throw InputError(InputError.quoted(text), "refers to ${\(InputError.shortened(name))}, which is not set in the environment")
                }
                result += value
                rest = after[after.index(after: close)...]
            } else {
                result += "$"
                rest = after
            }
        }
        return result + rest
    }
}
