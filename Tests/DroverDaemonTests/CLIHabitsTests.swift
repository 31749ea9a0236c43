import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// Issue 14: the CLI behaves as kubectl, Nomad and systemd users expect, through the real CLI
/// and droverd.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct CLIHabitsTests {
    func jobs(_ daemon: TestDaemon) throws -> [JobStatus] {
        let result = try daemon.drover(["ps", "--json"])
        try #require(result.code == 0, "ps failed: \(result.stderr)")
        return try JSONDecoder().decode([JobStatus].self, from: Data(result.stdout.utf8))
    }

    func eventually(timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    func job(_ name: String, replicas: Int, script: String) -> String {
        """
          \(name):
            replicas: \(replicas)
            command: ["/bin/sh", "-c", \(yamlQuoted(script))]

        """
    }

    @Test func eventsFollowSinceShowsOnlyRecentEvents() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let old = daemon.job("old"), new = daemon.job("new")
        try #require(try daemon.apply("jobs:\n" + job(old, replicas: 1, script: "exec sleep 1000"), name: "old.yaml").code == 0)
        #expect(try eventually { try jobs(daemon).first { $0.name == old }?.replicas.first?.pid != nil })
        sleep(2)
        let follower = try TestProcess([TestEnvironment.drover, "events", "-f", "--since", "1s", "--socket", daemon.socket])
        defer { follower.signal(SIGKILL); follower.finish(timeout: 5) }
        usleep(500_000)
        try #require(try daemon.apply("jobs:\n" + job(old, replicas: 1, script: "exec sleep 1000") + job(new, replicas: 1, script: "exec sleep 1000"),
                                     name: "old.yaml").code == 0)
        #expect(follower.stdout.read(until: "\(new)/0", timeout: 20), "the new job's events arrive: \(follower.stdout.text)")
        #expect(!follower.stdout.text.contains("\(old)/0"), "older than 1s, yet printed: \(follower.stdout.text)")

        // Control: without --since the same stream does show the old job's events.
        let everything = try TestProcess([TestEnvironment.drover, "events", "-f", "--socket", daemon.socket])
        defer { everything.signal(SIGKILL); everything.finish(timeout: 5) }
        #expect(everything.stdout.read(until: "\(old)/0", timeout: 20), "control: \(everything.stdout.text)")
    }

    @Test func logsOfAJobInterleaveEveryReplicaPrefixed() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let name = daemon.job("talk")
        let script = "echo \"first of $DROVER_REPLICA\"; echo \"last of $DROVER_REPLICA\"; exec sleep 1000"
        try #require(try daemon.apply("jobs:\n" + job(name, replicas: 2, script: script)).code == 0)
        #expect(try eventually {
            let result = try daemon.drover(["logs", name])
            return result.stdout.contains("\(name)/1 | last of 1") && result.stdout.contains("\(name)/0 | last of 0")
        })
        let all = try daemon.drover(["logs", name])
        #expect(all.code == 0, "\(all.stderr)")
        let lines = all.stdout.split(separator: "\n").map(String.init)
        #expect(Set(lines) == ["\(name)/0 | first of 0", "\(name)/0 | last of 0", "\(name)/1 | first of 1", "\(name)/1 | last of 1"],
                "\(all.stdout)")

        let tail = try daemon.drover(["logs", "-n", "1", name])
        #expect(tail.code == 0, "\(tail.stderr)")
        #expect(Set(tail.stdout.split(separator: "\n").map(String.init)) == ["\(name)/0 | last of 0", "\(name)/1 | last of 1"],
                "-n 1: \(tail.stdout)")

        // One replica: its bytes as they are, no prefix.
        let one = try daemon.drover(["logs", "--tail", "1", "\(name)/1"])
        #expect(one.stdout == "last of 1\n", "\(one.stdout)")
    }
}
