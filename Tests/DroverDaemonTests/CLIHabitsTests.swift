import DroverLinux
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
        try #require(result.code == 0, "ps failed: \(result.stderr) \(daemon.log.suffix(2000))")
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

    func names(_ daemon: TestDaemon) throws -> Set<String> { Set(try jobs(daemon).map(\.name)) }

    /// drover-init's pid by index: one per run of a replica (`pid`, the workload's, falls back
    /// to it for the moment between the workload's exit and drover-init's).
    func pids(_ daemon: TestDaemon, _ job: String) throws -> [Int: Int32] {
        var result: [Int: Int32] = [:]
        for replica in try jobs(daemon).first(where: { $0.name == job })?.replicas ?? [] { if let pid = replica.initPid { result[replica.index] = pid } }
        return result
    }

    func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    @Test func applyCreatesAndUpdatesAndPrunesOnlyItsOwnSource() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let a = daemon.job("a"), b = daemon.job("b"), c = daemon.job("c")
        try #require(try daemon.apply("jobs:\n" + job(a, replicas: 1, script: "exec sleep 1000") + job(b, replicas: 1, script: "exec sleep 1000"), name: "first.yaml").code == 0)
        let second = try daemon.apply("jobs:\n" + job(c, replicas: 1, script: "exec sleep 1000"), name: "second.yaml")
        #expect(second.code == 0, "\(second.stderr)")
        #expect(second.stdout == "\(c) created\n", "says only what it did: \(second.stdout)")
        #expect(try names(daemon) == [a, b, c], "a second file keeps the first file's jobs")

        // first.yaml now declares only a: --prune deletes b (same source), never c (another).
        daemon.writeFile("first.yaml", "jobs:\n" + job(a, replicas: 1, script: "exec sleep 1000"))
        let plain = try daemon.drover(["apply", daemon.directory + "/first.yaml"])
        #expect(plain.code == 0 && !plain.stdout.contains("deleted"), "no --prune, nothing deleted: \(plain.stdout)")
        #expect(try names(daemon) == [a, b, c])
        let dry = try daemon.drover(["apply", "--dry-run", "--prune", daemon.directory + "/first.yaml"])
        #expect(dry.code == 0 && dry.stdout.contains("(dry run) \(b) deleted") && !dry.stdout.contains("\(c) deleted"), "\(dry.stdout)")
        #expect(try names(daemon) == [a, b, c], "a dry run changes nothing")
        let pruned = try daemon.drover(["apply", "--prune", daemon.directory + "/first.yaml"])
        #expect(pruned.code == 0 && pruned.stdout.contains("\(b) deleted"), "\(pruned.stdout) \(pruned.stderr)")
        #expect(try names(daemon) == [a, c], "only first.yaml's own job went")

        // second.yaml renamed its job: pruning would delete every job there is only with --prune-all.
        try #require(try daemon.drover(["delete", a]).code == 0)
        let d = daemon.job("d")
        daemon.writeFile("second.yaml", "jobs:\n" + job(d, replicas: 1, script: "exec sleep 1000"))
        let refused = try daemon.drover(["apply", "--prune", daemon.directory + "/second.yaml"])
        #expect(refused.code == 1 && refused.stderr.contains("would delete every job") && refused.stderr.contains("--prune-all"), "\(refused.stderr)")
        #expect(try names(daemon) == [c], "refused, nothing changed")
        let all = try daemon.drover(["apply", "--prune", "--prune-all", daemon.directory + "/second.yaml"])
        #expect(all.code == 0, "\(all.stderr)")
        #expect(try names(daemon) == [d])
        #expect(try daemon.drover(["apply", "--prune-all", daemon.directory + "/second.yaml"]).code == 2, "--prune-all alone is a usage error")
    }

    @Test func theConfigDirectoryIsOneSourceAndReloads() throws {
        let config = "/var/lib/drover-test/config-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir("/var/lib/drover-test", 0o755)
        mkdir(config, 0o755)
        defer { removeTree(config) }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        // TestDaemon names jobs with its own suffix; these are written before it exists.
        write(config + "/web.yaml", "jobs:\n" + job("cfg-\(suffix)", replicas: 1, script: "exec sleep 1000"))
        let daemon = try TestDaemon(extraArguments: ["--config", config])
        defer {
            daemon.destroy()
            if let tree = try? CgroupTree.prepare() {
                for entry in listDirectory(tree.root) where entry.contains(suffix) { try? CgroupLeaf(existing: tree.root + "/" + entry).destroy() }
            }
        }
        let fromConfig = "cfg-\(suffix)", fromCLI = daemon.job("cli")
        #expect(try eventually { try names(daemon) == [fromConfig] })
        try #require(try daemon.apply("jobs:\n" + job(fromCLI, replicas: 1, script: "exec sleep 1000")).code == 0)

        // A restart re-applies the directory and keeps the CLI's job.
        daemon.kill(SIGTERM)
        try daemon.start()
        #expect(try names(daemon) == [fromConfig, fromCLI], "a CLI-applied job survives a droverd restart with --config")

        // An edited directory: SIGHUP picks it up, deleting only the directory's own job.
        let second = "cfg2-\(suffix)"
        write(config + "/web.yaml", "jobs:\n" + job(second, replicas: 1, script: "exec sleep 1000"))
        daemon.process?.signal(SIGHUP)
        let afterHangup = try eventually { try names(daemon) == [second, fromCLI] }
        #expect(afterHangup, "after SIGHUP: \((try? names(daemon)) ?? [])")

        // drover reload does the same, and says what it did.
        let third = "cfg3-\(suffix)"
        write(config + "/web.yaml", "jobs:\n" + job(second, replicas: 1, script: "exec sleep 1000") + job(third, replicas: 1, script: "exec sleep 1000"))
        let reload = try daemon.drover(["reload"])
        #expect(reload.code == 0 && reload.stdout.contains("\(third) created") && reload.stdout.contains("\(second) unchanged"), "\(reload.stdout) \(reload.stderr)")
        #expect(try names(daemon) == [second, third, fromCLI])

        // A broken directory: reload refused with the error, nothing changed.
        write(config + "/web.yaml", "jobs:\n  x:\n    replicas: lots\n")
        let broken = try daemon.drover(["reload"])
        #expect(broken.code == 1 && broken.stderr.contains("replicas"), "\(broken.stderr)")
        #expect(try names(daemon) == [second, third, fromCLI])
    }

    @Test func reloadWithoutConfigSaysSo() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let result = try daemon.drover(["reload"])
        #expect(result.code == 1 && result.stderr.contains("without --config"), "\(result.stderr)")
        // SIGHUP, which would end a process that does not handle it, is logged and ignored.
        daemon.process?.signal(SIGHUP)
        #expect(try eventually(timeout: 5) { daemon.log.contains("nothing to reload") })
        #expect(try daemon.drover(["ps"]).code == 0, "droverd still serves after SIGHUP")
    }

    @Test func scaleSetsTheCountAndKeepsTheRest() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let name = daemon.job("web")
        try #require(try daemon.apply("jobs:\n" + job(name, replicas: 1, script: "exec sleep 1000")).code == 0)
        #expect(try eventually { try pids(daemon, name).count == 1 })
        let first = try pids(daemon, name)[0]
        let scaled = try daemon.drover(["scale", name, "3"])
        #expect(scaled.code == 0, "\(scaled.stderr)")
        #expect(try eventually { try pids(daemon, name).count == 3 })
        #expect(try pids(daemon, name)[0] == first, "scaling does not restart the replicas that stay")
        #expect(try daemon.drover(["scale", name, "1"]).code == 0)
        #expect(try eventually { try jobs(daemon).first { $0.name == name }?.replicas.count == 1 })
        let usage = try daemon.drover(["scale", "\(name)/0", "2"])
        #expect(usage.code == 2 && usage.stderr.contains("scale takes a job"), "\(usage.stderr)")
        #expect(try daemon.drover(["scale", name, "-1"]).code == 2)
        #expect(try daemon.drover(["scale", "no-such-job-\(daemon.suffix)", "2"]).code == 1)
    }

    @Test func restartIsRollingAndOneReplicaAlone() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let name = daemon.job("web")
        try #require(try daemon.apply("jobs:\n" + job(name, replicas: 2, script: "exec sleep 1000")
            + "    lameduck: {grace: 1s}\n").code == 0)
        #expect(try eventually { try pids(daemon, name).count == 2 && jobs(daemon).first { $0.name == name }!.replicas.allSatisfy { $0.state == "ready" } })
        let before = try pids(daemon, name)

        // One replica: only it is replaced.
        let one = try daemon.drover(["restart", "\(name)/1"])
        #expect(one.code == 0, "\(one.stderr)")
        #expect(try eventually { let now = try pids(daemon, name); return now[1] != nil && now[1] != before[1] })
        #expect(try pids(daemon, name)[0] == before[0], "restart web/1 leaves web/0 alone")

        // The job: every replica replaced, one at a time (the second only after the first came back).
        let middle = try pids(daemon, name)
        let all = try daemon.drover(["restart", name])
        #expect(all.code == 0 && all.stdout.contains("rolling restart of 2 replicas"), "\(all.stdout) \(all.stderr)")
        let rolled = try eventually(timeout: 30) {
            let now = try pids(daemon, name)
            let ready = try jobs(daemon).first { $0.name == name }!.replicas.allSatisfy { $0.state == "ready" }
            return now.count == 2 && now[0] != middle[0] && now[1] != middle[1] && ready
        }
        #expect(rolled)
        let events = try daemon.drover(["events"]).stdout.split(separator: "\n").map(String.init)
        let updating = events.filter { $0.contains("updating") && $0.contains(name + "/") }
        #expect(updating.count == 2, "\(updating)")
        // The order: web/0 replaced and started again before web/1 is touched.
        if let firstUpdate = events.firstIndex(where: { $0.contains("\(name)/0  updating") }),
           let secondUpdate = events.firstIndex(where: { $0.contains("\(name)/1  updating") }) {
            let restarted = events[firstUpdate..<secondUpdate].contains { $0.contains("\(name)/0  started") }
            #expect(restarted, "\(name)/0 came back before \(name)/1 was evicted: \(events)")
        } else {
            Issue.record("no updating events: \(events)")
        }
        // Applying the same file again is not a change (the restart count stays with the job).
        let again = try daemon.apply("jobs:\n" + job(name, replicas: 2, script: "exec sleep 1000") + "    lameduck: {grace: 1s}\n")
        #expect(again.stdout.contains("\(name) unchanged"), "\(again.stdout)")
    }
}
