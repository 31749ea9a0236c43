import ArgumentParser
import DroverWire

struct Drain: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evict every replica (lowest priority first) and start nothing until undrain.")

    @OptionGroup var daemon: DaemonOptions
    @Option(help: ArgumentHelp("Grace period for every replica (default: each job's).", valueName: "duration")) var grace: String?

    func validate() throws {
        try requireDuration(grace, option: "--grace")
    }

    func execute() async throws {
        try await call {
            let answer = try await daemon.client.drain(DrainRequest(grace: grace))
            print("drained: \(answer.evicted.count) replicas evicted; nothing starts until `drover undrain`")
        }
    }
}
