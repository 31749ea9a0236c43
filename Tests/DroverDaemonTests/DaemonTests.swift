import DroverClient
import DroverCore
import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// droverd end to end: the real daemon binary, driven through the real CLI, replicas observed
/// through /proc, cgroups and their own output. One daemon per test, one test at a time (they
/// share the host's port range and CPU).
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct DaemonTests {
    let testload = TestEnvironment.testload

    func jobs(_ daemon: TestDaemon) throws -> [JobStatus] {
        let result = try daemon.drover(["ps", "--json"])
        try #require(result.code == 0, "ps failed: \(result.stderr)")
        return try JSONDecoder().decode([JobStatus].self, from: Data(result.stdout.utf8))
    }

    func replicas(_ daemon: TestDaemon, _ job: String) throws -> [ReplicaStatus] {
        try jobs(daemon).first { $0.name == job }?.replicas ?? []
    }

    /// Polls until `condition` holds (or the timeout passes); returns whether it held.
    func eventually(timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    func serving(_ name: String, replicas: Int, command: [String], extra: String = "") -> String {
        """
          \(name):
            replicas: \(replicas)
            command: [\(command.map(yamlQuoted).joined(separator: ", "))]
        \(extra)
        """
    }

    // MARK: apply and reconcile

    @Test func applyingTwiceChangesNothingAndKeepsEveryPID() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        let config = "jobs:\n" + serving(web, replicas: 3, command: [testload, "pause"])
        let first = try daemon.apply(config)
        #expect(first.code == 0, "\(first.stderr)")
        #expect(first.stdout.contains("\(web) created"))
        #expect(try eventually { try replicas(daemon, web).filter { $0.state == "ready" }.count == 3 })
        let pids = try replicas(daemon, web).map(\.pid)
        let second = try daemon.apply(config)
        #expect(second.stdout.contains("\(web) unchanged"), "\(second.stdout)")
        usleep(300_000)
        #expect(try replicas(daemon, web).map(\.pid) == pids, "the same processes run")
    }

    @Test func scalesUpAndDownByIndex() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        for (count, expected) in [(3, [0, 1, 2]), (5, [0, 1, 2, 3, 4]), (2, [0, 1])] {
            try daemon.apply("jobs:\n" + serving(web, replicas: count, command: [testload, "pause"], extra: "    lameduck: {grace: 1s}"))
            #expect(try eventually {
                let live = try replicas(daemon, web)
                return live.map(\.index) == expected && live.allSatisfy { $0.state == "ready" }
            }, "replicas \(expected) of \(web)")
        }
        let tree = try CgroupTree.prepare()
        let leaves = try FileManager.default.contentsOfDirectory(atPath: tree.root).filter { $0.hasPrefix(web + ".") }
        #expect(leaves.sorted() == ["\(web).0", "\(web).1"], "scaled-down indices' cgroups are gone")
    }

    @Test func changedCommandReplacesTheReplicas() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        try daemon.apply("jobs:\n" + serving(web, replicas: 2, command: [testload, "pause"], extra: "    lameduck: {grace: 1s}"))
        #expect(try eventually { try replicas(daemon, web).filter { $0.state == "ready" }.count == 2 })
        let before = try replicas(daemon, web).compactMap(\.pid)
        let changed = try daemon.apply("jobs:\n" + serving(web, replicas: 2, command: [testload, "trap-term"], extra: "    lameduck: {grace: 1s}"))
        #expect(changed.stdout.contains("\(web) changed"))
        #expect(try eventually {
            let now = try replicas(daemon, web)
            return now.count == 2 && now.allSatisfy { replica in replica.state == "ready" && replica.pid.map { !before.contains($0) } == true }
        }, "both replicas replaced")
        for replica in try replicas(daemon, web) {
            // The workload's own argv (ps shows the program's pid).
            let cmdline = (try? String(contentsOfFile: "/proc/\(replica.pid ?? 0)/cmdline", encoding: .utf8)) ?? ""
            #expect(cmdline.contains("trap-term"), "\(replica.name) runs the new command: \(cmdline)")
        }
    }

    @Test func badConfigIsRefusedWithItsPositionAndChangesNothing() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        try daemon.apply("jobs:\n" + serving(web, replicas: 1, command: [testload, "pause"]))
        #expect(try eventually { try replicas(daemon, web).first?.state == "ready" })
        let pid = try replicas(daemon, web).first?.pid
        let bad = try daemon.apply("""
            jobs:
              \(web):
                replicas: 4
                command: ["\(testload)", "pause"]
                resources:
                  memory: lots
            """, name: "bad.yaml")
        #expect(bad.code == 1)
        #expect(bad.stderr.contains("bad.yaml: jobs.\(web).resources.memory: \"lots\" is not a size"), "\(bad.stderr)")
        #expect(bad.stderr.contains("(line 6, col 15)"), "\(bad.stderr)")
        usleep(300_000)
        let after = try replicas(daemon, web)
        #expect(after.count == 1 && after.first?.pid == pid, "nothing changed")
    }

    // MARK: restarts

    @Test func failingReplicaIsRestartedWithGrowingDelays() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("flaky")
        try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: [testload, "exit", "1"],
                                             extra: "    restart: {backoff: {initial: 200ms, max: 5s, multiplier: 2, jitter: 0}}"))
        #expect(try eventually(timeout: 30) { (try replicas(daemon, job).first?.restarts ?? 0) >= 3 })
        let replica = try #require(try replicas(daemon, job).first)
        #expect(replica.lastExit == "exit code 1")
        let ps = try daemon.drover(["ps", job])
        #expect(ps.stdout.contains("next attempt") || ps.stdout.contains("crashlooping") || ps.stdout.contains("starting"), "\(ps.stdout)")
        let events = try daemon.drover(["events", "--json"]).stdout
        let starts = events.split(separator: "\n").compactMap { try? JSONDecoder().decode(Event.self, from: Data($0.utf8)) }
            .filter { $0.subject == "\(job)/0" && $0.kind == "started" }
            .compactMap { ISO8601DateFormatter.withFractions.date(from: $0.time) }
        try #require(starts.count >= 4, "\(starts)")
        let gaps = zip(starts.dropFirst(), starts).map { $0.timeIntervalSince($1) }
        #expect(gaps[1] > gaps[0] * 1.5 && gaps[2] > gaps[1] * 1.5, "delays grow: \(gaps)")
        #expect(gaps[0] >= 0.2, "at least the initial backoff: \(gaps)")
    }

    @Test func batchIndicesRunToSuccess() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("crunch")
        try daemon.apply("""
            jobs:
              \(job):
                kind: batch
                replicas: 4
                command: ["\(testload)", "env", "DROVER_REPLICA"]
            """)
        #expect(try eventually { try jobs(daemon).first { $0.name == job }?.state == "succeeded" })
        for index in 0..<4 {
            let logs = try daemon.drover(["logs", "\(job)/\(index)"])
            #expect(logs.stdout == "DROVER_REPLICA=\(index)\n", "index \(index) ran as itself")
        }
    }

    @Test func batchIndexThatKeepsFailingFailsTheJob() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("shards")
        try daemon.apply("""
            jobs:
              \(job):
                kind: batch
                replicas: 3
                command: ["/bin/sh", "-c", "[ ${DROVER_REPLICA} = 1 ] && exit 7; exit 0"]
                restart: {max_failures: 3, backoff: {initial: 50ms, jitter: 0}}
            """)
        #expect(try eventually(timeout: 30) { try jobs(daemon).first { $0.name == job }?.state == "failed" })
        let status = try #require(try jobs(daemon).first { $0.name == job })
        #expect(status.reason?.contains("index 1") == true, "\(status.reason ?? "")")
        #expect(status.reason?.contains("exit code 7") == true, "\(status.reason ?? "")")
        let ps = try daemon.drover(["ps", job])
        #expect(ps.stdout.contains("\(job): failed: index 1 failed 3 times"), "\(ps.stdout)")
    }

    @Test func stateDirectorySurvivesRestartsAndTmpDoesNot() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("keeper")
        let script = "echo run >> $DROVER_STATE_DIR/runs; echo \"runs=$(wc -l < $DROVER_STATE_DIR/runs) tmp=$(ls -A /tmp | wc -l)\"; touch /tmp/leftover; exit 1"
        let applied = try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: ["/bin/sh", "-c", script],
                                                            extra: "    restart: {backoff: {initial: 50ms, jitter: 0}}"))
        try #require(applied.code == 0, "\(applied.stderr)")
        #expect(try eventually(timeout: 30) { try daemon.drover(["logs", "\(job)/0"]).stdout.contains("runs=3") })
        let lines = try daemon.drover(["logs", "\(job)/0"]).stdout.split(separator: "\n")
        #expect(lines.prefix(3) == ["runs=1 tmp=0", "runs=2 tmp=0", "runs=3 tmp=0"], "\(lines)")
    }

    // MARK: logs

    @Test func logsFollowAcrossARestart() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("talker")
        let script = "echo run >> $DROVER_STATE_DIR/runs; echo \"hello from run $(wc -l < $DROVER_STATE_DIR/runs)\"; sleep 0.3; exit 1"
        let applied = try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: ["/bin/sh", "-c", script],
                                                            extra: "    restart: {backoff: {initial: 100ms, jitter: 0}}"))
        try #require(applied.code == 0, "\(applied.stderr)")
        #expect(try eventually { try replicas(daemon, job).first?.pid != nil })
        let follower = try TestProcess([TestEnvironment.drover, "logs", "-f", "\(job)/0", "--socket", daemon.socket])
        defer { follower.signal(SIGKILL); follower.finish(timeout: 5) }
        #expect(follower.stdout.read(until: "hello from run 3", timeout: 20), "followed: \(follower.stdout.text)")
        #expect(follower.exitCode == nil, "still following")
    }

    @Test func logRotationKeepsTheConfiguredSize() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("chatty")
        // 24 MiB of output in one go: rotation (10 MiB × 3 files) must cap what is kept.
        let script = "head -c 25165824 /dev/zero | tr '\\0' x; echo; echo done; exec sleep 1000"
        let applied = try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: ["/bin/sh", "-c", script]))
        try #require(applied.code == 0, "\(applied.stderr)")
        let log = daemon.stateDirectory + "/logs/\(job)/0.log"
        #expect(try eventually(timeout: 30) {
            FileManager.default.fileExists(atPath: log + ".1") && ((try? daemon.drover(["logs", "--tail", "1", "\(job)/0"]).stdout) ?? "") == "done\n"
        }, "rotated, and the newest line is still there")
        usleep(2_500_000) // one more rotation check
        var total: UInt64 = 0
        for file in [log, log + ".1", log + ".2", log + ".3"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? UInt64) ?? 0
            total += size ?? 0
            #expect((size ?? 0) <= 12 << 20, "\(file): \(size ?? 0) bytes")
        }
        #expect(!FileManager.default.fileExists(atPath: log + ".3"), "3 files at most")
        #expect(total <= 30 << 20, "kept \(total) bytes")
    }

    // MARK: crash-only

    @Test func survivesSIGKILLAndReadoptsEveryReplica() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("herd")
        try daemon.apply("jobs:\n" + serving(job, replicas: 20, command: [testload, "pause"]))
        #expect(try eventually(timeout: 60) { try replicas(daemon, job).filter { $0.state == "ready" }.count == 20 })
        // drover-init's pids: each leads the replica's session, and killing one ends the replica.
        let before = Dictionary(uniqueKeysWithValues: try replicas(daemon, job).map { ($0.index, $0.initPid ?? 0) })
        // Replicas live in sessions of their own: a signal to droverd's process group (Ctrl-C
        // in its terminal, `timeout`) does not reach them.
        let daemonSession = sessionID(daemon.process!.pid)
        #expect(before.values.allSatisfy { sessionID($0) != daemonSession && sessionID($0) == $0 }, "each replica leads its own session")
        daemon.kill(SIGKILL)
        #expect(before.values.allSatisfy { kill($0, 0) == 0 }, "replicas outlive droverd")
        let victim = try #require(before[7])
        kill(victim, SIGKILL)
        try daemon.start()
        #expect(try eventually(timeout: 30) {
            let now = try replicas(daemon, job)
            return now.count == 20 && now.allSatisfy { $0.state == "ready" && $0.initPid != nil }
        })
        let after = Dictionary(uniqueKeysWithValues: try replicas(daemon, job).map { ($0.index, $0.initPid ?? 0) })
        for (index, pid) in before where index != 7 {
            #expect(after[index] == pid, "\(job)/\(index) kept pid \(pid)")
        }
        #expect(after[7] != victim, "the killed one was restarted")
        // No index runs twice: one cgroup per index, each with one drover-init.
        let tree = try CgroupTree.prepare()
        let leaves = try FileManager.default.contentsOfDirectory(atPath: tree.root).filter { $0.hasPrefix(job + ".") }
        #expect(leaves.count == 20)
        for leaf in leaves {
            let inits = try CgroupLeaf(existing: tree.root + "/" + leaf).processIDs.filter {
                ((try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8)) ?? "") == "drover-init\n"
            }
            #expect(inits.count == 1, "\(leaf) has \(inits.count) drover-init processes")
        }
    }

    @Test func sigkillDuringApplyLeavesTheOldOrTheNewStateNeverAMix() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let old = (0..<4).map { daemon.job("old\($0)") }
        let new = (0..<4).map { daemon.job("new\($0)") }
        func config(_ names: [String]) -> String {
            "jobs:\n" + names.map { serving($0, replicas: 1, command: [testload, "pause"]) }.joined(separator: "\n")
        }
        try daemon.apply(config(old))
        for attempt in 0..<5 {
            let path = daemon.directory + "/new.yaml"
            FileManager.default.createFile(atPath: path, contents: Data(config(attempt % 2 == 0 ? new : old).utf8))
            let applying = try TestProcess([TestEnvironment.drover, "apply", path, "--socket", daemon.socket])
            usleep(UInt32(attempt) * 3_000)
            daemon.kill(SIGKILL)
            applying.finish(timeout: 10)
            try daemon.start()
            let names = Set(try jobs(daemon).map(\.name))
            #expect(names == Set(old) || names == Set(new), "attempt \(attempt): \(names.sorted())")
            try daemon.apply(config(old))
        }
    }

    @Test func sigtermLeavesReplicasRunningUnlessAskedToStopThem() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("stay")
        try daemon.apply("jobs:\n" + serving(job, replicas: 2, command: [testload, "pause"], extra: "    lameduck: {grace: 1s}"))
        #expect(try eventually { try replicas(daemon, job).filter { $0.state == "ready" }.count == 2 })
        let pids = try replicas(daemon, job).compactMap(\.pid)
        daemon.kill(SIGTERM)
        #expect(daemon.process?.exitCode == 0, "clean exit on SIGTERM: \(daemon.log)")
        #expect(pids.allSatisfy { kill($0, 0) == 0 }, "replicas keep running")

        try daemon.start(arguments: ["--stop-replicas-on-exit"])
        #expect(try replicas(daemon, job).compactMap(\.pid).sorted() == pids.sorted(), "re-adopted")
        daemon.kill(SIGTERM)
        #expect(try eventually(timeout: 10) { pids.allSatisfy { kill($0, 0) != 0 } }, "--stop-replicas-on-exit stops them")
        #expect(daemon.process?.exitCode == 0, "and exits cleanly (a re-admission loop once crashed it here): \(daemon.log.suffix(1500))")
    }

    // MARK: names

    @Test func resolveFollowsTheReadySetAndWatchersWakeOnChange() async throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        let config = { (count: Int) in
            "jobs:\n" + self.serving(web, replicas: count, command: [self.testload, "pause"], extra: "    ports: [http, admin]\n    lameduck: {grace: 1s}")
        }
        try daemon.apply(config(3))
        #expect(try eventually { try daemon.drover(["resolve", web]).stdout.split(separator: "\n").count == 3 })
        let lines = try daemon.drover(["resolve", web]).stdout.split(separator: "\n").map(String.init)
        let statuses = try replicas(daemon, web)
        #expect(lines == statuses.map { "127.0.0.1:\($0.ports["http"]!)" }, "the first declared port of each ready replica")
        #expect(try daemon.drover(["resolve", "1.\(web)"]).stdout == "127.0.0.1:\(statuses[1].ports["http"]!)\n", "DNS order")
        let file = (try? String(contentsOfFile: daemon.directory + "/names/\(web)", encoding: .utf8)) ?? ""
        #expect(file == lines.map { $0 + "\n" }.joined(), "the published file")

        let client = DroverClient(socketPath: daemon.socket)
        let before = try await client.request(.GET, "/v1/names/\(web)").decode(NameAnswer.self)
        #expect(before.endpoints.map { $0.ports["admin"] } == statuses.map { $0.ports["admin"] })
        async let changed = client.request(.GET, "/v1/names/\(web)?watch=\(before.version)&timeout=20s")
        try await Task.sleep(for: .milliseconds(200))
        let started = monotonicSeconds()
        try daemon.apply(config(1))
        let answer = try await changed.decode(NameAnswer.self)
        #expect(answer.version > before.version)
        #expect(monotonicSeconds() - started < 2, "the watcher woke with the change")
        #expect(try eventually { try daemon.drover(["resolve", web]).stdout == "127.0.0.1:\(statuses[0].ports["http"]!)\n" })
    }

    // MARK: health

    @Test func readyCheckDecidesWhoIsPublished() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        try daemon.apply("jobs:\n" + serving(web, replicas: 2, command: [testload, "serve", "PORT_HTTP"], extra: """
                ports: [http]
                health:
                  ready: {http: /healthz, port: http, period: 100ms, timeout: 1s, failures: 2}
            """))
        #expect(try eventually { try replicas(daemon, web).allSatisfy { $0.checks?.first?.lastMessage == "HTTP 503" } && replicas(daemon, web).count == 2 })
        #expect(try replicas(daemon, web).allSatisfy { $0.state == "running" }, "not ready while the check fails")
        #expect(try daemon.drover(["resolve", web]).stdout == "", "nobody published")

        let flag = daemon.stateDirectory + "/state/\(web)/1/healthy"
        FileManager.default.createFile(atPath: flag, contents: nil)
        let port = try #require(try replicas(daemon, web)[1].ports["http"])
        #expect(try eventually { try daemon.drover(["resolve", web]).stdout == "127.0.0.1:\(port)\n" }, "the passing one appears")
        #expect(try replicas(daemon, web).map(\.state) == ["running", "ready"])
        let inspect = try daemon.drover(["inspect", "\(web)/1", "--json"])
        let status = try JSONDecoder().decode(ReplicaStatus.self, from: Data(inspect.stdout.utf8))
        #expect(status.checks?.first?.check == "ready" && status.checks?.first?.verdict == "passing" && status.checks?.first?.lastMessage == "HTTP 200")

        unlink(flag)
        #expect(try eventually { try daemon.drover(["resolve", web]).stdout == "" }, "a failing replica is unpublished")
        #expect(try replicas(daemon, web)[1].state == "running")
    }

    @Test func livenessFailuresReplaceTheReplica() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("zombie")
        // Listens on http, but the live check probes admin, where nothing listens.
        try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: [testload, "serve", "PORT_HTTP"], extra: """
                ports: [http, admin]
                lameduck: {grace: 1s}
                restart: {backoff: {initial: 100ms, jitter: 0}}
                health:
                  live: {tcp: admin, period: 100ms, timeout: 1s, failures: 2}
            """))
        #expect(try eventually { (try replicas(daemon, job).first?.lastExit ?? "").contains("health") }, "replaced for health")
        #expect(try eventually { try replicas(daemon, job).first?.pid != nil }, "and started again")
        let events = try daemon.drover(["events"]).stdout
        #expect(events.contains("unhealthy") && events.contains("live check failed: connect"), "\(events)")
    }

    // MARK: eviction (SPEC §4)

    @Test func aPoliteReplicaIsUnpublishedNoticedAndLeavesGracefully() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("polite")
        let namesFile = daemon.directory + "/names/\(web)"
        try daemon.apply("jobs:\n" + serving(web, replicas: 1, command: [testload, "lameduck", namesFile], extra: """
                ports: [http]
                lameduck: {grace: 10s}
            """))
        #expect(try eventually { try replicas(daemon, web).first?.state == "ready" })
        let first = try #require(try replicas(daemon, web).first)
        let noticePath = daemon.stateDirectory + "/run/\(web)/0/lameduck"
        // Watch from outside while the eviction runs: the notice must never exist while the
        // name still lists the replica.
        let watcher = OrderWatcher(namesFile: namesFile, needle: "127.0.0.1:\(first.ports["http"]!)\n", noticeFile: noticePath)
        watcher.start()
        let evict = try daemon.drover(["evict", "\(web)/0", "--reason", "kernel upgrade"])
        #expect(evict.code == 0 && evict.stdout.contains("\(web)/0 evicted"), "\(evict.stderr)")
        #expect(try eventually { (try replicas(daemon, web).first?.lastExit ?? "").contains("graceful") })
        let violations = watcher.stop()
        #expect(violations == 0, "the notice file existed while the name still listed the replica (\(violations) times)")
        let logs = try daemon.drover(["logs", "\(web)/0"]).stdout
        let said = keyValues(logs)
        #expect(said["notice_at_signal"] == "yes", "the notice came before the signal: \(logs)")
        #expect(said["listed_at_signal"] == "no", "unpublished before the signal: \(logs)")
        #expect(said["notice"]?.contains("reason: manual") == true && said["notice"]?.contains("message: kernel upgrade") == true, "\(logs)")
        #expect(said["notice"]?.contains("deadline: 20") == true, "an RFC 3339 deadline: \(logs)")
        #expect(said["drained"] == "1", "it finished its in-flight work")
        let lastExit = try #require(try replicas(daemon, web).first?.lastExit)
        #expect(lastExit.contains("evicted(manual): graceful, exit code 0 after 0.2"), "recorded graceful with its drain time: \(lastExit)")
        #expect(try eventually { try replicas(daemon, web).first.map { $0.state == "ready" && $0.pid != first.pid } == true },
                "replaced at the same index")
        let events = try daemon.drover(["events"]).stdout
        #expect(events.contains("\(web)/0  evicting  manual, grace 10.000s: kernel upgrade"), "\(events)")
        #expect(events.contains("\(web)/0  exited  evicted(manual): graceful"), "\(events)")
    }

    @Test func aReplicaIgnoringTheNoticeIsKilledAtTheDeadlineWithItsChildren() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("stubborn")
        try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: [testload, "stubborn", "4"], extra: "    lameduck: {grace: 500ms}"))
        #expect(try eventually { try replicas(daemon, job).first?.state == "ready" })
        let cgroup = try #require(try replicas(daemon, job).first?.cgroup)
        let members = try CgroupLeaf(existing: cgroup).processIDs
        #expect(members.count == 6, "drover-init, the workload and 4 children: \(members)")
        try daemon.drover(["evict", "\(job)/0"])
        #expect(try eventually { (try replicas(daemon, job).first?.lastExit ?? "").contains("killed at the deadline") })
        #expect(members.allSatisfy { kill($0, 0) != 0 }, "no survivor in its cgroup")
        let lastExit = try #require(try replicas(daemon, job).first?.lastExit)
        #expect(lastExit.contains("evicted(manual): killed at the deadline, 0.5"), "\(lastExit)")
    }

    @Test func drainEvictsBatchFirstAndUndrainBringsEverythingBack() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web"), crunch = daemon.job("crunch")
        try daemon.apply("""
            jobs:
            \(serving(web, replicas: 2, command: [testload, "pause"], extra: "    lameduck: {grace: 1s}"))
              \(crunch):
                kind: batch
                replicas: 2
                command: ["\(testload)", "pause"]
                lameduck: {grace: 1s}
            """)
        #expect(try eventually { try jobs(daemon).flatMap(\.replicas).filter { $0.pid != nil }.count == 4 })
        let drain = try daemon.drover(["drain"])
        #expect(drain.code == 0 && drain.stdout.contains("4 replicas evicted"), "\(drain.stdout) \(drain.stderr)")
        #expect(try eventually { try jobs(daemon).flatMap(\.replicas).allSatisfy { $0.pid == nil } })
        usleep(500_000)
        #expect(try jobs(daemon).flatMap(\.replicas).allSatisfy { $0.pid == nil && $0.state == "pending" }, "nothing restarts while drained")
        #expect(try daemon.drover(["ps"]).stdout.contains("droverd is drained"))
        let events = try daemon.drover(["events", "--json"]).stdout.split(separator: "\n")
            .compactMap { try? JSONDecoder().decode(Event.self, from: Data($0.utf8)) }
        let exits = events.filter { $0.kind == "exited" && $0.message.contains("evicted(drain)") }
        #expect(exits.count == 4)
        // The order droverd evicts in (replicas that die at SIGTERM exit in whatever order the
        // scheduler runs them, so their exit events are not it).
        let evictions = events.filter { $0.kind == "evicting" && $0.message.hasPrefix("drain") }
        #expect(evictions.count == 4)
        #expect(evictions.prefix(2).allSatisfy { $0.subject.hasPrefix(crunch) } && evictions.suffix(2).allSatisfy { $0.subject.hasPrefix(web) },
                "batch before production: \(evictions.map(\.subject))")
        #expect(try daemon.drover(["undrain"]).code == 0)
        #expect(try eventually { try jobs(daemon).flatMap(\.replicas).filter { $0.pid != nil }.count == 4 }, "every job back to its count")
    }

    // MARK: admission and rolling updates (SPEC §5)

    @Test func productionPreemptsBatchAndProductionNeverPreemptsProduction() throws {
        let daemon = try TestDaemon(extraArguments: ["--capacity", "cpu=2,memory=4Gi"])
        defer { daemon.destroy() }
        let crunch = daemon.job("crunch"), web = daemon.job("web"), api = daemon.job("api")
        let batch = """
              \(crunch):
                kind: batch
                replicas: 4
                command: ["\(testload)", "pause"]
                resources: {cpu: 0.5}
                lameduck: {grace: 1s}
            """
        try daemon.apply("jobs:\n" + batch)
        #expect(try eventually { try replicas(daemon, crunch).filter { $0.pid != nil }.count == 4 }, "batch fills the host")
        let web2 = serving(web, replicas: 2, command: [testload, "pause"], extra: "    resources: {cpu: 0.5}\n    lameduck: {grace: 1s}")
        try daemon.apply("jobs:\n" + batch + "\n" + web2)
        #expect(try eventually { try replicas(daemon, web).filter { $0.state == "ready" }.count == 2 }, "production gets in")
        let batchNow = try replicas(daemon, crunch)
        #expect(batchNow.filter { $0.pid != nil }.count == 2, "two batch replicas preempted")
        let waiting = batchNow.filter { $0.state == "pending" }
        #expect(waiting.count == 2)
        #expect(waiting.allSatisfy { $0.reason?.contains("needs 0.5 cpu, 0 free") == true }, "\(waiting.map { $0.reason ?? "" })")
        let events = try daemon.drover(["events"]).stdout
        #expect(events.components(separatedBy: "exited  evicted(preempted)").count - 1 == 2, "through the lameduck protocol: \(events)")

        let webPIDs = try replicas(daemon, web).map(\.pid)
        let big = serving(api, replicas: 1, command: [testload, "pause"], extra: "    resources: {cpu: 2}")
        try daemon.apply("jobs:\n" + batch + "\n" + web2 + "\n" + big)
        #expect(try eventually { try replicas(daemon, api).first?.reason?.contains("needs 2 cpu") == true })
        usleep(500_000)
        #expect(try replicas(daemon, api).first?.pid == nil, "it does not fit and waits")
        #expect(try replicas(daemon, web).map(\.pid) == webPIDs, "production is never preempted for production")
    }

    @Test func rollingUpdateReplacesOneAtATimeAndHaltsOnABrokenVersion() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        let servicePort = try #require((15000..<19000).first { PortProbe.isFree($0) })
        let version = { (command: [String]) in
            "jobs:\n" + self.serving(web, replicas: 3, command: command, extra: """
                    ports: [http]
                    service: {port: \(servicePort)}
                    lameduck: {grace: 2s}
                    restart: {backoff: {initial: 100ms, jitter: 0}}
                    health:
                      ready: {tcp: http, period: 100ms, timeout: 1s, failures: 1}
                """)
        }
        try daemon.apply(version([testload, "serve", "PORT_HTTP"]))
        #expect(try eventually(timeout: 30) { try replicas(daemon, web).filter { $0.state == "ready" }.count == 3 })
        let before = try replicas(daemon, web).compactMap(\.pid)

        // v2 is a working server too: clients through the service port and the ready count
        // are watched while it rolls out.
        let client = ServiceClient(port: servicePort)
        client.start()
        let watcher = ReadyWatcher(daemon: daemon, job: web)
        watcher.start()
        try daemon.apply(version(["/bin/sh", "-c", "exec \(testload) serve PORT_HTTP"]))
        #expect(try eventually(timeout: 30) {
            let now = try replicas(daemon, web)
            return now.filter { $0.state == "ready" }.count == 3 && now.allSatisfy { $0.pid.map { !before.contains($0) } == true }
        }, "all three replaced")
        let lowest = watcher.stop()
        let results = client.stop()
        #expect(lowest >= 2, "never fewer than 2 ready during the rollout (lowest seen: \(lowest))")
        #expect(results.count > 50, "\(results.count) requests")
        let failedRequests = results.filter { !$0.ok }.map(\.message)
        #expect(failedRequests.isEmpty, "failed requests: \(failedRequests)")

        // v3 never becomes ready: the rollout stops after the first replica.
        let serving = try replicas(daemon, web).compactMap(\.pid)
        try daemon.apply(version([testload, "exit", "1"]))
        #expect(try eventually(timeout: 30) { try jobs(daemon).first?.reason?.contains("rollout halted") == true },
                "\((try? jobs(daemon).first?.reason) ?? nil ?? "")")
        let now = try replicas(daemon, web)
        #expect(now.filter { $0.state == "ready" }.count == 2, "the old replicas keep serving")
        #expect(Set(now.compactMap(\.pid)).intersection(serving).count == 2)
        #expect(try daemon.drover(["ps", web]).stdout.contains("rollout halted"))
    }

    // MARK: service proxy (SPEC §6)

    enum ServicePath: String, CustomTestStringConvertible, CaseIterable {
        /// droverd's default: the kernel hands connections to the replicas' own sockets.
        case steered
        /// `--service-relay-only`: droverd relays every connection.
        case relayed
        var testDescription: String { rawValue }
    }

    @Test(arguments: ServicePath.allCases)
    func serviceClientsNeverSeeAScaleDownAndRetriesCoverAKill(path: ServicePath) throws {
        let daemon = try TestDaemon(extraArguments: path == .relayed ? ["--service-relay-only"] : [])
        defer { daemon.destroy() }
        let web = daemon.job("web")
        let servicePort = try #require((15000..<19000).first { PortProbe.isFree($0) })
        let config = { (count: Int) in
            "jobs:\n" + self.serving(web, replicas: count, command: [self.testload, "serve", "PORT_HTTP"], extra: """
                    ports: [http]
                    service: {port: \(servicePort)}
                    lameduck: {grace: 2s}
                    restart: {backoff: {initial: 50ms, jitter: 0}}
                """)
        }
        try daemon.apply(config(3))
        #expect(try eventually { try replicas(daemon, web).filter { $0.state == "ready" }.count == 3 })
        let client = ServiceClient(port: servicePort)
        client.start()
        let start = monotonicSeconds()
        func at(_ second: Double) { while monotonicSeconds() - start < second { usleep(20_000) } }
        at(3); try daemon.apply(config(1))
        at(8); try daemon.apply(config(3))
        at(13)
        let victim = try #require(try replicas(daemon, web).first { $0.index == 1 }?.pid)
        let killedAt = monotonicSeconds()
        kill(victim, SIGKILL)
        at(20)
        let results = client.stop()
        #expect(results.count > 200, "the client kept going: \(results.count) requests")
        let failed = results.filter { !$0.ok }
        // In flight when the replica was killed, or begun within a second after.
        let atKill = { (result: ServiceClient.Result) in result.end >= killedAt && result.at < killedAt + 1 }
        let afterKill = failed.filter(atKill)
        let unexplained = failed.filter { !atKill($0) }
        #expect(unexplained.isEmpty, "requests failed outside the kill: \(unexplained.map { "\(String(format: "%.2f", $0.at - start))s \($0.message)" })")
        // A request already inside the killed replica cannot be saved; connects are retried.
        #expect(afterKill.count <= 2, "failed at the kill (in flight inside the killed replica): \(afterKill.map(\.message))")
        // Which path served them, as the replicas saw it: a steered connection arrives on the
        // service port itself, a relayed one on the replica's own port.
        let served = results.filter(\.ok)
        let steered = served.filter { $0.localPort == servicePort }.count
        print("service \(path): \(results.count) requests, \(steered) steered, \(served.count - steered) relayed, "
              + "failed at the kill: \(afterKill.map(\.message))")
        switch path {
        case .steered:
            // Relayed only while a new replica's socket is being found.
            #expect(steered * 10 >= served.count * 9, "steered \(steered) of \(served.count)")
        case .relayed:
            #expect(steered == 0)
        }
    }

    @Test func aSteeredConnectionArrivesInTheReplicaOnTheServicePort() async throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let (web, servicePort) = try await steeredService(daemon)
        let service = ServiceClient(port: servicePort)
        let answers = (0..<10).map { _ in service.once() }
        #expect(answers.allSatisfy { $0.ok && $0.localPort == servicePort }, "\(answers)")
        let text = try await metrics(daemon)
        #expect(text.contains("drover_service_connections{job=\"\(web)\",path=\"steered\"} 10"), "\(text)")
        #expect(text.contains("drover_service_connections{job=\"\(web)\",path=\"relayed\"} 0"), "\(text)")
        let log = try String(contentsOfFile: daemon.directory + "/droverd.log", encoding: .utf8)
        #expect(log.contains("\(web): service port open, kernel (sk_lookup)"), "\(log)")
    }

    @Test func theServicePortKeepsServingWhileDroverdIsDown() async throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let (web, servicePort) = try await steeredService(daemon)
        #expect(daemon.log.contains("pinned at \(daemon.stateDirectory)/bpf/\(web)_\(servicePort)"), "\(daemon.log)")
        let service = ServiceClient(port: servicePort)

        // droverd dies: nothing listens on the service port, yet the pinned program still
        // hands every connection to a replica.
        daemon.kill(SIGKILL)
        let whileDown = (0..<20).map { _ in service.once() }
        #expect(whileDown.allSatisfy { $0.ok && $0.localPort == servicePort }, "\(whileDown)")

        // The next droverd replaces the pinned program in place and steers on.
        try daemon.start()
        #expect(try await steering(daemon, web))
        let afterRestart = (0..<20).map { _ in service.once() }
        #expect(afterRestart.allSatisfy { $0.ok && $0.localPort == servicePort }, "\(afterRestart)")
        #expect(pins(daemon) == ["\(web)_\(servicePort)"])

        // Deleting the job unpins it: the port is closed.
        try daemon.drover(["delete", web])
        #expect(try eventually { try replicas(daemon, web).isEmpty })
        #expect(pins(daemon).isEmpty)
        let closed = service.once()
        #expect(!closed.ok && closed.message.hasPrefix("connect:"), "\(closed)")
    }

    /// Two replicas of drover-testload serve, answering 200, behind a service port, with
    /// droverd steering it: (job, service port).
    func steeredService(_ daemon: TestDaemon) async throws -> (String, Int) {
        let web = daemon.job("web")
        let servicePort = try #require((15000..<19000).first { PortProbe.isFree($0) })
        try daemon.apply("jobs:\n" + serving(web, replicas: 2, command: [testload, "serve", "PORT_HTTP"], extra: """
                ports: [http]
                service: {port: \(servicePort)}
            """))
        #expect(try eventually { try daemon.drover(["resolve", web]).stdout.split(separator: "\n").count == 2 })
        for index in 0..<2 {
            FileManager.default.createFile(atPath: daemon.stateDirectory + "/state/\(web)/\(index)/healthy", contents: nil)
        }
        try #require(try await steering(daemon, web))
        return (web, servicePort)
    }

    /// The steering links pinned in droverd's bpf file system (not its own `*.debug` files).
    func pins(_ daemon: TestDaemon) -> [String] {
        listDirectory(daemon.stateDirectory + "/bpf").filter { !$0.contains(".") }
    }

    /// droverd's Prometheus text.
    func metrics(_ daemon: TestDaemon) async throws -> String {
        String(decoding: try await DroverClient(socketPath: daemon.socket).request(.GET, "/metrics").body, as: UTF8.self)
    }

    /// Waits (up to 20 s) until droverd says it steers the job's service in the kernel.
    func steering(_ daemon: TestDaemon, _ job: String) async throws -> Bool {
        let line = "drover_service_steering{job=\"\(job)\"} 1"
        let deadline = monotonicSeconds() + 20
        while monotonicSeconds() < deadline {
            if try await metrics(daemon).contains(line) { return true }
            usleep(50_000)
        }
        return false
    }

    // MARK: exec

    @Test func execRunsInsideTheReplicasNamespacesAndCgroup() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("box")
        try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: [testload, "pause"]))
        #expect(try eventually { try replicas(daemon, job).first?.state == "ready" })
        let replica = try #require(try replicas(daemon, job).first)
        let pid = try #require(replica.pid)
        let inside = try daemon.drover(["exec", "\(job)/0", "--", testload, "info"])
        #expect(inside.code == 0, "\(inside.stderr)")
        let values = keyValues(inside.stdout)
        #expect(values["hostname"] == "0.\(job)", "the replica's UTS namespace")
        #expect(values["ipc_ns"] == readLinkText("/proc/\(pid)/ns/ipc"), "the replica's IPC namespace")
        #expect(values["mnt_ns"] == readLinkText("/proc/\(pid)/ns/mnt"), "the replica's mount namespace")
        #expect(values["cgroup_ns"] == readLinkText("/proc/\(pid)/ns/cgroup"), "the replica's cgroup namespace")
        #expect(values["cgroup"] == "/", "in the replica's cgroup, its namespace's root: \(values["cgroup"] ?? "")")
        #expect(values["user_ns"] == readLinkText("/proc/\(pid)/ns/user"), "the replica's user namespace")
        #expect(values["user_ns"] != readLinkText("/proc/self/ns/user"), "which is not the host's")
        #expect(values["visible_pids"].flatMap { Int($0) }.map { $0 >= 4 } == true,
                "sees the replica's processes (its init, its workload, this init, itself): \(values["visible_pids"] ?? "")")
        #expect(values["nonewprivs"] == "1" && values["seccomp"] == "2" && values["capeff"] == "0000000000000000")
        #expect(try daemon.drover(["exec", "\(job)/0", "--", testload, "exit", "5"]).code == 5, "the command's exit code")
        #expect(try replicas(daemon, job).first?.pid == pid, "the replica itself is untouched")
    }

    // MARK: API

    @Test func mutationsNeedRootOrTheDroverGroup() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        try daemon.apply("jobs:\n" + serving(web, replicas: 1, command: [testload, "pause"]))
        chmod(daemon.socket, 0o666) // let an unprivileged user connect at all
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", TestEnvironment.drover]
        let read = try TestProcess(asNobody + ["ps", "--socket", daemon.socket])
        #expect(read.finish() == 0, "reads are open: \(read.stderr.text)")
        let write = try TestProcess(asNobody + ["stop", web, "--socket", daemon.socket])
        #expect(write.finish() == 1)
        #expect(write.stderr.text.contains("forbidden"), "\(write.stderr.text)")
        #expect(write.stderr.text.contains("uid 65534"), "\(write.stderr.text)")
        #expect(try jobs(daemon).first { $0.name == web }?.state == "running", "nothing changed")
    }

    @Test func malformedRequestsAndUnknownRoutesGetJSONErrors() async throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let client = DroverClient(socketPath: daemon.socket)
        let malformed = try await client.request(.POST, "/v1/apply", body: Data("{".utf8))
        #expect(malformed.status == 400)
        #expect(malformed.apiError.error == "malformed request", "\(malformed.apiError)")
        let unknown = try await client.request(.GET, "/v1/nothing-here")
        #expect(unknown.status == 404)
        #expect(unknown.apiError.detail.contains("/v1/nothing-here"), "\(unknown.apiError)")
        let missing = try await client.request(.GET, "/v1/jobs/no-such-job")
        #expect(missing.status == 404)
        #expect(missing.apiError.detail == "no job named \"no-such-job\"")
        let badIndex = try await client.request(.GET, "/v1/replicas/web/x")
        #expect(badIndex.status == 400)
    }

    @Test func aRepeatedRequestIDReturnsTheFirstAnswer() async throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let client = DroverClient(socketPath: daemon.socket)
        let first = "jobs:\n" + serving(daemon.job("a"), replicas: 1, command: [testload, "pause"])
        let second = "jobs:\n" + serving(daemon.job("b"), replicas: 1, command: [testload, "pause"])
        let id = UUID().uuidString
        let one = try await client.request(.POST, "/v1/apply", json: ApplyRequest(files: [ApplyFile(path: "x.yaml", content: first)]), requestID: id)
        let two = try await client.request(.POST, "/v1/apply", json: ApplyRequest(files: [ApplyFile(path: "x.yaml", content: first)]), requestID: id)
        #expect(one.status == 200 && two.status == 200)
        #expect(one.body == two.body, "the same answer")
        #expect(try one.decode(ApplyResponse.self).created == [daemon.job("a")])
        #expect(try jobs(daemon).map(\.name) == [daemon.job("a")], "the repeat did not apply again")
        // The id is the first request's: another body with it is refused, not answered as the first (issue 12).
        let other = try await client.request(.POST, "/v1/apply", json: ApplyRequest(files: [ApplyFile(path: "x.yaml", content: second)]), requestID: id)
        #expect(other.status == 409, "\(other.apiError)")
        #expect(try jobs(daemon).map(\.name) == [daemon.job("a")], "nor applied")
    }

    @Test func metricsArePrometheusText() async throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("web")
        try daemon.apply("jobs:\n" + serving(job, replicas: 2, command: [testload, "pause"]))
        #expect(try eventually { try replicas(daemon, job).filter { $0.state == "ready" }.count == 2 })
        let metrics = try await DroverClient(socketPath: daemon.socket).request(.GET, "/metrics")
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(metrics.status == 200)
        #expect(text.contains("# TYPE drover_replicas gauge"), "\(text)")
        #expect(text.contains("drover_replicas{state=\"ready\"} 2"), "\(text)")
        #expect(text.contains("drover_jobs 1"), "\(text)")
    }

    @Test func unreachableDaemonExitsThreeNamingTheSocket() throws {
        let result = try TestProcess.drover(["ps", "--socket", "/var/tmp/drover-no-such.sock"])
        #expect(result.code == 3)
        #expect(result.stderr.contains("/var/tmp/drover-no-such.sock"), "\(result.stderr)")
        // Issue 14: in the user's words (no NIO call names, balanced parentheses).
        #expect(result.stderr.contains("connect: ENOENT (No such file or directory)") && !result.stderr.contains("descriptor:"),
                "\(result.stderr)")
    }

    /// Issue 14: global options before the subcommand, and DROVER_SOCKET, as docker's and
    /// kubectl's habits go.
    @Test func theSocketCanBeGivenBeforeTheSubcommandOrInTheEnvironment() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("web")
        try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: [testload, "pause"]))
        for arguments in [["--socket", daemon.socket, "ps"], ["--socket=\(daemon.socket)", "ps", job], ["ps", "--socket", daemon.socket]] {
            let result = try TestProcess.drover(arguments)
            #expect(result.code == 0 && result.stdout.contains(job), "drover \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        // Through env(1): this process's environment is every concurrent test's.
        let fromEnvironment = try TestProcess(["/usr/bin/env", "DROVER_SOCKET=\(daemon.socket)", TestEnvironment.drover, "ps"])
        #expect(fromEnvironment.finish() == 0 && fromEnvironment.stdout.text.contains(job), "DROVER_SOCKET: \(fromEnvironment.stderr.text)")
    }
}

/// Requests through a TCP port in a loop on its own thread, each on a new connection.
final class ServiceClient: @unchecked Sendable {
    struct Result {
        /// When the request began and ended.
        var at: Double
        var end = monotonicSeconds()
        var ok: Bool
        var message: String
        var localPort: Int?
        init(at: Double, ok: Bool, message: String, localPort: Int? = nil) {
            self.at = at
            self.ok = ok
            self.message = message
            self.localPort = localPort
        }
    }
    let port: Int
    private var running = true
    private var done = false
    private var results: [Result] = []

    init(port: Int) { self.port = port }

    func start() {
        Thread { [self] in
            while running {
                results.append(once())
                usleep(2_000)
            }
            done = true
        }.start()
    }

    func stop() -> [Result] {
        running = false
        while !done { usleep(1_000) }
        return results
    }

    /// One request, HTTP/1.0, answered by drover-testload serve.
    func once() -> Result {
        let at = monotonicSeconds()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return Result(at: at, ok: false, message: "connect: \(String(cString: strerror(errno)))") }
        let request = "GET / HTTP/1.0\r\n\r\n"
        _ = request.withCString { write(fd, $0, strlen($0)) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return Result(at: at, ok: false, message: n == 0 ? "closed without an answer" : "read: \(String(cString: strerror(errno)))") }
        let answer = String(decoding: buffer[0..<n], as: UTF8.self)
        let localPort = answer.split(separator: "\r\n").first { $0.hasPrefix("Local-Port: ") }.flatMap { Int($0.dropFirst(12)) }
        return Result(at: at, ok: answer.hasPrefix("HTTP/1.0 "), message: String(answer.prefix(20)), localPort: localPort)
    }
}

/// Polls `resolve` from its own thread and remembers the fewest ready replicas seen.
final class ReadyWatcher: @unchecked Sendable {
    let daemon: TestDaemon
    let job: String
    private var running = true
    private var lowest = Int.max
    private var done = false

    init(daemon: TestDaemon, job: String) {
        self.daemon = daemon
        self.job = job
    }

    func start() {
        Thread { [self] in
            while running {
                let ready = ((try? daemon.drover(["resolve", job]).stdout) ?? "").split(separator: "\n").count
                lowest = min(lowest, ready)
            }
            done = true
        }.start()
    }

    func stop() -> Int {
        running = false
        while !done { usleep(1_000) }
        return lowest
    }
}

/// Polls a names file and a notice file from its own thread; counts the moments the notice
/// existed while the names file still listed the replica.
final class OrderWatcher: @unchecked Sendable {
    let namesFile: String, needle: String, noticeFile: String
    private var running = true
    private var violations = 0
    private var thread: Thread?

    init(namesFile: String, needle: String, noticeFile: String) {
        self.namesFile = namesFile
        self.needle = needle
        self.noticeFile = noticeFile
    }

    func start() {
        let thread = Thread { [self] in
            while running {
                // Notice first: if it exists now and the name is listed after it, the name
                // was listed while the notice existed.
                let notice = FileManager.default.fileExists(atPath: noticeFile)
                let listed = ((try? String(contentsOfFile: namesFile, encoding: .utf8)) ?? "").contains(needle)
                if notice && listed { violations += 1 }
                usleep(200)
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() -> Int {
        running = false
        usleep(5_000)
        return violations
    }
}

/// Field 6 of /proc/PID/stat: the session id.
func sessionID(_ pid: Int32) -> Int32? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 3 ? Int32(fields[3]) : nil
}

func readLinkText(_ path: String) -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
}

/// A YAML double-quoted scalar.
func yamlQuoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
