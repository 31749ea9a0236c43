import ArgumentParser

struct Stop: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a job's replicas (lameduck protocol); the job stays declared.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job.") var job: String
    func validate() throws { try requireJob(job, for: "stop") }
    func execute() async throws { try await call { print(try await daemon.client.stop(job: job).message) } }
}
