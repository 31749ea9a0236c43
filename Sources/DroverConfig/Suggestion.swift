/// "did you mean ...?" for a misspelt key, value or name.
enum Suggestion {
    /// The candidate closest to `word`, if it is close enough to be the intended one: at most one
    /// edit away for short words, two for longer ones, ignoring case and `_` versus `-`.
    static func closest(to word: String, in candidates: [String]) -> String? {
        // No candidate is within two edits of a word this long: skip the quadratic distance.
        guard word.unicodeScalars.count <= (candidates.map(\.count).max() ?? 0) + 2 else { return nil }
        let written = normalized(word)
        let allowed = written.count <= 4 ? 1 : 2
        var best: (candidate: String, distance: Int)?
        for candidate in candidates where candidate != word {
            let distance = editDistance(written, normalized(candidate))
            if distance <= allowed, distance < best?.distance ?? .max { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// `did you mean "resources"?`, or nil.
    static func question(for word: String, in candidates: [String]) -> String? {
        closest(to: word, in: candidates).map { "did you mean \"\($0)\"?" }
    }

    private static func normalized(_ word: String) -> [Character] {
        Array(word.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// `serving or batch`, `production, batch or best-effort`.
func alternatives(_ words: [String]) -> String {
    guard let last = words.last else { return "" }
    let rest = words.dropLast()
    return rest.isEmpty ? last : "\(rest.joined(separator: ", ")) or \(last)"
}
