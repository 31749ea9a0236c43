import DroverConfig
import DroverCore
import Testing

/// Nine levels of `<<: [*m, *m, ...]`: under 600 bytes that expand to 10^9 nodes. It took
/// 1.1 GiB in 12 s through apply and at start-up (issue 12). Each level is 3 + 9 × the one
/// below: m4 is 22143 nodes, so the document passes 100000 at the 4th `*m4` of line 6.
let mergeKeyBomb = (1...9).reduce("m0: &m0 {a: 1}\n") { text, level in
    let aliases = Array(repeating: "*m\(level - 1)", count: 9).joined(separator: ", ")
    return text + "m\(level): &m\(level) {<<: [\(aliases)]}\n"
} + "jobs:\n  web:\n    <<: *m9\n    command: [x]\n"

/// The classic: lists of aliases of lists. f's first `*e` (66430 nodes) passes 100000.
let listBomb = zip("bcdefghi", "abcdefgh").reduce("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n") { text, pair in
    text + "\(pair.0): &\(pair.0) [\(Array(repeating: "*\(pair.1)", count: 9).joined(separator: ", "))]\n"
} + "jobs: {}\n"

/// A bomb as a mapping key: Yams hashes every key it composes, so this one would hash 10^9
/// nodes before a single error could be reported.
let keyBomb = mergeKeyBomb.replacingOccurrences(of: "jobs:\n  web:\n    <<: *m9\n    command: [x]\n", with: "? *m9\n: x\n")

/// `jobs: [[[...]]]` with `brackets` nested lists: the root mapping is level 1, the outer list 2.
func nestedLists(_ brackets: Int) -> String {
    "jobs: " + String(repeating: "[", count: brackets) + String(repeating: "]", count: brackets) + "\n"
}

/// a1 is `[x]`, and each of a2...a63 a list of the one before: every alias goes one level deeper.
let aliasDepth = (2...63).reduce("a1: &a1 [x]\n") { text, n in text + "a\(n): &a\(n) [*a\(n - 1)]\n" }

let yamlBoundInputs: [BadInput] = [
    BadInput("merge-key bomb: nine levels of <<: [*m, ...]", mergeKeyBomb, [
        "web.yaml: more than 100000 YAML nodes in one document, counting each alias and merge key as all the nodes it brings in (drover reads at most 100000) (line 6, col 30)",
    ]),
    BadInput("list bomb: nine levels of [*a, ...]", listBomb, [
        "web.yaml: more than 100000 YAML nodes in one document, counting each alias and merge key as all the nodes it brings in (drover reads at most 100000) (line 6, col 8)",
    ]),
    BadInput("bomb as a mapping key", keyBomb, [
        "web.yaml: more than 100000 YAML nodes in one document, counting each alias and merge key as all the nodes it brings in (drover reads at most 100000) (line 6, col 30)",
    ]),
    BadInput("nested 65 levels deep", nestedLists(64), [
        "web.yaml: nested more than 64 levels deep (drover reads at most 64) (line 1, col 70)",
    ]),
    // libyaml stops first here, reading ahead; it names where the nesting started.
    BadInput("nested past libyaml's own limit: drover's message, not yaml_set_max_nest_level()", nestedLists(2000), [
        "web.yaml: nested more than 64 levels deep (drover reads at most 64) (line 1, col 8)",
    ]),
    BadInput("block lists nested past libyaml's own limit", String(repeating: "- ", count: 2000) + "x\n", [
        "web.yaml: nested more than 64 levels deep (drover reads at most 64) (line 1, col 129)",
    ]),
    BadInput("nested 65 levels deep through aliases", aliasDepth, [
        "web.yaml: nested more than 64 levels deep once this alias is expanded (drover reads at most 64) (line 63, col 12)",
    ]),
    BadInput("within the limits: 64 levels deep is read (and checked as usual)", nestedLists(63), [
        "web.yaml: jobs: expected a mapping of job names to jobs, got a list (line 1, col 7)",
    ]),
    BadInput("anchors live across documents, as in Yams: a later document is counted with them",
             mergeKeyBomb.split(separator: "\n").prefix(5).joined(separator: "\n")
                + "\n---\njobs: {web: {command: [x], env: {A: [*m4, *m4, *m4, *m4, *m4]}}}\n", [
        "web.yaml: more than 100000 YAML nodes in one document, counting each alias and merge key as all the nodes it brings in (drover reads at most 100000) (line 7, col 58)",
    ]),
]

/// listBomb's a...e (74738 nodes), then documents that are each `*e` (66430 nodes).
func aliasDocuments(_ count: Int) -> String {
    listBomb.split(separator: "\n").prefix(5).joined(separator: "\n") + "\n" + String(repeating: "--- *e\n", count: count)
}

/// Many documents or files, each within 100000 nodes, add up to at most 1000000.
let yamlTotalInputs: [BadInput] = [
    BadInput("documents that add up past 1000000 nodes", aliasDocuments(20), [
        "web.yaml: more than 1000000 YAML nodes in all the files read together, counting each alias and merge key as all the nodes it brings in (drover reads at most 1000000 at once) (line 19, col 5)",
    ]),
]

@Suite struct YAMLBoundsOnInput {
    @Test(arguments: yamlTotalInputs)
    func refusedInAll(input: BadInput) {
        #expect(errorLines(input.files.map { ($0.path, $0.text) }) == input.errors)
    }

    /// The first file past it is named; later files are not read (they would only repeat it).
    @Test func filesThatAddUpPastTheLimit() {
        let errors = errorLines([("a.yaml", aliasDocuments(9)), ("b.yaml", aliasDocuments(9)), ("c.yaml", aliasDocuments(9))])
        #expect(errors.last == "b.yaml: more than 1000000 YAML nodes in all the files read together, counting each alias and merge key as all the nodes it brings in (drover reads at most 1000000 at once) (line 9, col 5)")
        #expect(errors.filter { $0.hasPrefix("b.yaml") }.count == 1)
        #expect(!errors.contains { $0.hasPrefix("c.yaml") })
    }

    @Test(arguments: yamlBoundInputs)
    func refused(input: BadInput) {
        #expect(errorLines(input.files.map { ($0.path, $0.text) }) == input.errors)
    }

    /// Refused in about the time it takes to read 600 bytes, not after expanding them.
    @Test(arguments: [mergeKeyBomb, listBomb, keyBomb])
    func bombsAreRefusedFast(text: String) {
        #expect(text.utf8.count < 700)
        let elapsed = ContinuousClock().measure { _ = errorLines([("web.yaml", text)]) }
        #expect(elapsed < .seconds(1))
    }

    /// Anchors and merge keys of ordinary size keep working (see also GoodInputTests).
    @Test func ordinaryAliasesPass() {
        let jobs = (0..<500).map { "  job-\($0): {<<: *defaults, replicas: 2}" }.joined(separator: "\n")
        let text = "jobs:\n  base:\n    <<: &defaults {command: [x], resources: {cpu: 0.5, memory: 64Mi}}\n" + jobs + "\n"
        let parsed = parsedJobs(text)
        #expect(parsed.count == 501)
        #expect(parsed.last?.resources.memory == 64 << 20)
    }
}
