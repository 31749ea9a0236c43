import ArgumentParser

/// `drover restart JOB` (a rolling restart, as `kubectl rollout restart`: one replica at a
/// time through the lameduck protocol, the next only once the new one is ready) or `drover
/// restart web/2` (that replica alone, replaced at its index).
struct Restart: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Restart a job's replicas one at a time (rolling), or one replica.")
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web (each replica, rolling) or web/2") var name: String

    func validate() throws { _ = try parseName(name) }

    func execute() async throws {
        let (job, index) = try parseName(name)
        try await call {
            let answer = try await daemon.client.restart(job: job, index: index)
            if index != nil {
                print("\(name) restarting")
            } else {
                print("\(job): rolling restart of \(answer.evicted.count) replica\(answer.evicted.count == 1 ? "" : "s") begun (drover ps \(job) shows its progress)")
            }
        }
    }
}
