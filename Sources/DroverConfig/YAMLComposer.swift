import DroverCore
internal import Yams

/// Where something is written in a jobs file: line and column from 1, columns in Unicode
/// scalars (libyaml's count).
struct Position: Comparable, Sendable {
    var line: Int
    var column: Int

    static func < (a: Position, b: Position) -> Bool { (a.line, a.column) < (b.line, b.column) }

    /// `line 4, col 5`, as in "first written at line 4, col 5".
    var spoken: String { "line \(line), col \(column)" }
}

/// A jobs file's text composed into YAML node trees, one per document.
struct ComposedFile {
    var documents: [Node]
    /// Turns the marks in `documents` into positions in the text the user wrote.
    var positions: PositionMap
    /// The YAML error that ended composition, if any: the documents before it are still there
    /// (none when the text went past `YAMLBounds`' limits: it is not composed at all).
    var syntaxError: (message: String, position: Position)?
}

/// Composes YAML text into node trees while keeping duplicate keys.
///
/// Yams (6.x) refuses a mapping with a duplicate key outright, naming only the first occurrence,
/// which loses the key path, the second position and every other error in the document. So on
/// such an error the first occurrence's key is renamed in place with a marker that no one
/// writes (see `DuplicateKeyMarker`) and the text is composed again; the reader then reports
/// each duplicate at its later occurrence with the key path, like other errors. The marker
/// shifts the rest of its line, which `PositionMap` undoes.
enum YAMLComposer {
    /// More renames than this and the file is reported with Yams's own error.
    static let renameLimit = 100

    /// `remaining`: the nodes the files read together may still produce (`YAMLBounds`).
    static func compose(_ original: String, remaining: inout Int) -> ComposedFile {
        if let bound = YAMLBounds.check(original, remaining: &remaining) {
            return ComposedFile(documents: [], positions: PositionMap(), syntaxError: bound)
        }
        var text = original
        var positions = PositionMap()
        var renames = 0
        var lastRenamed: (line: Int, column: Int)?
        while true {
            var documents: [Node] = []
            let failure: Error
            do {
                var stream = try Yams.compose_all(yaml: text)
                while let document = stream.next() { documents.append(document) }
                guard let error = stream.error else {
                    return ComposedFile(documents: documents, positions: positions, syntaxError: nil)
                }
                failure = error
            } catch {
                failure = error
            }
            if case .duplicatedKeysInMapping(_, let context)? = failure as? YamlError, renames < renameLimit,
               // The same mark again means the rename missed the key: stop rather than loop.
               lastRenamed.map({ $0 != (context.mark.line, context.mark.column) }) ?? true,
               let renamed = DuplicateKeyMarker.rename(keyAt: context.mark, in: text, number: renames) {
                text = renamed.text
                positions.recordInsertion(line: context.mark.line, column: renamed.column, length: renamed.length)
                renames += 1
                lastRenamed = (context.mark.line, context.mark.column)
                continue
            }
            return ComposedFile(documents: documents, positions: positions,
                                syntaxError: describe(failure, text: text, positions: positions))
        }
    }

    /// libyaml's problem and context in words, at the problem's position.
    static func describe(_ error: Error, text: String, positions: PositionMap) -> (message: String, position: Position) {
        func withContext(_ problem: String, _ context: YamlError.Context?, _ mark: Mark) -> (String, Position) {
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) started at \(positions.original(context.mark).spoken))"
            }
            let scalars = text.unicodeScalars
            if let index = scalarIndex(line: mark.line, column: mark.column, in: scalars), scalars[index] == "\t" {
                message += "; YAML indents with spaces, not tabs"
            }
            return (message, positions.original(mark))
        }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _)?,
             .parser(let context, let problem, let mark, _)?,
             .composer(let context, let problem, let mark, _)?:
            return withContext(problem, context, mark)
        case .duplicatedKeysInMapping(let keys, let context)?:
            let names = keys.map { InputError.quoted($0) }.joined(separator: ", ")
            return ("duplicate key \(names)", positions.original(context.mark))
        case .reader(let problem, let offset, _, _)?:
            return ("invalid YAML: \(problem)", position(ofCharacterOffset: offset ?? 0, in: text))
        default:
            return ("invalid YAML: \(error)", Position(line: 1, column: 1))
        }
    }

    /// Yams reports reader errors (bad characters) as a character offset.
    static func position(ofCharacterOffset offset: Int, in text: String) -> Position {
        var position = Position(line: 1, column: 1)
        for character in text.prefix(offset) {
            if character.isNewline {
                position.line += 1
                position.column = 1
            } else {
                position.column += character.unicodeScalars.count
            }
        }
        return position
    }
}

/// Undoes the column shifts of inserted duplicate-key markers, newest first, so that positions
/// name the text the user wrote.
struct PositionMap {
    private var insertions: [(line: Int, column: Int, length: Int)] = []

    mutating func recordInsertion(line: Int, column: Int, length: Int) {
        insertions.append((line, column, length))
    }

    func original(_ mark: Mark?) -> Position {
        guard let mark else { return Position(line: 1, column: 1) }
        var position = Position(line: mark.line, column: mark.column)
        for insertion in insertions.reversed()
        where insertion.line == position.line && position.column > insertion.column {
            position.column -= insertion.length
        }
        return position
    }
}

/// The marker put in front of a duplicate key's first occurrence: `U+E000 <number> U+E001`,
/// private-use characters that no jobs file has a reason to contain.
enum DuplicateKeyMarker {
    static let open: Unicode.Scalar = "\u{E000}"
    static let close: Unicode.Scalar = "\u{E001}"

    /// `key` without its marker, and whether it had one.
    static func strip(_ key: String) -> (name: String, renamed: Bool) {
        let scalars = key.unicodeScalars
        guard scalars.first == open, let end = scalars.firstIndex(of: close) else { return (key, false) }
        return (String(scalars[scalars.index(after: end)...]), true)
    }

    /// The text with a marker inserted into the key that starts at `mark`, and where (column)
    /// and how long (scalars) the insertion is; nil when the key is not a plain or quoted
    /// scalar (an alias, a tagged or complex key), which keeps Yams's error.
    static func rename(keyAt mark: Mark, in text: String, number: Int)
        -> (text: String, column: Int, length: Int)?
    {
        var scalars = text.unicodeScalars
        guard let start = scalarIndex(line: mark.line, column: mark.column, in: scalars) else { return nil }
        let first = scalars[start]
        var insertAt = start
        var column = mark.column
        if first == "\"" || first == "'" {
            // Inside the quotes, so the key stays one scalar.
            insertAt = scalars.index(after: start)
            column += 1
        } else if "&*!|>?{}[],#%@` \t\r\n".unicodeScalars.contains(first) {
            return nil
        }
        let marker = "\(open)\(number)\(close)".unicodeScalars
        scalars.insert(contentsOf: marker, at: insertAt)
        return (String(scalars), column, marker.count)
    }
}

/// The scalar at a libyaml mark: lines end at \n, \r\n, \r, NEL, LS or PS; a leading BOM is
/// not counted.
func scalarIndex(line: Int, column: Int, in scalars: String.UnicodeScalarView) -> String.UnicodeScalarView.Index? {
    var index = scalars.startIndex
    if scalars.first == "\u{FEFF}" { index = scalars.index(after: index) }
    var currentLine = 1
    while currentLine < line {
        guard index < scalars.endIndex else { return nil }
        let scalar = scalars[index]
        index = scalars.index(after: index)
        if scalar == "\r", index < scalars.endIndex, scalars[index] == "\n" {
            index = scalars.index(after: index)
            currentLine += 1
        } else if "\n\r\u{85}\u{2028}\u{2029}".unicodeScalars.contains(scalar) {
            currentLine += 1
        }
    }
    guard let target = scalars.index(index, offsetBy: column - 1, limitedBy: scalars.endIndex),
          target < scalars.endIndex else { return nil }
    return target
}
