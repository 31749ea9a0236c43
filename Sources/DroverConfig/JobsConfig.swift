import DroverCore
internal import Yams

/// The jobs-file parser and validator (SPEC §1, defaults from §9).
///
/// Every error names the file, line, column and key path, and all of them are collected in one
/// run; a set of files yields either every job or the errors, never part of the jobs.
///
/// Where SPEC §1 is silent, drover does what Kubernetes and Nomad users expect:
/// - A file may hold several documents (`---`), and empty ones among them. A file that declares
///   nothing at all (empty, only comments, only `---`), a document that is an empty mapping,
///   and `jobs:` with nothing under it are errors: applied, they would delete every job
///   without a word. `jobs: {}` declares no jobs on purpose. A document whose top level is
///   not a mapping is an error.
/// - `key:` with no value (or `~`, `null`) means "not given", as in Kubernetes: defaults apply.
///   Exceptions, because no default exists: `command:` ("must not be empty"), an `env` value
///   (write `""`), and a health probe (`http:`, `tcp:`, `exec:`).
/// - Strings are taken as written: an unquoted `10` in `command` or `env` is "10", `yes` is
///   "yes" (no YAML 1.1 boolean surprises). Numbers are not taken from strings: `replicas: "3"`
///   is an error, as in Kubernetes.
/// - Sizes and CPU accept a bare number (`memory: 1048576` bytes, `cpu: 2` cores); durations
///   need a unit (`grace: 30` is an error: 30 what?).
/// - Duplicate keys in any mapping are errors (reported at the later occurrence); a job name
///   declared twice, in one file or across files, is an error naming both places; so is a
///   `service.port` used by two jobs.
/// - YAML anchors, aliases and merge keys (`<<: *defaults`) work, as with Kubernetes' parser,
///   within bounds (`YAMLBounds`): at most 100000 nodes per document and 1000000 in all the
///   files together, each alias and merge key counted as everything it brings in, and 64
///   levels of nesting.
/// - Job names are DNS labels (RFC 1123, ≤ 63 characters); port names follow Kubernetes
///   (IANA service names: lowercase letter first, letters, digits and single hyphens, ≤ 15);
///   `env` names are POSIX portable names (`[A-Za-z_][A-Za-z0-9_]*`) and may not be
///   `DROVER_*` or a declared port's `PORT_<NAME>` (drover sets those; PATH, HOME and TMPDIR
///   may be overridden).
/// - `${VAR}` in `command` must name a variable every replica has: DROVER_JOB,
///   DROVER_REPLICA, DROVER_REPLICAS, DROVER_NAME, DROVER_STATE_DIR, DROVER_LAMEDUCK_FILE,
///   TMPDIR, PATH, HOME, PORT_<NAME> of a declared port, or an `env` key. Health `exec`
///   commands are not checked.
/// - A batch job may not have `restart.policy: always` (a succeeded index is done, as with
///   Kubernetes Jobs). `max_failures` is accepted for serving jobs too.
/// - `resources.memory` and `pids` must be more than 0; `restart.backoff.initial` may be 0s (restart at once, every time: like systemd's RestartSec=0, for latency-critical jobs)
///   and at most `max`; `multiplier` ≥ 1; `jitter` within 0...1; health `period` and `timeout`
///   more than 0s, `failures` ≥ 1. `lameduck.grace: 0s` is allowed (no grace: kill at once).
/// - Every number has a maximum (`Limits`, listed in README "Limits on values"): replicas
///   10000, cpu 8192 cores, sizes 256Ti, pids 4194304, durations 24h, multiplier 100,
///   failures 10000. YAML 1.1's base-60 numbers (`1:30`) are refused.
/// - A health check names exactly one probe; `port:` goes with `http` only and must name a
///   declared port, as must `tcp:`. `service` needs the job to declare at least one port.
/// - Capabilities are stored by canonical name (NET_BIND_SERVICE) in the order written; one
///   listed twice is an error.
public enum JobsConfig {
    /// Parses every file (each may hold several YAML documents), validates, applies defaults.
    /// The jobs come in the order written (files in the order given).
    /// `portRange`: droverd's allocation range (SPEC §9); a service port inside it is refused,
    /// since a replica could be handed the same port.
    public static func parse(_ files: [JobsFile], portRange: ClosedRange<Int>? = PortAllocator.defaultRange) -> Result<[JobSpec], ConfigErrors> {
        var errors: [(file: Int, error: ConfigError)] = []
        var jobs: [JobSpec] = []
        var declared: [String: (file: Int, position: Position)] = [:]
        var servicePorts: [Int: (job: String, file: Int, position: Position)] = [:]

        var remainingNodes = Limits.yamlNodesInAll
        for (fileIndex, file) in files.enumerated() {
            let composed = YAMLComposer.compose(file.text, remaining: &remainingNodes)
            let reader = ConfigReader(file: file.path, positions: composed.positions)
            for document in composed.documents {
                for job in decodeDocument(document, reader: reader) {
                    let name = job.spec.name
                    if let first = declared[name] {
                        let place = first.file == fileIndex ? "" : "in \(files[first.file].path) "
                        reader.report(KeyPath.root.key("jobs").key(name), at: job.namePosition,
                                      "duplicate job name (first declared \(place)at \(first.position.spoken))")
                        continue
                    }
                    declared[name] = (fileIndex, job.namePosition)
                    if let service = job.servicePort {
                        if let portRange, portRange.contains(service.port) {
                            reader.report(KeyPath.root.key("jobs").key(name).key("service").key("port"), at: service.position,
                                          "port \(service.port) is inside the range droverd allocates replica ports from "
                                          + "(\(portRange.lowerBound)-\(portRange.upperBound)); choose one outside it")
                        } else if let other = servicePorts[service.port] {
                            let place = other.file == fileIndex ? "" : "in \(files[other.file].path) "
                            reader.report(KeyPath.root.key("jobs").key(name).key("service").key("port"), at: service.position,
                                          "port \(service.port) is already the service port of job \"\(other.job)\" "
                                          + "(\(place)at \(other.position.spoken))")
                        } else {
                            servicePorts[service.port] = (name, fileIndex, service.position)
                        }
                    }
                    jobs.append(job.spec)
                }
            }
            if let syntax = composed.syntaxError {
                reader.report(.root, at: syntax.position, syntax.message)
            } else if composed.documents.allSatisfy({ reader.document($0).isNull }) {
                reader.report(.root, at: Position(line: 1, column: 1),
                              "no jobs: the file is empty or holds only comments (write jobs: {} to declare no jobs on purpose)")
            }
            errors += reader.errors.map { (fileIndex, $0) }
            // Past the budget every later file would only repeat that error.
            if remainingNodes < 0 { break }
        }

        guard errors.isEmpty else {
            // Stable: errors at one position keep the order they were found in.
            let sorted = errors.enumerated().sorted { a, b in
                let (x, y) = (a.element, b.element)
                return (x.file, x.error.line, x.error.column, a.offset) < (y.file, y.error.line, y.error.column, b.offset)
            }
            return .failure(ConfigErrors(errors: sorted.map(\.element.error)))
        }
        return .success(jobs)
    }

    /// The jobs of one document: `jobs:` is its only key.
    private static func decodeDocument(_ node: Node, reader: ConfigReader) -> [DecodedJob] {
        let document = reader.document(node)
        if document.isNull { return [] }
        let errorsBefore = reader.errors.count
        guard let top = reader.mapping(document, keys: ["jobs"], expected: "a mapping with the key jobs") else { return [] }
        if let null = top.nullEntry("jobs") {
            reader.report(null, "no jobs: nothing is written under jobs (write jobs: {} to declare no jobs on purpose)")
            return []
        }
        guard let jobsValue = top["jobs"] else {
            // `{}`; a misspelt key (`jobz:`) has been reported with a did-you-mean.
            if reader.errors.count == errorsBefore {
                reader.report(document, "no jobs: the document has no jobs key (write jobs: {} to declare no jobs on purpose)")
            }
            return []
        }
        guard let jobs = reader.mapping(jobsValue, keys: nil, expected: "a mapping of job names to jobs",
                                        duplicate: { "duplicate job name (first declared at \($0.spoken))" })
        else { return [] }
        let decoder = JobDecoder(reader: reader)
        return jobs.entries.map { decoder.decode(name: $0.name, $0.value) }
    }
}
