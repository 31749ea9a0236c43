import ArgumentParser
import DroverClient
import DroverCore
import DroverLinux
import DroverWire
import Foundation
import Glibc
import NIOHTTP1

/// A command that talks to droverd. (Its work is async; `main.swift` awaits `execute()`.
/// Dispatching through ArgumentParser's `AsyncParsableCommand` existential picked the
/// help-printing default `run()` here, so drover dispatches through its own protocol.)
protocol DaemonCommand: ParsableCommand {
    func execute() async throws
}

/// Options every command that talks to droverd shares.
struct DaemonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("droverd's API socket.", valueName: "path"))
    var socket: String = ProcessInfo.processInfo.environment["DROVER_SOCKET"] ?? API.defaultSocketPath

    var client: DroverClient { DroverClient(socketPath: socket) }
}

/// Runs a request; maps "cannot connect" to exit 3 and API errors to exit 1 (SPEC §7).
func call(_ work: () async throws -> Void) async throws {
    do {
        try await work()
    } catch let error as ClientError {
        throw fail("\(error)", code: 3)
    } catch let error as ErrorBody {
        var message = error.error + (error.detail.isEmpty ? "" : ": \(error.detail)")
        if let errors = error.errors, !errors.isEmpty { message = "\(error.error):\n" + errors.joined(separator: "\n") }
        throw fail(message, code: 1)
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `web/2` or `2.web` (SPEC §6) → (job, index); `web` → (job, nil).
/// A job's name where a command takes a job: `drover stop web/0` is a usage error saying so
/// (before, droverd answered `no route POST /v1/jobs/web/0/stop`).
func requireJob(_ text: String, for command: String) throws {
    let (job, index) = try parseName(text)
    if index != nil {
        throw ValidationError("\(command) takes a job (\(job)), not a replica (\(text)); to stop one replica use drover evict \(text)")
    }
}

func parseName(_ text: String) throws -> (job: String, index: Int?) {
    guard let name = ReplicaName.parse(text) else {
        throw ValidationError("\"\(text)\" is not a replica name (\(ReplicaName.expected))")
    }
    return (name.job, name.index)
}

struct Apply: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send jobs files to droverd (all-or-nothing).",
        discussion: "Prints what was created, changed, unchanged and deleted. A file with an error changes nothing.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: ArgumentHelp("A jobs file, or a directory of *.yaml files.", valueName: "file|dir"))
    var path: String
    @Flag(name: .customLong("dry-run"), help: "Validate and show the diff without changing anything.")
    var dryRun = false
    @Flag(help: "Print the answer as JSON.")
    var json = false

    func execute() async throws {
        let files = try readJobsFiles(path)
        try await call {
            let answer = try await daemon.client.request(.POST, "/v1/apply", json: ApplyRequest(files: files, dryRun: dryRun),
                                                         requestID: UUID().uuidString).decode(ApplyResponse.self)
            if json { return try printJSON(answer) }
            let prefix = dryRun ? "(dry run) " : ""
            for (word, names) in [("created", answer.created), ("changed", answer.changed), ("unchanged", answer.unchanged), ("deleted", answer.deleted)] {
                for name in names { print("\(prefix)\(name) \(word)") }
            }
        }
    }

    private func readJobsFiles(_ path: String) throws -> [ApplyFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or directory")
        }
        var paths = [path]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            paths = names.sorted().filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }.map { path + "/" + $0 }
            // An empty directory is not "no jobs": applied, it would delete every job.
            if paths.isEmpty { throw ValidationError("\(path): no *.yaml or *.yml file in it") }
        }
        return try paths.map { file in
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("\(file): cannot read it (a dangling or looping link, or no permission)")
            }
            // Refused, not repaired: U+FFFD in place of a bad byte would change the config.
            guard let text = String(validating: data, as: UTF8.self) else {
                let offset = Self.firstInvalidUTF8(data)
                throw ValidationError("\(file): not UTF-8 text (byte 0x\(String(data[data.startIndex + offset], radix: 16, uppercase: true)) at offset \(offset))")
            }
            return ApplyFile(path: file, content: text)
        }
    }

    /// Where the first byte that is not part of a valid UTF-8 character is.
    static func firstInvalidUTF8(_ data: Data) -> Int {
        let bytes = [UInt8](data)
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
            guard length > 0, index + length <= bytes.count,
                  String(validating: bytes[index..<index + length], as: UTF8.self) != nil else { return index }
            index += length
        }
        return max(0, bytes.count - 1)
    }
}

struct Ps: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "List replicas: NAME STATE PID PORTS RESTARTS AGE CPU MEM (and why pending).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "Only this job.") var job: String?
    @Flag(help: "Print JSON (a list of jobs with their replicas; see docs/API.md).") var json = false

    func execute() async throws {
        try await call {
            let path = job.map { "/v1/jobs/\($0)" } ?? "/v1/jobs"
            let response = try await daemon.client.request(.GET, path)
            let jobs = job == nil ? try response.decode([JobStatus].self) : [try response.decode(JobStatus.self)]
            if json { return try printJSON(jobs) }
            var rows = [["NAME", "STATE", "PID", "PORTS", "RESTARTS", "AGE", "CPU", "MEM", ""]]
            for job in jobs {
                if job.replicas.isEmpty { rows.append([job.name, job.state, "-", "-", "-", "-", "-", "-", job.reason ?? ""]) }
                for replica in job.replicas {
                    var why = replica.reason ?? ""
                    if let next = replica.nextAttempt { why = "next attempt \(next)" + (why.isEmpty ? "" : "; \(why)") }
                    if !replica.unenforced.isEmpty { why += (why.isEmpty ? "" : "; ") + "not enforced: " + replica.unenforced.joined(separator: ",") }
                    if replica.hostRoot == true { why = "HOST ROOT" + (why.isEmpty ? "" : "; \(why)") }
                    rows.append([
                        replica.name, replica.state, replica.pid.map(String.init) ?? "-",
                        replica.ports.isEmpty ? "-" : replica.ports.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                        String(replica.restarts), age(replica.startedAt),
                        replica.cpuSeconds.map { String(format: "%.2fs", $0) } ?? "-",
                        replica.memoryBytes.map(humanBytes) ?? "-", why,
                    ])
                }
            }
            printTable(rows)
            if let host = try? await daemon.client.request(.GET, "/v1/host").decode(HostStatus.self), host.drained {
                print("droverd is drained: nothing starts until `drover undrain`")
            }
            for job in jobs where job.reason != nil {
                print("\(job.name): \(job.state): \(job.reason!)")
            }
        }
    }
}

struct Inspect: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Everything known about a replica (web/2) or a job (web).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2, 2.web or web") var name: String
    @Flag(help: "Print JSON.") var json = false

    func execute() async throws {
        let (job, index) = try parseName(name)
        try await call {
            if let index {
                let replica = try await daemon.client.request(.GET, "/v1/replicas/\(job)/\(index)").decode(ReplicaStatus.self)
                if json { return try printJSON(replica) }
                try printFields(replica)
            } else {
                let status = try await daemon.client.request(.GET, "/v1/jobs/\(job)").decode(JobStatus.self)
                if json { return try printJSON(status) }
                try printFields(status)
            }
        }
    }

    private func printFields<T: Encodable>(_ value: T) throws {
        // The same fields as --json, as YAML-ish lines for people.
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
        func show(_ value: Any, indent: String) {
            if let dictionary = value as? [String: Any] {
                for key in dictionary.keys.sorted() {
                    let child = dictionary[key]!
                    if child is [String: Any] || child is [Any] {
                        print("\(indent)\(key):")
                        show(child, indent: indent + "  ")
                    } else {
                        print("\(indent)\(key): \(child)")
                    }
                }
            } else if let array = value as? [Any] {
                for item in array {
                    if item is [String: Any] {
                        print("\(indent)-")
                        show(item, indent: indent + "  ")
                    } else {
                        print("\(indent)- \(item)")
                    }
                }
            }
        }
        show(object, indent: "")
    }
}

struct Logs: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "A replica's stdout and stderr.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2 or 2.web") var name: String
    @Flag(name: .shortAndLong, help: "Keep following, across restarts and rotations.") var follow = false
    @Option(help: ArgumentHelp("Only the last N lines.", valueName: "n")) var tail: Int?

    func validate() throws {
        guard try parseName(name).index != nil else { throw ValidationError("logs need one replica: JOB/INDEX such as web/2") }
        if let tail, tail < 0 { throw ValidationError("--tail \(tail): must be 0 or more") }
    }

    func execute() async throws {
        let (job, index) = try parseName(name)
        var query = "follow=\(follow ? 1 : 0)"
        if let tail { query += "&tail=\(tail)" }
        try await call {
            var errorBody = Data()
            let status = try await daemon.client.stream(.GET, "/v1/logs/\(job)/\(index!)?\(query)") { status, chunk in
                if status == 200 {
                    _ = chunk.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                } else {
                    errorBody.append(chunk)
                }
            }
            if status != 200 { throw (try? JSONDecoder().decode(ErrorBody.self, from: errorBody)) ?? ErrorBody(error: "HTTP \(status)", detail: "") }
        }
    }
}

struct Events: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "What droverd did and saw: starts, exits, restarts, applies.")

    @OptionGroup var daemon: DaemonOptions
    @Flag(name: .shortAndLong, help: "Keep following.") var follow = false
    @Option(help: ArgumentHelp("Only events this recent, e.g. 10m.", valueName: "duration")) var since: String?
    @Flag(help: "Print JSON lines.") var json = false

    func execute() async throws {
        var query = "follow=\(follow ? 1 : 0)"
        if let since {
            let duration: Duration
            do { duration = try Quantity.duration(since) } catch { throw ValidationError("--since \(error)") }
            query += "&since=\(Date().timeIntervalSince1970 - Double(duration.components.seconds))"
        }
        try await call {
            var buffer = Data()
            let status = try await daemon.client.stream(.GET, "/v1/events?\(query)") { status, chunk in
                buffer.append(chunk)
                guard follow, status == 200 else { return }
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = buffer[buffer.startIndex..<newline]
                    buffer = Data(buffer[(newline + 1)...])
                    if let event = try? JSONDecoder().decode(Event.self, from: Data(line)) { show(event) }
                }
            }
            if status != 200 { throw (try? JSONDecoder().decode(ErrorBody.self, from: buffer)) ?? ErrorBody(error: "HTTP \(status)", detail: "") }
            if !follow { for event in try JSONDecoder().decode([Event].self, from: buffer) { show(event) } }
        }
    }

    private func show(_ event: Event) {
        if json, let data = try? JSONEncoder.sortedKeys.encode(event) {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(event.time)  \(event.subject)  \(event.kind)  \(event.message)")
        }
        fflush(nil)
    }
}

/// stop, start, delete: one job each, idempotent by request id.
func performJobAction(_ daemon: DaemonOptions, _ method: HTTPMethod, _ path: String) async throws {
    try await call {
        let answer = try await daemon.client.request(method, path, requestID: UUID().uuidString).decode(ActionResponse.self)
        print(answer.message)
    }
}

struct Stop: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a job's replicas (lameduck protocol); the job stays declared.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job.") var job: String
    func validate() throws { try requireJob(job, for: "stop") }
    func execute() async throws { try await performJobAction(daemon, .POST, "/v1/jobs/\(job)/stop") }
}

struct Start: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Start a stopped (or failed) job again.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job.") var job: String
    func validate() throws { try requireJob(job, for: "start") }
    func execute() async throws { try await performJobAction(daemon, .POST, "/v1/jobs/\(job)/start") }
}

struct Delete: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a job's replicas and forget it, state directories included.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job.") var job: String
    func validate() throws { try requireJob(job, for: "delete") }
    func execute() async throws { try await performJobAction(daemon, .DELETE, "/v1/jobs/\(job)") }
}

// MARK: formatting

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

func age(_ rfc3339: String?) -> String {
    guard let rfc3339, let date = parseRFC3339(rfc3339) else { return "-" }
    let seconds = Int(Date().timeIntervalSince1970 - date)
    if seconds < 120 { return "\(seconds)s" }
    if seconds < 7200 { return "\(seconds / 60)m" }
    if seconds < 172_800 { return "\(seconds / 3600)h" }
    return "\(seconds / 86400)d"
}

/// droverd's `2026-11-30T02:11:57.765Z` → seconds since the epoch, by hand: `ps` of a
/// thousand rows spent most of its time in ISO8601DateFormatter.
func parseRFC3339(_ text: String) -> Double? {
    let digits = text.utf8.map { Int($0) - 48 }
    guard digits.count >= 20 else { return nil }
    func number(_ start: Int, _ count: Int) -> Int? {
        var value = 0
        for index in start..<(start + count) {
            guard (0...9).contains(digits[index]) else { return nil }
            value = value * 10 + digits[index]
        }
        return value
    }
    guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
          let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
    var parts = tm()
    parts.tm_year = Int32(year - 1900)
    parts.tm_mon = Int32(month - 1)
    parts.tm_mday = Int32(day)
    parts.tm_hour = Int32(hour)
    parts.tm_min = Int32(minute)
    parts.tm_sec = Int32(second)
    return Double(timegm(&parts))
}

func humanBytes(_ bytes: UInt64) -> String {
    if bytes >= 1 << 30 { return String(format: "%.1fGi", Double(bytes) / Double(1 << 30)) }
    if bytes >= 1 << 20 { return String(format: "%.1fMi", Double(bytes) / Double(1 << 20)) }
    return String(format: "%.0fKi", Double(bytes) / 1024)
}


extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

struct Exec: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command inside a replica: its PID, mount, UTS and IPC namespaces and its cgroup.",
        discussion: """
            Like `docker exec`: the command runs as the job's user with the job's capabilities, \
            no_new_privs and the default seccomp filter, under a drover-init of its own, with \
            the replica's environment (DROVER_*, PORT_*, the job's env). Output passes through; \
            the exit code is the command's. Needs root (it joins namespaces).
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2 or 2.web") var name: String
    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        guard try parseName(name).index != nil else { throw ValidationError("exec needs one replica: JOB/INDEX such as web/2") }
        if command.isEmpty { throw ValidationError("missing the command: drover exec NAME -- CMD [ARGS...]") }
    }

    func execute() async throws {
        let (job, index) = try parseName(name)
        var replica: ReplicaStatus?
        var spec: JobSpec?
        try await call {
            replica = try await daemon.client.request(.GET, "/v1/replicas/\(job)/\(index!)").decode(ReplicaStatus.self)
            spec = try await daemon.client.request(.GET, "/v1/jobs/\(job)").decode(JobStatus.self).spec
        }
        guard let replica, let spec, let pid = replica.pid, let cgroup = replica.cgroup else {
            throw fail("\(name) has no running process (state \(replica?.state ?? "unknown"))", code: 1)
        }
        guard getuid() == 0 else { throw fail("exec needs root: it joins \(name)'s namespaces", code: 1) }
        var environment = spec.replicaEnvironment(index: index!, ports: replica.ports, stateDirectory: replica.stateDirectory,
                                                  lameduckFile: nil)
        if let term = getenv("TERM") { environment["TERM"] = String(cString: term) }
        let user: UserSpec
        var kept = Set<Capability>()
        do {
            // No user: the job's own uid, which its drover-init runs as (as the host sees it).
            user = try spec.user.map { try UserSpec.parse($0) } ?? Self.hostUser(of: pid)
            for name in spec.capabilities { kept.insert(try Capability.named(name)) }
        } catch {
            throw fail("\(error)", code: 1)
        }
        let sandboxSpec = SandboxSpec(command: command, environment: environment, user: user, workdir: spec.workdir,
                                      capabilities: CapabilityPlan(kept: kept), dieWithParent: true)
        let forwarder: SignalForwarder
        let sandbox: Sandbox
        do {
            forwarder = try SignalForwarder(signals: SignalForwarder.forwardedByInit)
            sandbox = try SandboxLauncher(tree: nil).exec(sandboxSpec, inside: pid, cgroupPath: cgroup)
        } catch let error as LaunchError {
            throw fail(error.description, code: error.exitCode)
        } catch {
            throw fail("\(error)", code: 125)
        }
        let status = forwarder.wait(for: sandbox)
        throw ExitCode(status.exitCode)
    }
}

extension Exec {
    static func hostUser(of pid: Int32) throws -> UserSpec {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func first(_ field: String) -> UInt32? {
            status.split(separator: "\n").first { $0.hasPrefix(field) }?
                .split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { UInt32($0) }
        }
        guard let uid = first("Uid:"), let gid = first("Gid:") else {
            throw InputError("pid \(pid)", "is gone: its uid cannot be read")
        }
        return .id(uid: uid, gid: gid)
    }
}

struct Resolve: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print where a name is: host:port lines of a job's ready replicas, or of one replica.",
        discussion: "NAME is a job (web: its ready replicas) or a replica (web/2, 2.web). The port is the job's first declared one; --json lists every port by name.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web, web/2 or 2.web") var name: String
    @Flag(help: "Print JSON (name, version, endpoints with every port).") var json = false
    @Flag(name: .customLong("watch"), help: "Keep printing the set each time it changes.") var watch = false

    func execute() async throws {
        let (job, index) = try parseName(name)
        let path = "/v1/names/\(job)" + (index.map { "/\($0)" } ?? "")
        try await call {
            var version: UInt64?
            repeat {
                let query = version.map { "?watch=\($0)&timeout=60s" } ?? ""
                let answer = try await daemon.client.request(.GET, path + query).decode(NameAnswer.self)
                if answer.version != version {
                    if json {
                        try printJSON(answer)
                    } else {
                        for endpoint in answer.endpoints { print("\(endpoint.host):\(endpoint.port)") }
                        if watch { print("") }
                    }
                    fflush(nil)
                }
                version = answer.version
            } while watch
        }
    }
}

struct Evict: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evict a replica (web/2) or each replica of a job: lameduck notice, grace, then kill.",
        discussion: """
            SPEC §4: the replica leaves names and the service proxy, DROVER_LAMEDUCK_FILE is \
            written (deadline, reason) and the job's lameduck signal sent; at the deadline its \
            whole cgroup is killed. A serving replica is replaced at the same index. Returns once \
            the notices are out; `drover events -f` shows the outcome (graceful or killed).
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2, 2.web or web") var name: String
    @Option(help: ArgumentHelp("Grace period, e.g. 10s (default: the job's lameduck.grace).", valueName: "duration")) var grace: String?
    @Option(help: ArgumentHelp("Why, written into the notice file and the events.", valueName: "text")) var reason: String?

    func validate() throws {
        _ = try parseName(name)
        if let grace { do { _ = try Quantity.duration(grace) } catch { throw ValidationError("--grace \(error)") } }
    }

    func execute() async throws {
        try await call {
            let answer = try await daemon.client.request(.POST, "/v1/evict", json: EvictRequest(name: name, grace: grace, reason: reason),
                                                         requestID: UUID().uuidString).decode(EvictResponse.self)
            if answer.evicted.isEmpty { print("nothing to evict: no running replica of \(name)") }
            for replica in answer.evicted { print("\(replica) evicted") }
        }
    }
}

struct Drain: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evict every replica (lowest priority first) and start nothing until undrain.")

    @OptionGroup var daemon: DaemonOptions
    @Option(help: ArgumentHelp("Grace period for every replica (default: each job's).", valueName: "duration")) var grace: String?

    func validate() throws {
        if let grace { do { _ = try Quantity.duration(grace) } catch { throw ValidationError("--grace \(error)") } }
    }

    func execute() async throws {
        try await call {
            let answer = try await daemon.client.request(.POST, "/v1/drain", json: DrainRequest(grace: grace),
                                                         requestID: UUID().uuidString).decode(EvictResponse.self)
            print("drained: \(answer.evicted.count) replicas evicted; nothing starts until `drover undrain`")
        }
    }
}

struct Undrain: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "End a drain: every job comes back to its declared count.")
    @OptionGroup var daemon: DaemonOptions

    func execute() async throws {
        try await call {
            _ = try await daemon.client.request(.POST, "/v1/undrain", requestID: UUID().uuidString).decode(HostStatus.self)
            print("undrained")
        }
    }
}
