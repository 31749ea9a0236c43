import ArgumentParser
import DroverCore
import DroverDaemon
import DroverWire
import Foundation

/// droverd: keeps the declared replicas running (SPEC §8). Thin: parses flags, runs the daemon.
struct Droverd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "droverd",
        abstract: "Keep declared replicas running, each in its own sandbox.",
        discussion: """
            Crash-only: killing droverd (even with SIGKILL) leaves replicas running, and the next \
            droverd re-adopts them; service ports keep reaching them meanwhile (their steering \
            programs are pinned under <state-dir>/bpf). SIGTERM or SIGINT stops serving the API \
            and exits, leaving replicas running, unless --stop-replicas-on-exit.
            """
    )

    @Option(help: ArgumentHelp("Apply every *.yaml in this directory at start.", valueName: "dir"))
    var config: String?

    @Option(help: ArgumentHelp("The API's Unix socket.", valueName: "path"))
    var socket: String = API.defaultSocketPath

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where droverd keeps its store, logs and replica state.", valueName: "dir"))
    var stateDirectory: String = API.defaultStateDirectory

    @Flag(name: .customLong("strict-limits"), help: "Refuse to start replicas whose limits this host cannot enforce.")
    var strictLimits = false

    @Flag(name: .customLong("stop-replicas-on-exit"), help: "On SIGTERM, evict every replica before exiting.")
    var stopReplicasOnExit = false

    @Option(name: .customLong("service-address"), help: ArgumentHelp("Address the service proxies listen on.", valueName: "ip"))
    var serviceAddress: String = "127.0.0.1"

    @Flag(name: .customLong("service-relay-only"),
          help: "Relay every service connection through droverd instead of steering it to a replica in the kernel.")
    var serviceRelayOnly = false

    @Option(name: .customLong("uid-range"), help: ArgumentHelp("Host uids (and gids) given to jobs without a user, FIRST-LAST (default 61184-65519, systemd's DynamicUser= range).", valueName: "first-last"))
    var uidRange: String = "\(DynamicIdentity.defaultJobRange.lowerBound)-\(DynamicIdentity.defaultJobRange.upperBound)"

    @Flag(help: "Refuse jobs that give up isolation (host_root: true), at start and on apply.")
    var strict = false

    func validate() throws {
        _ = try parsedUIDRange()
    }

    func parsedUIDRange() throws -> ClosedRange<UInt32> {
        let parts = uidRange.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = UInt32(parts[0]), let last = UInt32(parts[1]), first <= last else {
            throw ValidationError("--uid-range \"\(uidRange)\": expected FIRST-LAST such as 61184-65519")
        }
        guard first >= 1000, last < 4_294_967_295, !(first...last).contains(65_535) else {
            throw ValidationError("--uid-range \"\(uidRange)\": must lie within 1000-4294967294 and not contain 65535 (reserved)")
        }
        return first...last
    }

    @Option(help: ArgumentHelp("What replicas may request in all, e.g. cpu=2,memory=20Gi (default: detected).", valueName: "cpu=N,memory=SIZE"))
    var capacity: String?

    func execute() async throws {
        do {
            try await runDaemon(DaemonOptions(configDirectory: config, socketPath: socket, stateDirectory: stateDirectory,
                                              strictLimits: strictLimits, stopReplicasOnExit: stopReplicasOnExit,
                                              capacity: capacity, serviceAddress: serviceAddress,
                                              serviceRelayOnly: serviceRelayOnly, uidRange: try parsedUIDRange(), strict: strict))
        } catch let error as DaemonStartError {
            FileHandle.standardError.write(Data("droverd: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

// ArgumentParser's AsyncParsableCommand dispatch does not find this module's conformance at
// run time (it prints help); parse, then await explicitly.
do {
    let command = try Droverd.parse()
    try await command.execute()
} catch {
    Droverd.exit(withError: error)
}
