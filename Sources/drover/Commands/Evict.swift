import ArgumentParser
import DroverWire

struct Evict: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evict a replica (web/2) or each replica of a job: lameduck notice, grace, then kill.",
        discussion: """
            SPEC §4: the replica leaves names and the service proxy, DROVER_LAMEDUCK_FILE is \
            written (deadline, reason) and the job's lameduck signal sent; at the deadline its \
            whole cgroup is killed. A serving replica is replaced at the same index. Returns once \
            the notices are out; `drover events -f` shows the outcome (graceful or killed).
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2, 2.web or web") var name: String
    @Option(help: ArgumentHelp("Grace period, e.g. 10s (default: the job's lameduck.grace).", valueName: "duration")) var grace: String?
    @Option(help: ArgumentHelp("Why, written into the notice file and the events.", valueName: "text")) var reason: String?

    func validate() throws {
        _ = try parseName(name)
        try requireDuration(grace, option: "--grace")
    }

    func execute() async throws {
        try await call {
            let answer = try await daemon.client.evict(EvictRequest(name: name, grace: grace, reason: reason))
            if answer.evicted.isEmpty { print("nothing to evict: no running replica of \(name)") }
            for replica in answer.evicted { print("\(replica) evicted") }
        }
    }
}
