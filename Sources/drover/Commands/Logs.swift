import ArgumentParser
import DroverWire
import Foundation
import Glibc

/// `drover logs web/2`: one replica's output, byte for byte. `drover logs web`: every replica
/// of the job, each line prefixed `web/2 | ` as `kubectl logs -l` and `docker compose logs`
/// do, interleaved as the lines arrive (the replicas there when the command starts).
struct Logs: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "A replica's stdout and stderr, or every replica's of a job, prefixed.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2 or 2.web (one replica), or web (each of its replicas)") var name: String
    @Flag(name: .shortAndLong, help: "Keep following, across restarts and rotations.") var follow = false
    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Only the last N lines (of each replica).", valueName: "n")) var tail: Int?

    func validate() throws {
        _ = try parseName(name)
        if let tail, tail < 0 { throw ValidationError("--tail \(tail): must be 0 or more") }
    }

    func execute() async throws {
        let (job, index) = try parseName(name)
        if let index {
            try await call {
                // As they arrive, unbuffered: the output is the replica's, byte for byte.
                try await daemon.client.logs(job: job, index: index, tail: tail, follow: follow) { chunk in
                    writeAll(chunk)
                }
            }
            return
        }
        try await call {
            let replicas = try await daemon.client.ps(job: job).flatMap(\.replicas).map(\.index).sorted()
            let client = daemon.client
            let tail = tail, follow = follow
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in replicas {
                    group.addTask {
                        let prefix = Data("\(job)/\(index) | ".utf8)
                        var pending = Data()
                        try await client.logs(job: job, index: index, tail: tail, follow: follow) { chunk in
                            pending.append(chunk)
                            // Whole lines only, so that two replicas' lines never mix.
                            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                                writeAll(prefix + pending[pending.startIndex...newline])
                                pending = Data(pending[(newline + 1)...])
                            }
                        }
                        if !pending.isEmpty { writeAll(prefix + pending + Data("\n".utf8)) }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

/// Writes all of `data` to stdout in one `write` where it fits (lines of concurrent streams
/// stay whole: a pipe writes up to PIPE_BUF bytes atomically).
private func writeAll(_ data: Data) {
    data.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }
}
