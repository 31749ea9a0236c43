import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// Issue 14: `ps` shows the program's PID (the one users `kill`, `strace`, `perf`), `inspect`
/// drover-init's too; a batch replica that runs is `running`; droverd says at exit what it
/// leaves running. Part of DaemonTests: one daemon at a time.
extension DaemonTests {
    @Test func psShowsTheProgramsPIDAndInspectDroverInits() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("sleeper")
        try daemon.apply("jobs:\n" + serving(job, replicas: 1, command: ["/bin/sh", "-c", "exec sleep 1000"]))
        #expect(try eventually { try replicas(daemon, job).first?.state == "ready" })
        // sh has exec'd sleep once its cmdline says so.
        #expect(try eventually { try replicas(daemon, job).first?.pid.map { cmdline(of: $0) == ["sleep", "1000"] } == true },
                "ps --json pid runs the program: \((try? replicas(daemon, job).first.map { cmdline(of: $0.pid ?? 0) }) ?? nil ?? [])")
        let replica = try #require(try replicas(daemon, job).first)
        let pid = try #require(replica.pid), initPID = try #require(replica.initPid)
        #expect(namespacePIDs(of: pid).last == 2, "the workload is PID 2 inside: \(namespacePIDs(of: pid))")
        #expect(readLinkText("/proc/\(initPID)/exe").hasSuffix("/drover-init"), "initPid is drover-init: \(readLinkText("/proc/\(initPID)/exe"))")
        // The control: drover-init's pid is not the program, so the checks above tell them apart.
        #expect(pid != initPID)
        #expect(cmdline(of: initPID) != ["sleep", "1000"] && namespacePIDs(of: initPID).last == 1)

        let table = try daemon.drover(["ps", job]).stdout
        let row = try #require(table.split(separator: "\n").first { $0.hasPrefix(job + "/0") }, "\(table)")
        #expect(row.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.map(String.init) == String(pid),
                "the PID column is the program's: \(table)")
        let inspect = try daemon.drover(["inspect", job + "/0"]).stdout
        #expect(inspect.contains("pid: \(pid)\n") && inspect.contains("initPid: \(initPID)\n"), "inspect shows both: \(inspect)")
    }

    @Test func batchReplicasRunAndServingOnesAreReadyOnlyOnceTheyMayServe() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let crunch = daemon.job("crunch"), web = daemon.job("web"), slow = daemon.job("slow")
        let batch = """
              \(crunch):
                kind: batch
                replicas: 2
                command: ["/bin/sh", "-c", "exec sleep 1000"]
            """
        let readyCheck = """
                ports: [http]
                health:
                  ready: {tcp: http, period: 100ms, timeout: 1s, failures: 1}
            """
        let applied = try daemon.apply("jobs:\n" + batch + "\n" + serving(web, replicas: 1, command: [testload, "pause"])
                         + "\n" + serving(slow, replicas: 1, command: [testload, "pause"], extra: readyCheck))
        try #require(applied.code == 0, "\(applied.stderr)")
        // A serving replica without a ready check is ready once it runs.
        #expect(try eventually { try replicas(daemon, web).first?.state == "ready" })
        #expect(try eventually { try replicas(daemon, crunch).filter { $0.pid != nil }.count == 2 })
        usleep(500_000) // several of slow's ready checks
        #expect(try replicas(daemon, crunch).map(\.state) == ["running", "running"], "a running batch replica is running, not ready")
        #expect(try replicas(daemon, slow).first.map { $0.state == "running" && $0.pid != nil } == true,
                "a serving replica whose ready check has not passed is running: \((try? replicas(daemon, slow)) ?? [])")
        let table = try daemon.drover(["ps"]).stdout
        for name in [crunch + "/0", crunch + "/1", slow + "/0"] {
            let row = table.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            #expect(row?.split(separator: " ").dropFirst().first == "running", "\(name): \(table)")
        }
    }

    @Test func sigtermSaysWhatKeepsRunningAndHowToStopIt() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web"), api = daemon.job("api")
        try daemon.apply("jobs:\n" + serving(web, replicas: 2, command: [testload, "pause"], extra: "    lameduck: {grace: 1s}")
                         + "\n" + serving(api, replicas: 1, command: [testload, "pause"], extra: "    lameduck: {grace: 1s}"))
        #expect(try eventually { try jobs(daemon).flatMap(\.replicas).filter { $0.state == "ready" }.count == 3 })
        daemon.kill(SIGTERM)
        let log = daemon.log
        #expect(log.contains("stopped; 3 replicas of 2 jobs keep running; the next droverd re-adopts them"), "\(log.suffix(1500))")
        #expect(log.contains("--stop-replicas-on-exit stops them"), "\(log.suffix(1500))")
        #expect(log.contains("\(web): 2 replicas keep running; to stop them, with droverd running: drover stop \(web) (or drover delete \(web))"),
                "\(log.suffix(1500))")
        #expect(log.contains("\(api): 1 replica keeps running"), "\(log.suffix(1500))")

        // The control: stopped on exit, nothing is said to keep running.
        try daemon.start(arguments: ["--stop-replicas-on-exit"])
        daemon.kill(SIGTERM)
        let second = String(daemon.log.dropFirst(log.count)) // the log file is appended to
        #expect(second.contains("stopped; no replicas keep running") && !second.contains("keep running;"), "\(second.suffix(1500))")
    }
}

/// argv of a process, from /proc/PID/cmdline.
func cmdline(of pid: Int32) -> [String] {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
    return text.split(separator: "\0").map(String.init)
}

/// The process's PID in each PID namespace it is in, host first (`NSpid:` of /proc/PID/status;
/// the parsing has tests of its own in DroverLinuxTests).
func namespacePIDs(of pid: Int32) -> [Int32] {
    WorkloadProcess.parseNamespacePIDs((try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? "")
}
