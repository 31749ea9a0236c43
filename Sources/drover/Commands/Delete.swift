import ArgumentParser

struct Delete: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a job's replicas and forget it, state directories included.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job.") var job: String
    func validate() throws { try requireJob(job, for: "delete") }
    func execute() async throws { try await call { print(try await daemon.client.delete(job: job).message) } }
}
