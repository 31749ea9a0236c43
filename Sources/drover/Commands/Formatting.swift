import DroverWire
import Foundation

/// Output helpers several commands share; what only one command prints sits beside it.

/// `--json`: indented, keys sorted, slashes as they are (`web/2`).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Rows in columns as wide as their widest cell; the first row is the header, the last
/// column is not padded.
func printTable(_ rows: [[String]]) {
    guard let header = rows.first else { return }
    var widths = header.map(\.count)
    for row in rows { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
    for row in rows {
        var line = ""
        for (index, cell) in row.enumerated() {
            line += index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
        }
        print(line.trimmingCharacters(in: .whitespaces))
    }
}

/// `web created`, `(dry run) db changed`, ... (`apply`, `reload`).
func showApplied(_ answer: ApplyResponse, prefix: String) {
    for (word, names) in [("created", answer.created), ("changed", answer.changed), ("unchanged", answer.unchanged), ("deleted", answer.deleted)] {
        for name in names { print("\(prefix)\(name) \(word)") }
    }
}
