import DroverConfig
import Testing

/// A jobs file (or several) that must be refused, and exactly what the user is told.
struct BadInput: Sendable, CustomTestStringConvertible {
    struct File: Sendable {
        var path: String
        var text: String
    }

    var name: String
    var files: [File]
    var errors: [String]

    init(_ name: String, _ text: String, _ errors: [String]) {
        self.init(name, files: [File(path: "web.yaml", text: text)], errors)
    }

    init(_ name: String, files: [File], _ errors: [String]) {
        self.name = name
        self.files = files
        self.errors = errors
    }

    var testDescription: String { name }
}

/// Lines and columns count from 1; every expected position below was counted by hand.
let badInputs: [BadInput] = [
    // MARK: YAML itself
    BadInput("syntax: a key indented less than its siblings", """
        jobs:
          web:
            command: [x]
           replicas: 2

        """, [
            "web.yaml: invalid YAML: did not find expected key (while parsing a block mapping started at line 2, col 3) (line 4, col 4)",
        ]),
    BadInput("syntax: an unclosed flow list", """
        jobs:
          web:
            command: [x, y

        """, [
            "web.yaml: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence started at line 3, col 14) (line 4, col 1)",
        ]),
    BadInput("syntax: a tab used for indentation", "jobs:\n\tweb: {}\n", [
        "web.yaml: invalid YAML: found character that cannot start any token (while scanning for the next token started at line 2, col 1); YAML indents with spaces, not tabs (line 2, col 1)",
    ]),
    BadInput("syntax error in a later document: the earlier one is still checked", """
        jobs:
          web:
            replicas: -1
            command: [x]
        ---
        jobs: [

        """, [
            "web.yaml: jobs.web.replicas: must be between 0 and 10000, got -1 (line 3, col 15)",
            "web.yaml: invalid YAML: did not find expected node content (while parsing a flow node started at line 7, col 1) (line 7, col 1)",
        ]),
    BadInput("duplicate key", """
        jobs:
          web:
            replicas: 2
            command: [x]
            replicas: 3

        """, [
            "web.yaml: jobs.web.replicas: duplicate key (first written at line 3, col 5) (line 5, col 5)",
        ]),
    BadInput("duplicate key three times on one line, the first quoted", """
        jobs:
          web:
            command: [x]
            env: {"A": 1, A: 2, B: 3, A: 4}

        """, [
            "web.yaml: jobs.web.env.A: duplicate key (first written at line 4, col 11) (line 4, col 19)",
            "web.yaml: jobs.web.env.A: duplicate key (first written at line 4, col 11) (line 4, col 31)",
        ]),
    BadInput("duplicate key with CRLF line endings", "jobs:\r\n  web:\r\n    command: [x]\r\n    command: [y]\r\n", [
        "web.yaml: jobs.web.command: duplicate key (first written at line 3, col 5) (line 4, col 5)",
    ]),

    // MARK: Document shape and unknown keys
    BadInput("top level is a list", "- jobs\n", [
        "web.yaml: expected a mapping with the key jobs, got a list (line 1, col 1)",
    ]),
    BadInput("top level is a scalar", "jobs\n", [
        "web.yaml: expected a mapping with the key jobs, got \"jobs\" (line 1, col 1)",
    ]),
    BadInput("jobs is a list", "jobs: [web]\n", [
        "web.yaml: jobs: expected a mapping of job names to jobs, got a list (line 1, col 7)",
    ]),
    BadInput("unknown top-level key", "jobs: {}\nversion: 2\n", [
        "web.yaml: version: unknown key (known keys: jobs) (line 2, col 1)",
    ]),
    BadInput("misspelt top-level key", "jobz:\n  web:\n    command: [x]\n", [
        "web.yaml: jobz: unknown key (did you mean \"jobs\"?) (line 1, col 1)",
    ]),
    BadInput("unknown job key", """
        jobs:
          web:
            command: [x]
            resurces: {memory: 1Gi}

        """, [
            "web.yaml: jobs.web.resurces: unknown key (did you mean \"resources\"?) (line 4, col 5)",
        ]),
    BadInput("unknown nested keys, close and not", """
        jobs:
          web:
            command: [x]
            restart:
              backoff: {intial: 1s, steps: 3}

        """, [
            "web.yaml: jobs.web.restart.backoff.intial: unknown key (did you mean \"initial\"?) (line 5, col 17)",
            "web.yaml: jobs.web.restart.backoff.steps: unknown key (known keys: initial, max, multiplier, jitter, reset_after) (line 5, col 29)",
        ]),
    BadInput("unknown key brought in by a merge key", """
        jobs:
          web:
            <<: {colour: red}
            command: [x]

        """, [
            "web.yaml: jobs.web.colour: unknown key (known keys: kind, replicas, priority, command, env, user, workdir, ports, resources, restart, lameduck, health, service, capabilities, host_root, filesystem, network) (line 3, col 10)",
        ]),
    BadInput("merge key with a scalar", """
        jobs:
          web:
            <<: 5
            command: [x]

        """, [
            "web.yaml: jobs.web.<<: a merge key takes a mapping or a list of mappings, got \"5\" (line 3, col 9)",
        ]),

    // MARK: Types
    BadInput("replicas is a word", """
        jobs:
          web:
            command: [x]
            replicas: three

        """, [
            "web.yaml: jobs.web.replicas: expected a whole number, got \"three\" (line 4, col 15)",
        ]),
    BadInput("replicas is a quoted number", """
        jobs:
          web:
            command: [x]
            replicas: "3"

        """, [
            "web.yaml: jobs.web.replicas: expected a whole number, got \"3\" (a quoted number is a string: write it without quotes) (line 4, col 15)",
        ]),
    BadInput("negative replicas", """
        jobs:
          web:
            command: [x]
            replicas: -1

        """, [
            "web.yaml: jobs.web.replicas: must be between 0 and 10000, got -1 (line 4, col 15)",
        ]),
    BadInput("resources is a list", """
        jobs:
          web:
            command: [x]
            resources: [cpu, 1]

        """, [
            "web.yaml: jobs.web.resources: expected a mapping, got a list (line 4, col 16)",
        ]),
    BadInput("health is a scalar", """
        jobs:
          web:
            command: [x]
            health: yes

        """, [
            "web.yaml: jobs.web.health: expected a mapping, got \"yes\" (line 4, col 13)",
        ]),
    BadInput("an env value is a list", """
        jobs:
          web:
            command: [x]
            env:
              PATH_LIST: [a, b]

        """, [
            "web.yaml: jobs.web.env.PATH_LIST: expected a string, number or boolean, got a list (line 5, col 18)",
        ]),
    BadInput("a command argument that YAML read as a mapping", """
        jobs:
          web:
            command: [echo, --opt: x]

        """, [
            "web.yaml: jobs.web.command[1]: expected a string, got a mapping (quote an argument that contains \": \") (line 3, col 21)",
        ]),

    // MARK: Quantities, signals, enumerations
    BadInput("bad size", """
        jobs:
          web:
            command: [x]
            resources:
              cpu: 1
              memory: lots

        """, [
            "web.yaml: jobs.web.resources.memory: \"lots\" is not a size (expected a whole number of bytes or a number with Ki, Mi, Gi or Ti, e.g. 256Mi) (line 6, col 15)",
        ]),
    BadInput("zero memory and pids", """
        jobs:
          web:
            command: [x]
            resources: {memory: 0, pids: 0}

        """, [
            "web.yaml: jobs.web.resources.memory: must be more than 0 (line 4, col 25)",
            "web.yaml: jobs.web.resources.pids: must be between 1 and 4194304, got 0 (line 4, col 34)",
        ]),
    BadInput("bad cpu", """
        jobs:
          web:
            command: [x]
            resources: {cpu: -1}

        """, [
            "web.yaml: jobs.web.resources.cpu: \"-1\" is not a CPU amount (expected cores such as 0.5 or 2, or millicores such as 250m) (line 4, col 22)",
        ]),
    BadInput("duration without a unit", """
        jobs:
          web:
            command: [x]
            lameduck: {grace: 30}

        """, [
            "web.yaml: jobs.web.lameduck.grace: \"30\" is not a duration (expected a number with ms, s, m or h, e.g. 30s or 1m30s) (line 4, col 23)",
        ]),
    BadInput("bad signal", """
        jobs:
          web:
            command: [x]
            lameduck: {signal: SIGNOPE}

        """, [
            "web.yaml: jobs.web.lameduck.signal: \"SIGNOPE\" is not a signal (e.g. SIGTERM, SIGINT, SIGUSR1) (line 4, col 24)",
        ]),
    BadInput("bad kind, priority and restart policy", """
        jobs:
          web:
            kind: Serving
            priority: besteffort
            restart: {policy: on_failure}
            command: [x]

        """, [
            "web.yaml: jobs.web.kind: \"Serving\" is not a job kind (expected serving or batch; did you mean \"serving\"?) (line 3, col 11)",
            "web.yaml: jobs.web.priority: \"besteffort\" is not a priority (expected production, batch or best-effort; did you mean \"best-effort\"?) (line 4, col 15)",
            "web.yaml: jobs.web.restart.policy: \"on_failure\" is not a restart policy (expected always, on-failure or never; did you mean \"on-failure\"?) (line 5, col 23)",
        ]),
    BadInput("priority far from any spelling", """
        jobs:
          web:
            priority: urgent
            command: [x]

        """, [
            "web.yaml: jobs.web.priority: \"urgent\" is not a priority (expected production, batch or best-effort) (line 3, col 15)",
        ]),
    BadInput("batch job restarted always", """
        jobs:
          crunch:
            kind: batch
            restart: {policy: always}
            command: [x]

        """, [
            "web.yaml: jobs.crunch.restart.policy: a batch job's replicas stop once they succeed: use on-failure or never (line 4, col 23)",
        ]),
    BadInput("jitter out of range and multiplier below 1", """
        jobs:
          web:
            command: [x]
            restart:
              backoff: {jitter: 1.5, multiplier: 0.5}

        """, [
            "web.yaml: jobs.web.restart.backoff.jitter: must be between 0 and 1, got 1.5 (line 5, col 25)",
            "web.yaml: jobs.web.restart.backoff.multiplier: must be between 1 and 100, got 0.5 (line 5, col 42)",
        ]),
    BadInput("backoff max below initial", """
        jobs:
          web:
            command: [x]
            restart:
              backoff: {initial: 2m, max: 30s}

        """, [
            "web.yaml: jobs.web.restart.backoff.max: must be at least initial (2m) (line 5, col 35)",
        ]),
    BadInput("max_failures zero", """
        jobs:
          web:
            command: [x]
            restart: {max_failures: 0}

        """, [
            "web.yaml: jobs.web.restart.max_failures: must be between 1 and 10000, got 0 (line 4, col 29)",
        ]),

    // MARK: Jobs: names, duplicates, command
    BadInput("bad job name", """
        jobs:
          Web_1:
            command: [x]

        """, [
            "web.yaml: jobs.Web_1: \"Web_1\" is not a valid job name (expected lowercase letters, digits and -, starting and ending with a letter or digit, at most 63 characters) (line 2, col 3)",
        ]),
    BadInput("duplicate job in one mapping", """
        jobs:
          web:
            command: [x]
          web:
            command: [y]

        """, [
            "web.yaml: jobs.web: duplicate job name (first declared at line 2, col 3) (line 4, col 3)",
        ]),
    BadInput("duplicate job in two documents of one file", """
        jobs:
          web:
            command: [x]
        ---
        jobs:
          web:
            command: [y]

        """, [
            "web.yaml: jobs.web: duplicate job name (first declared at line 2, col 3) (line 6, col 3)",
        ]),
    BadInput("duplicate job across files", files: [
        .init(path: "a.yaml", text: "jobs:\n  web:\n    command: [x]\n"),
        .init(path: "b.yaml", text: "jobs:\n  api:\n    command: [x]\n  web:\n    command: [y]\n"),
    ], [
        "b.yaml: jobs.web: duplicate job name (first declared in a.yaml at line 2, col 3) (line 4, col 3)",
    ]),
    BadInput("missing command", """
        jobs:
          web:
            replicas: 2

        """, [
            "web.yaml: jobs.web: missing required key \"command\" (the program and its arguments, as a list) (line 2, col 3)",
        ]),
    BadInput("a job with nothing under it", "jobs:\n  web:\n", [
        "web.yaml: jobs.web: missing required key \"command\" (the program and its arguments, as a list) (line 2, col 3)",
    ]),
    BadInput("empty command", """
        jobs:
          web:
            command: []

        """, [
            "web.yaml: jobs.web.command: must not be empty (the program and its arguments, as a list) (line 3, col 14)",
        ]),
    BadInput("command with no value", """
        jobs:
          web:
            command:
            replicas: 1

        """, [
            "web.yaml: jobs.web.command: must not be empty (the program and its arguments, as a list) (line 3, col 5)",
        ]),
    BadInput("command written as a shell line", """
        jobs:
          web:
            command: python3 -m http.server

        """, [
            "web.yaml: jobs.web.command: expected a list of strings, got \"python3 -m http.server\" (drover runs no shell: write [\"python3\", \"-m\", \"http.server\"]) (line 3, col 14)",
        ]),
    BadInput("unknown ${VAR}, close to a port's variable", """
        jobs:
          web:
            ports: [http]
            env: {MODE: fast}
            command: [/srv, "--port=${PORT_HTPP}", "--mode=${MODE}", "$${LITERAL}", "${DROVER_NAME}"]

        """, [
            "web.yaml: jobs.web.command[1]: \"--port=${PORT_HTPP}\" refers to ${PORT_HTPP}, which is not set in the environment (did you mean ${PORT_HTTP}?) (line 5, col 21)",
        ]),
    BadInput("unknown ${VAR}, close to nothing, and an unclosed ${", """
        jobs:
          web:
            command: [/srv, "${SECRET}", "${HOME"]

        """, [
            "web.yaml: jobs.web.command[1]: \"${SECRET}\" refers to ${SECRET}, which is not set in the environment (line 3, col 21)",
            "web.yaml: jobs.web.command[2]: \"${HOME\" has an unclosed ${ (write $$ for a literal $) (line 3, col 34)",
        ]),

    // MARK: env, user, workdir, capabilities
    BadInput("env names drover sets, a bad name and an empty value", """
        jobs:
          web:
            command: [x]
            ports: [http]
            env:
              DROVER_NAME: me
              PORT_HTTP: 80
              1ST: x
              EMPTY:

        """, [
            "web.yaml: jobs.web.env.DROVER_NAME: DROVER_ variables are set by drover for each replica (line 6, col 7)",
            "web.yaml: jobs.web.env.PORT_HTTP: PORT_HTTP is set by drover from ports: http (line 7, col 7)",
            "web.yaml: jobs.web.env.1ST: \"1ST\" is not a variable name (expected letters, digits and _, not starting with a digit) (line 8, col 7)",
            "web.yaml: jobs.web.env.EMPTY: has no value (write \"\" for an empty string) (line 9, col 7)",
        ]),
    BadInput("a NUL in an argument, a number too large", """
        jobs:
          web:
            command: [x, "a\\0b"]
            replicas: 99999999999999999999

        """, [
            "web.yaml: jobs.web.command[1]: contains a NUL character (\\0), which no program can be given (line 3, col 18)",
            "web.yaml: jobs.web.replicas: must be between 0 and 10000, got 99999999999999999999 (line 4, col 15)",
        ]),
    BadInput("bad user", """
        jobs:
          web:
            command: [x]
            user: "root:admin"

        """, [
            "web.yaml: jobs.web.user: \"root:admin\" is not a user (expected a name such as nobody, a uid such as 1000, or uid:gid such as 1000:1000) (line 4, col 11)",
        ]),
    BadInput("relative workdir", """
        jobs:
          web:
            command: [x]
            workdir: srv

        """, [
            "web.yaml: jobs.web.workdir: \"srv\" is not an absolute path (expected one starting with /) (line 4, col 14)",
        ]),
    BadInput("bad and repeated capabilities", """
        jobs:
          web:
            command: [x]
            capabilities: [NET_ADMIN, CAP_FLY, cap_net_admin]

        """, [
            "web.yaml: jobs.web.capabilities[1]: \"CAP_FLY\" is not a Linux capability (e.g. NET_BIND_SERVICE, SYS_PTRACE; see capabilities(7)) (line 4, col 31)",
            "web.yaml: jobs.web.capabilities[2]: NET_ADMIN is listed twice (first at line 4, col 20) (line 4, col 40)",
        ]),

    // MARK: Ports, health, service
    BadInput("duplicate port", """
        jobs:
          web:
            command: [x]
            ports: [http, admin, http]

        """, [
            "web.yaml: jobs.web.ports[2]: port \"http\" is declared twice (first at line 4, col 13) (line 4, col 26)",
        ]),
    BadInput("bad port names", """
        jobs:
          web:
            command: [x]
            ports: [Http, "8080", grpc--admin, abcdefghijklmnop]

        """, [
            "web.yaml: jobs.web.ports[0]: \"Http\" is not a port name (expected a lowercase letter, then lowercase letters, digits and single hyphens, at most 15 characters, e.g. http or grpc-admin) (line 4, col 13)",
            "web.yaml: jobs.web.ports[1]: \"8080\" is not a port name: ports are named (e.g. http) and drover picks each number (line 4, col 19)",
            "web.yaml: jobs.web.ports[2]: \"grpc--admin\" is not a port name (expected a lowercase letter, then lowercase letters, digits and single hyphens, at most 15 characters, e.g. http or grpc-admin) (line 4, col 27)",
            "web.yaml: jobs.web.ports[3]: \"abcdefghijklmnop\" is not a port name (expected a lowercase letter, then lowercase letters, digits and single hyphens, at most 15 characters, e.g. http or grpc-admin) (line 4, col 40)",
        ]),
    BadInput("health check naming an undeclared port", """
        jobs:
          web:
            command: [x]
            ports: [http]
            health:
              live: {tcp: htp}

        """, [
            "web.yaml: jobs.web.health.live.tcp: \"htp\" is not one of the job's ports (declared: http; did you mean \"http\"?) (line 6, col 19)",
        ]),
    BadInput("health check on a job without ports", """
        jobs:
          web:
            command: [x]
            health:
              ready: {http: /healthz, port: http}

        """, [
            "web.yaml: jobs.web.health.ready.port: \"http\" is not one of the job's ports (it declares none: add ports: [http]) (line 5, col 37)",
        ]),
    BadInput("http check without a path, and with one not starting with /", """
        jobs:
          web:
            command: [x]
            ports: [http]
            health:
              ready: {http: , port: http}
              live: {http: healthz, port: http}

        """, [
            "web.yaml: jobs.web.health.ready.http: needs the path to request, such as /healthz (line 6, col 15)",
            "web.yaml: jobs.web.health.live.http: \"healthz\" is not a path (expected one starting with /, such as /healthz) (line 7, col 20)",
        ]),
    BadInput("http check without a port", """
        jobs:
          web:
            command: [x]
            ports: [http]
            health:
              ready: {http: /healthz}

        """, [
            "web.yaml: jobs.web.health.ready: an http check needs port: NAME, one of the job's ports (line 6, col 7)",
        ]),
    BadInput("health checks with no probe, two probes, a stray port and an empty exec", """
        jobs:
          web:
            command: [x]
            ports: [http]
            health:
              ready: {period: 2s}
              live: {tcp: http, exec: [check], port: http}
            service: {port: 80}
          api:
            command: [x]
            health:
              live: {exec: [], period: 0s}

        """, [
            "web.yaml: jobs.web.health.ready: needs one of http, tcp or exec (line 6, col 7)",
            "web.yaml: jobs.web.health.live.exec: only one of http, tcp or exec may be given (this check already has tcp) (line 7, col 25)",
            "web.yaml: jobs.web.health.live.port: port goes with http only (a tcp check names its port itself) (line 7, col 40)",
            "web.yaml: jobs.api.health.live.exec: needs the command to run, as a list (line 12, col 20)",
            "web.yaml: jobs.api.health.live.period: must be more than 0s (line 12, col 32)",
        ]),
    BadInput("service port out of range", """
        jobs:
          web:
            command: [x]
            ports: [http]
            service: {port: 70000}

        """, [
            "web.yaml: jobs.web.service.port: must be between 1 and 65535, got 70000 (line 5, col 21)",
        ]),
    BadInput("service on a job without ports", """
        jobs:
          web:
            command: [x]
            service: {port: 8080}

        """, [
            "web.yaml: jobs.web.service: a service forwards to one of the job's ports, and this job has none (declare one with ports: [NAME]) (line 4, col 5)",
        ]),
    BadInput("service port inside the allocation range", """
        jobs:
          web:
            command: [x]
            ports: [http]
            service: {port: 20500}

        """, [
            "web.yaml: jobs.web.service.port: port 20500 is inside the range droverd allocates replica ports from (20000-32000); choose one outside it (line 5, col 21)",
        ]),
    BadInput("duplicate service port across files", files: [
        .init(path: "a.yaml", text: "jobs:\n  web:\n    command: [x]\n    ports: [http]\n    service: {port: 8080}\n"),
        .init(path: "b.yaml", text: "jobs:\n  api:\n    command: [x]\n    ports: [http]\n    service: {port: 8080}\n"),
    ], [
        "b.yaml: jobs.api.service.port: port 8080 is already the service port of job \"web\" (in a.yaml at line 5, col 21) (line 5, col 21)",
    ]),

    // MARK: Collecting and ordering
    BadInput("errors in every file, in the order the files were given, then by line", files: [
        .init(path: "z.yaml", text: "jobs:\n  b:\n    replicas: x\n    command: [x]\n  a:\n    kind: nope\n    command: [x]\n"),
        .init(path: "a.yaml", text: "jobs:\n  c:\n    command: [x]\n    workdir: tmp\n"),
    ], [
        "z.yaml: jobs.b.replicas: expected a whole number, got \"x\" (line 3, col 15)",
        "z.yaml: jobs.a.kind: \"nope\" is not a job kind (expected serving or batch) (line 6, col 11)",
        "a.yaml: jobs.c.workdir: \"tmp\" is not an absolute path (expected one starting with /) (line 4, col 14)",
    ]),
]

@Suite struct BadInputs {
    @Test(arguments: badInputs)
    func refused(input: BadInput) {
        #expect(errorLines(input.files.map { ($0.path, $0.text) }) == input.errors)
    }

    @Test func tableHasDistinctCases() {
        #expect(badInputs.count >= 25)
        #expect(Set(badInputs.map(\.name)).count == badInputs.count)
    }

    @Test(arguments: ["Web", "-web", "web-", "web_1", "wéb", "web.api", String(repeating: "a", count: 64)])
    func invalidJobName(name: String) {
        #expect(errorLines([("web.yaml", "jobs:\n  \"\(name)\": {command: [x]}\n")]) == [
            "web.yaml: jobs.\(name.contains(".") ? "\"\(name)\"" : name): \"\(name)\" is not a valid job name (expected lowercase letters, digits and -, starting and ending with a letter or digit, at most 63 characters) (line 2, col 3)",
        ])
    }

    @Test(arguments: ["web", "a", "0", "web-2", "a-b-c", String(repeating: "a", count: 63)])
    func validJobName(name: String) {
        #expect(parsedJobs("jobs:\n  \(name): {command: [x]}\n").map(\.name) == [name])
    }

    /// The fields of an error, not just its rendering.
    @Test func errorFields() throws {
        let result = JobsConfig.parse([JobsFile(path: "web.yaml", text: "jobs:\n  web:\n    command: [x]\n    replicas: three\n")])
        guard case .failure(let errors) = result else {
            Issue.record("parsed")
            return
        }
        #expect(errors.errors == [
            ConfigError(file: "web.yaml", line: 4, column: 15, keyPath: "jobs.web.replicas",
                        message: "expected a whole number, got \"three\""),
        ])
        #expect(errors.description == "web.yaml: jobs.web.replicas: expected a whole number, got \"three\" (line 4, col 15)")
    }

    @Test func errorsDescriptionIsOnePerLine() {
        let errors = ConfigErrors(errors: [
            ConfigError(file: "a.yaml", line: 1, column: 2, keyPath: "jobs.web", message: "one"),
            ConfigError(file: "a.yaml", line: 3, column: 4, keyPath: "", message: "two"),
        ])
        #expect(errors.description == "a.yaml: jobs.web: one (line 1, col 2)\na.yaml: two (line 3, col 4)")
    }
}
