import ArgumentParser
import DroverCore

/// `drover scale JOB N`, as `kubectl scale`: the job's replica count; the rest of its spec
/// stays. A later apply of the job's file sets the count the file declares.
struct Scale: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Set a job's replica count.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job.") var job: String
    @Argument(help: ArgumentHelp("How many replicas.", valueName: "n")) var replicas: Int

    func validate() throws {
        try requireJob(job, for: "scale", instead: "drover scale \(try parseName(job).job) N")
        guard (0...Limits.replicas).contains(replicas) else {
            throw ValidationError("replicas \(replicas): must be 0 to \(Limits.replicas)")
        }
    }

    func execute() async throws {
        try await call {
            let answer = try await daemon.client.scale(job: job, replicas: replicas)
            print(answer.unchanged.isEmpty ? "\(job) scaled to \(replicas)" : "\(job) already has \(replicas)")
        }
    }
}
