import DroverCore
internal import Yams

/// Reads typed values out of one file's YAML nodes and collects every error with its position
/// and key path. Each accessor returns nil after reporting what was wrong, so a decoder goes on
/// to the next field and one run finds all the errors.
final class ConfigReader {
    let file: String
    let positions: PositionMap
    private(set) var errors: [ConfigError] = []

    init(file: String, positions: PositionMap) {
        self.file = file
        self.positions = positions
    }

    func report(_ path: KeyPath, at position: Position, _ message: String) {
        errors.append(ConfigError(file: file, line: position.line, column: position.column,
                                  keyPath: path.description, message: message))
    }

    /// About the value itself, at the value; at its key when it was left empty (libyaml places
    /// an empty value wherever the next token starts).
    func report(_ value: YAMLValue, _ message: String) {
        report(value.path, at: value.isNull ? value.keyPosition : value.position, message)
    }

    func document(_ node: Node) -> YAMLValue {
        let position = positions.original(node.mark)
        return YAMLValue(node: node, path: .root, position: position, keyPosition: position)
    }

    // MARK: Collections

    /// The mapping's entries, checked against `keys` (nil: any key). Null is an empty mapping.
    /// Duplicate keys are reported at each later occurrence; the last one is kept.
    func mapping(_ value: YAMLValue, keys allowed: [String]?, expected: String = "a mapping",
                 duplicate: (Position) -> String = { "duplicate key (first written at \($0.spoken))" }) -> Fields? {
        var fields = Fields(owner: value)
        if value.isNull { return fields }
        guard case .mapping(let mapping) = value.node else {
            report(value, "expected \(expected), got \(value.described)")
            return nil
        }
        func add(_ name: String, at keyPosition: Position, _ node: Node) {
            let path = value.path.key(name)
            if let allowed, !allowed.contains(name) {
                report(path, at: keyPosition, unknownKey(name, allowed: allowed))
                return
            }
            fields.set(name, YAMLValue(node: node, path: path, position: positions.original(node.mark), keyPosition: keyPosition))
        }
        var firstWritten: [String: Position] = [:]
        var merged: [(key: Node, value: Node)] = []
        for (keyNode, valueNode) in mapping {
            if keyNode.tag.rawValue == Tag.Name.merge.rawValue {
                merged += mergeSources(valueNode, path: value.path)
                continue
            }
            guard let (name, renamed) = keyName(keyNode, in: value) else { continue }
            let keyPosition = positions.original(keyNode.mark)
            if let first = firstWritten[name] {
                report(value.path.key(name), at: keyPosition, duplicate(first))
            } else {
                firstWritten[name] = keyPosition
            }
            // A renamed key is an earlier occurrence of a duplicate: the last one counts.
            if !renamed { add(name, at: keyPosition, valueNode) }
        }
        // Merge keys (`<<: *defaults`): keys written here win, then earlier merged mappings.
        for (keyNode, valueNode) in merged {
            guard let name = keyName(keyNode, in: value)?.name, firstWritten[name] == nil else { continue }
            let keyPosition = positions.original(keyNode.mark)
            firstWritten[name] = keyPosition
            add(name, at: keyPosition, valueNode)
        }
        return fields
    }

    private func keyName(_ key: Node, in mapping: YAMLValue) -> (name: String, renamed: Bool)? {
        guard case .scalar(let scalar) = key else {
            let what = YAMLValue(node: key, path: mapping.path, position: positions.original(key.mark), keyPosition: mapping.position)
            report(what, "keys must be plain names, got \(what.described)")
            return nil
        }
        return DuplicateKeyMarker.strip(scalar.string)
    }

    /// The pairs a `<<` brings in, their own merges after them (so that they lose).
    private func mergeSources(_ node: Node, path: KeyPath) -> [(key: Node, value: Node)] {
        switch node {
        case .mapping(let mapping):
            var explicit: [(key: Node, value: Node)] = []
            var nested: [(key: Node, value: Node)] = []
            for pair in mapping {
                if pair.key.tag.rawValue == Tag.Name.merge.rawValue {
                    nested += mergeSources(pair.value, path: path)
                } else {
                    explicit.append(pair)
                }
            }
            return explicit + nested
        case .sequence(let sequence) where sequence.allSatisfy({ if case .mapping = $0 { true } else { false } }):
            return sequence.flatMap { mergeSources($0, path: path) }
        default:
            let value = YAMLValue(node: node, path: path.key("<<"), position: positions.original(node.mark),
                                  keyPosition: positions.original(node.mark))
            report(value, "a merge key takes a mapping or a list of mappings, got \(value.described)")
            return []
        }
    }

    func unknownKey(_ name: String, allowed: [String]) -> String {
        if let guess = Suggestion.question(for: name, in: allowed) { return "unknown key (\(guess))" }
        return "unknown key (known keys: \(allowed.joined(separator: ", ")))"
    }

    /// The items, each with its `[index]` path. Null is an empty list.
    func list(_ value: YAMLValue, expected: String = "a list") -> [YAMLValue]? {
        if value.isNull { return [] }
        guard case .sequence(let sequence) = value.node else {
            report(value, "expected \(expected), got \(value.described)")
            return nil
        }
        return sequence.enumerated().map { index, node in
            let position = positions.original(node.mark)
            return YAMLValue(node: node, path: value.path.index(index), position: position, keyPosition: position)
        }
    }

    // MARK: Scalars

    /// A scalar as written: unquoted numbers and booleans are taken as their text (`10` is
    /// "10", `yes` is "yes"), so nothing is reinterpreted. Null, lists and mappings are errors.
    func text(_ value: YAMLValue, expected: String = "a string", hint: String = "") -> String? {
        guard case .scalar(let scalar) = value.node, !value.isNull else {
            report(value, "expected \(expected), got \(value.described)\(hint)")
            return nil
        }
        // Arguments, environment and paths become C strings: a NUL would cut them short.
        if scalar.string.unicodeScalars.contains("\0") {
            report(value, "contains a NUL character (\\0), which no program can be given")
            return nil
        }
        return scalar.string
    }

    /// An unquoted `true` or `false` (a quoted "true", `yes` or `1` is not a boolean).
    func boolean(_ value: YAMLValue) -> Bool? {
        guard case .scalar(let scalar) = value.node, value.node.tag.rawValue == Tag.Name.bool.rawValue,
              scalar.string == "true" || scalar.string == "false" else {
            report(value, "expected true or false, got \(value.described)")
            return nil
        }
        return scalar.string == "true"
    }

    /// An unquoted YAML integer (`3`; a quoted "3" is a string) within `range` (every number
    /// has a maximum: `Limits`). One too large for an Int is out of range too.
    func wholeNumber(_ value: YAMLValue, in range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = value.node, value.node.tag.rawValue == Tag.Name.int.rawValue else {
            report(value, "expected a whole number, got \(value.described)\(quotedNumberHint(value))")
            return nil
        }
        if let baseSixty = baseSixtyNumber(value) {
            report(value, baseSixty)
            return nil
        }
        guard let number = value.node.int, range.contains(number) else {
            report(value, "must be between \(range.lowerBound) and \(range.upperBound), got \(InputError.shortened(scalar.string))")
            return nil
        }
        return number
    }

    /// An unquoted YAML number (`2`, `0.1`), finite and within `range`.
    func number(_ value: YAMLValue, in range: ClosedRange<Double>) -> Double? {
        if let baseSixty = baseSixtyNumber(value) {
            report(value, baseSixty)
            return nil
        }
        guard value.isNumber, case .scalar(let scalar) = value.node,
              let number = value.node.float ?? value.node.int.map(Double.init), number.isFinite else {
            report(value, "expected a number, got \(value.described)\(quotedNumberHint(value))")
            return nil
        }
        guard range.contains(number) else {
            report(value, "must be between \(format(range.lowerBound)) and \(format(range.upperBound)), got \(InputError.shortened(scalar.string))")
            return nil
        }
        return number
    }

    /// YAML 1.1 reads `1:30` as a number in base 60 (90), which no one writing a jobs file
    /// means, and Yams's conversion of a long one traps on overflow: such numbers are refused
    /// before any conversion.
    private func baseSixtyNumber(_ value: YAMLValue) -> String? {
        guard value.isNumber, case .scalar(let scalar) = value.node, scalar.string.contains(":") else { return nil }
        return "expected a number, got \(value.described) (YAML 1.1 would read it in base 60; drover does not)"
    }

    /// `replicas: "3"` is a string to YAML; say so, since it looks like a number.
    private func quotedNumberHint(_ value: YAMLValue) -> String {
        guard case .scalar(let scalar) = value.node, scalar.style == .singleQuoted || scalar.style == .doubleQuoted,
              Double(scalar.string) != nil else { return "" }
        return " (a quoted number is a string: write it without quotes)"
    }

    private func format(_ number: Double) -> String {
        number == number.rounded() ? String(Int(number)) : String(number)
    }

    /// A scalar given to one of DroverCore's parsers (`Quantity.size`, `Signals.number`, ...),
    /// whose message names the value: `"lots" is not a size (...)`.
    func parsed<T>(_ value: YAMLValue, expected: String, _ parse: (String) throws(InputError) -> T) -> T? {
        guard let text = text(value, expected: expected) else { return nil }
        do {
            return try parse(text)
        } catch {
            // The parsers' subject is the value quoted; one that quotes it whole (UserSpec.parse)
            // is shortened here.
            let subject = error.subject == "\"\(text)\"" ? InputError.quoted(text) : error.subject
            report(value, "\(subject) \(error.message)")
            return nil
        }
    }

    /// One of an enumeration's spellings: `"servng" is not a kind (expected serving or batch; did you mean "serving"?)`.
    func choice<Choice: RawRepresentable & CaseIterable>(_ value: YAMLValue, what: String) -> Choice?
    where Choice.RawValue == String {
        let spellings = Choice.allCases.map(\.rawValue)
        guard let text = text(value, expected: alternatives(spellings)) else { return nil }
        if let choice = Choice(rawValue: text) { return choice }
        let guess = Suggestion.question(for: text, in: spellings).map { "; \($0)" } ?? ""
        report(value, "\(InputError.quoted(text)) is not \(what) (expected \(alternatives(spellings))\(guess))")
        return nil
    }
}
