import ArgumentParser

struct Start: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Start a stopped (or failed) job again.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job.") var job: String
    func validate() throws { try requireJob(job, for: "start") }
    func execute() async throws { try await call { print(try await daemon.client.start(job: job).message) } }
}
