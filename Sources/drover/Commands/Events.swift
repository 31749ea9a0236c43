import ArgumentParser
import DroverCore
import DroverWire
import Foundation

struct Events: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "What droverd did and saw: starts, exits, restarts, applies.")

    @OptionGroup var daemon: DaemonOptions
    @Flag(name: .shortAndLong, help: "Keep following.") var follow = false
    @Option(help: ArgumentHelp("Only events this recent, e.g. 10m.", valueName: "duration")) var since: String?
    @Flag(help: "Print JSON lines.") var json = false

    func validate() throws { try requireDuration(since, option: "--since") }

    func execute() async throws {
        var start: Double?
        if let since {
            let duration = try Quantity.duration(since)
            start = Date().timeIntervalSince1970 - Double(duration.components.seconds) - Double(duration.components.attoseconds) / 1e18
        }
        try await call {
            try await daemon.client.events(since: start, follow: follow) { show($0) }
        }
    }

    /// One line per event: JSON with --json, else `TIME  SUBJECT  KIND  MESSAGE`.
    private func show(_ event: Event) {
        if json, let data = try? Self.lineEncoder.encode(event) {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(event.time)  \(event.subject)  \(event.kind)  \(event.message)")
        }
        fflush(nil)
    }

    private static var lineEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
