import ArgumentParser
import DroverClient
import DroverCore
import DroverWire
import Foundation

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

/// A job's name where a command takes a job: `drover stop web/0` is a usage error saying so
/// (before, droverd answered `no route POST /v1/jobs/web/0/stop`).
func requireJob(_ text: String, for command: String, instead: String? = nil) throws {
    let (job, index) = try parseName(text)
    if index != nil {
        let hint = instead.map { "for one replica use \($0)" } ?? "to stop one replica use drover evict \(text)"
        throw ValidationError("\(command) takes a job (\(job)), not a replica (\(text)); \(hint)")
    }
}

/// `web/2` or `2.web` (SPEC §6) → (job, index); `web` → (job, nil).
func parseName(_ text: String) throws -> (job: String, index: Int?) {
    guard let name = ReplicaName.parse(text) else {
        throw ValidationError("\"\(text)\" is not a replica name (\(ReplicaName.expected))")
    }
    return (name.job, name.index)
}

/// A duration option (`--grace 10s`), checked in `validate()`.
func requireDuration(_ text: String?, option: String) throws {
    guard let text else { return }
    do { _ = try Quantity.duration(text) } catch { throw ValidationError("\(option) \(error)") }
}
