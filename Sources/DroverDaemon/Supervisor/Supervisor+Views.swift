import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// What `ps`, `inspect` and `logs` show.
extension Supervisor {
    func status(job name: String? = nil) -> [JobStatus] {
        jobs.keys.sorted().filter { name == nil || $0 == name }.map { jobName in
            let job = jobs[jobName]!
            let views = replicas.keys.filter { $0.job == jobName }.sorted().map { view($0, replicas[$0]!) }
            return JobStatus(name: jobName, state: jobState(jobName, job, views), reason: failedJobs[jobName] ?? failedRollouts[jobName],
                             spec: job.spec, replicas: views)
        }
    }

    func replicaStatus(_ key: Key) -> ReplicaStatus? {
        replicas[key].map { view(key, $0) }
    }

    func jobState(_ name: String, _ job: Store.StoredJob, _ views: [ReplicaStatus]) -> String {
        if failedJobs[name] != nil { return "failed" }
        if job.stopped { return "stopped" }
        if job.spec.kind == .batch && views.count == job.spec.replicas && views.allSatisfy({ $0.state == "succeeded" }) {
            return "succeeded"
        }
        return "running"
    }

    func view(_ key: Key, _ replica: Replica) -> ReplicaStatus {
        let lifecycle = replica.lifecycle
        let stats = replica.sandbox?.cgroup?.stats(controllers: tree.controllers)
        var reason: String?
        switch lifecycle.state {
        case .pending(.waitingForResources): reason = replica.pendingWhy.map { "waiting for resources: \($0)" } ?? "waiting for resources"
        case .pending(.backingOff(let until)): reason = "backing off until \(rfc3339(until.date))"
        case .pending(.draining): reason = "drained: waits for drover undrain"
        case .crashlooping: reason = lifecycle.lastExit.map { "last exit: \($0.reason)" }
        default: reason = nil
        }
        let initPID = replica.sandbox?.pid
        return ReplicaStatus(
            name: key.description, job: key.job, index: key.index, state: Self.shownState(lifecycle), reason: reason,
            pid: initPID.map { WorkloadProcess.pid(underInit: $0) ?? $0 }, initPid: initPID,
            ports: replica.ports, restarts: lifecycle.restarts,
            startedAt: replica.sandbox == nil ? nil : lifecycle.startedAt.map { rfc3339($0.date) },
            nextAttempt: lifecycle.nextAttempt.map { rfc3339($0.date) },
            lastExit: lifecycle.lastExit.map(\.summary),
            cpuSeconds: stats?.cpuUsageMicroseconds.map { Double($0) / 1e6 },
            memoryBytes: stats?.memoryCurrent,
            unenforced: replica.unenforced,
            uid: hostIDs(of: key.job, lifecycle.job)?.uid, gid: hostIDs(of: key.job, lifecycle.job)?.gid,
            hostRoot: lifecycle.job.hostRoot ? true : nil,
            cgroup: replica.sandbox == nil ? nil : leafPath(key),
            stateDirectory: paths.stateDirectory(key),
            logFile: paths.logFile(key),
            checks: replica.health.map { tracker in
                HealthTracker.Check.allCases.compactMap { check in
                    tracker[check].map { state in
                        CheckStatus(check: check.rawValue, verdict: state.verdict.rawValue,
                                    consecutiveFailures: state.consecutiveFailures,
                                    lastAt: state.lastResult.map { rfc3339($0.at.date) },
                                    lastMessage: state.lastResult?.message, lastPassed: state.lastResult?.passed)
                    }
                }
            })
    }

    /// The state `ps` shows. A batch replica that runs is `running`: `ready` reads as "in
    /// service", which says nothing of work that runs until it exits (issue 14), though its
    /// lifecycle passes through `ready` and publishes it as a serving replica's does.
    static func shownState(_ lifecycle: ReplicaLifecycle) -> String {
        if lifecycle.job.kind == .batch, case .ready = lifecycle.state { return "running" }
        return lifecycle.state.name
    }

    /// What droverd says as it exits (after ``shutdown(stopReplicas:)``): what it leaves
    /// running and how to stop it, so Ctrl-C after `make run` does not leave replicas behind
    /// unnoticed (issue 14). One line for the whole, then one per job (the first
    /// ``exitReportJobs``).
    func exitReport() -> [String] {
        var running: [String: Int] = [:]
        for (key, replica) in replicas where replica.sandbox != nil { running[key.job, default: 0] += 1 }
        guard !running.isEmpty else { return ["stopped; no replicas keep running"] }
        func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }
        let total = running.values.reduce(0, +)
        var lines = ["stopped; \(count(total, "replica")) of \(count(running.count, "job")) \(total == 1 ? "keeps" : "keep") running; "
            + "the next droverd re-adopts them (droverd --stop-replicas-on-exit stops them as it exits)"]
        let jobs = running.keys.sorted()
        for job in jobs.prefix(Self.exitReportJobs) {
            lines.append("\(job): \(count(running[job]!, "replica")) \(running[job]! == 1 ? "keeps" : "keep") running; "
                + "to stop them, with droverd running: drover stop \(job) (or drover delete \(job))")
        }
        if jobs.count > Self.exitReportJobs {
            lines.append("and \(count(jobs.count - Self.exitReportJobs, "more job")) (drover ps, with droverd running, lists them)")
        }
        return lines
    }

    /// A host with a thousand jobs gets a screenful at exit, not a thousand lines.
    static let exitReportJobs = 20

    func logs(_ key: Key) -> ReplicaLogs? {
        guard replicas[key] != nil || FileManager.default.fileExists(atPath: paths.logFile(key)) else { return nil }
        return ReplicaLogs(path: paths.logFile(key))
    }
}
