import DroverConfig
import Testing

/// `String(repeating: "x", count: n)`.
private func long(_ n: Int, _ unit: String = "x") -> String { String(repeating: unit, count: n) }

/// A 1 MB value was echoed whole into its error line (issue 12). Past 80 characters an error
/// repeats the first 80, an ellipsis and the length; control characters are escaped, so that
/// an error stays one line.
let longValueInputs: [BadInput] = [
    BadInput("a megabyte where a number goes", "jobs:\n  web:\n    command: [x]\n    replicas: \(long(1_048_576))\n", [
        "web.yaml: jobs.web.replicas: expected a whole number, got \"\(long(80))…\" (1048576 characters) (line 4, col 15)",
    ]),
    BadInput("a long number", "jobs:\n  web:\n    command: [x]\n    replicas: \(long(200, "9"))\n", [
        "web.yaml: jobs.web.replicas: must be between 0 and 10000, got \(long(80, "9"))… (200 characters) (line 4, col 15)",
    ]),
    BadInput("a long kind, size and duration", """
        jobs:
          web:
            command: [x]
            kind: \(long(100))
            resources: {memory: \(long(100, "1"))Gi}
            lameduck: {grace: \(long(100, "m"))}

        """, [
            "web.yaml: jobs.web.kind: \"\(long(80))…\" (100 characters) is not a job kind (expected serving or batch) (line 4, col 11)",
            "web.yaml: jobs.web.resources.memory: \"\(long(80, "1"))…\" (102 characters) is too large a size (at most 256Ti) (line 5, col 25)",
            "web.yaml: jobs.web.lameduck.grace: \"\(long(80, "m"))…\" (100 characters) is not a duration (expected a number with ms, s, m or h, e.g. 30s or 1m30s) (line 6, col 23)",
        ]),
    BadInput("a long user (a parser that quotes the value whole)", "jobs:\n  web:\n    command: [x]\n    user: \"\(long(90, "a")):b\"\n", [
        "web.yaml: jobs.web.user: \"\(long(80, "a"))…\" (92 characters) is not a user (expected a name such as nobody, a uid such as 1000, or uid:gid such as 1000:1000) (line 4, col 11)",
    ]),
    BadInput("a long job name: in the key path and the message", "jobs:\n  \(long(300, "A")):\n    command: [x]\n", [
        "web.yaml: jobs.\"\(long(80, "A"))…\" (300 characters): \"\(long(80, "A"))…\" (300 characters) is not a valid job name (expected lowercase letters, digits and -, starting and ending with a letter or digit, at most 63 characters) (line 2, col 3)",
    ]),
    BadInput("a long unknown key", "jobs:\n  web:\n    command: [x]\n    \(long(200, "k")): 1\n", [
        "web.yaml: jobs.web.\"\(long(80, "k"))…\" (200 characters): unknown key (known keys: kind, replicas, priority, command, env, user, workdir, ports, resources, restart, lameduck, health, service, capabilities, host_root, filesystem, network) (line 4, col 5)",
    ]),
    BadInput("a long shell line for a command", "jobs:\n  web:\n    command: \(Array(repeating: "word", count: 30).joined(separator: " "))\n", [
        "web.yaml: jobs.web.command: expected a list of strings, got \"\(String(Array(repeating: "word", count: 30).joined(separator: " ").prefix(80)))…\" (149 characters) (drover runs no shell: write the program and each argument as a list item) (line 3, col 14)",
    ]),
    BadInput("a long ${VAR} and a long port name", """
        jobs:
          web:
            command: [x, "${\(long(100, "V"))}"]
            ports: [\(long(100, "p"))]

        """, [
            "web.yaml: jobs.web.command[1]: \"${\(long(78, "V"))…\" (103 characters) refers to ${\(long(80, "V"))… (100 characters)}, which is not set in the environment (line 3, col 18)",
            "web.yaml: jobs.web.ports[0]: \"\(long(80, "p"))…\" (100 characters) is not a port name (expected a lowercase letter, then lowercase letters, digits and single hyphens, at most 15 characters, e.g. http or grpc-admin) (line 4, col 13)",
        ]),
    BadInput("line breaks and escapes in a value stay on one line", """
        jobs:
          web:
            command: [x]
            workdir: "srv\\n/etc\\u001B[31m"

        """, [
            "web.yaml: jobs.web.workdir: \"srv\\n/etc\\u{1B}[31m\" is not an absolute path (expected one starting with /) (line 4, col 14)",
        ]),
]

@Suite struct LongValues {
    @Test(arguments: longValueInputs)
    func refused(input: BadInput) {
        #expect(errorLines(input.files.map { ($0.path, $0.text) }) == input.errors)
    }

    /// However long the value, the error is short and one line.
    @Test func megabyteValuesGiveShortErrors() {
        let megabyte = long(1_048_576, "é")
        // The last is a YAML error: libyaml takes keys of at most 1024 characters.
        let errors = errorLines([
            ("a.yaml", "jobs:\n  web:\n    command: \"\(megabyte)\"\n"),
            ("b.yaml", "jobs:\n  api:\n    command: [x]\n    workdir: \(megabyte)\n"),
            ("c.yaml", "jobs:\n  db:\n    command: [x]\n    env: {\(megabyte): 1}\n"),
        ])
        #expect(errors.count == 3)
        for error in errors {
            #expect(error.unicodeScalars.count < 400)
            #expect(!error.contains("\n"))
        }
    }
}
