import DroverCore
internal import Yams

/// Where a value sits in a document: `jobs.web.resources.memory`, `jobs.web.command[3]`.
struct KeyPath: CustomStringConvertible {
    private(set) var description = ""

    static let root = KeyPath()

    func key(_ name: String) -> KeyPath {
        // Quoted when it would not read back as one segment (`jobs.web."a.b"`), or when it is too
        // long to repeat whole (`jobs."aaaa…" (1048576 characters)`).
        let plain = !name.isEmpty && !name.contains(where: { ".[]\" ".contains($0) || $0.isNewline })
            && name.unicodeScalars.count <= InputError.longestEcho
        let segment = plain ? name : InputError.quoted(name)
        return KeyPath(description: description.isEmpty ? segment : "\(description).\(segment)")
    }

    func index(_ index: Int) -> KeyPath { KeyPath(description: "\(description)[\(index)]") }
}

/// One YAML node with its key path and positions (already mapped back to the user's text).
struct YAMLValue {
    let node: Node
    let path: KeyPath
    /// Where the value is written.
    let position: Position
    /// Where the key that names it is written; the value's own position for list items. Errors
    /// about the value as a whole ("missing command") point here.
    let keyPosition: Position

    /// `key:` with nothing after it, `~` or `null`, unquoted.
    var isNull: Bool {
        guard case .scalar = node else { return false }
        return node.tag.rawValue == Tag.Name.null.rawValue
    }

    /// What the user wrote, for "expected X, got Y".
    var described: String {
        switch node {
        case .scalar(let scalar):
            if isNull { return scalar.string.isEmpty ? "nothing" : "null" }
            return InputError.quoted(scalar.string)
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .alias: return "an alias"
        }
    }

    /// Resolved as an integer or a float by YAML (unquoted `3`, `0.5`).
    var isNumber: Bool {
        guard case .scalar = node else { return false }
        let tag = node.tag.rawValue
        return tag == Tag.Name.int.rawValue || tag == Tag.Name.float.rawValue
    }
}

/// A mapping's entries after merge keys (`<<: *defaults`) and duplicates are dealt with, in the
/// order written. A key written with no value (`env:`) is present but null: `self[key]` treats it
/// as not given, as Kubernetes does, so defaults apply; `nullEntry(key)` tells the few places
/// where "no value" needs its own message.
struct Fields {
    /// The mapping itself (or the null that stood for an empty one).
    let owner: YAMLValue
    private(set) var entries: [(name: String, value: YAMLValue)] = []
    private var indexByName: [String: Int] = [:]

    init(owner: YAMLValue) { self.owner = owner }

    mutating func set(_ name: String, _ value: YAMLValue) {
        if let index = indexByName[name] {
            entries[index] = (name, value)
        } else {
            indexByName[name] = entries.count
            entries.append((name, value))
        }
    }

    func has(_ name: String) -> Bool { indexByName[name] != nil }

    /// The value, unless absent or null.
    subscript(name: String) -> YAMLValue? {
        guard let index = indexByName[name], !entries[index].value.isNull else { return nil }
        return entries[index].value
    }

    func nullEntry(_ name: String) -> YAMLValue? {
        guard let index = indexByName[name], entries[index].value.isNull else { return nil }
        return entries[index].value
    }
}
