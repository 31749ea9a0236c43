import ArgumentParser
import Glibc

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
        try await call {
            // As they arrive, unbuffered: the output is the replica's, byte for byte.
            try await daemon.client.logs(job: job, index: index!, tail: tail, follow: follow) { chunk in
                _ = chunk.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            }
        }
    }
}
