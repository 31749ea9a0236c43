import ArgumentParser
import DroverWire
import Foundation

struct Resolve: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print where a name is: host:port lines of a job's ready replicas, or of one replica.",
        discussion: "NAME is a job (web: its ready replicas) or a replica (web/2, 2.web). The port is the job's first declared one; --json lists every port by name.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web, web/2 or 2.web") var name: String
    @Flag(help: "Print JSON (name, version, endpoints with every port).") var json = false
    @Flag(name: .customLong("watch"), help: "Keep printing the set each time it changes.") var watch = false

    func validate() throws { _ = try parseName(name) }

    func execute() async throws {
        let (job, index) = try parseName(name)
        try await call {
            var version: UInt64?
            repeat {
                let answer = try await daemon.client.names(job: job, index: index, changedSince: version, timeout: "60s")
                if answer.version != version {
                    try show(answer)
                    fflush(nil)
                }
                version = answer.version
            } while watch
        }
    }

    /// `host:port` lines (a blank line after each set with --watch), or the JSON answer.
    private func show(_ answer: NameAnswer) throws {
        if json { return try printJSON(answer) }
        for endpoint in answer.endpoints { print("\(endpoint.host):\(endpoint.port)") }
        if watch { print("") }
    }
}
