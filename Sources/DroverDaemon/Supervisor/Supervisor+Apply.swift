import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Desired state from the API: the apply diff, stop/start and delete of a job.
extension Supervisor {
    struct ApplyResult: Sendable {
        var created: [String] = []
        var changed: [String] = []
        var unchanged: [String] = []
        var deleted: [String] = []
    }

    static func diff(current: [String: JobSpec], desired: [JobSpec]) -> ApplyResult {
        var result = ApplyResult()
        let names = Set(desired.map(\.name))
        for spec in desired.sorted(by: { $0.name < $1.name }) {
            switch current[spec.name] {
            case nil: result.created.append(spec.name)
            case spec?: result.unchanged.append(spec.name)
            default: result.changed.append(spec.name)
            }
        }
        result.deleted = current.keys.filter { !names.contains($0) }.sorted()
        return result
    }

    /// Replaces the desired state (already validated) and reconciles.
    func apply(_ specs: [JobSpec], dryRun: Bool) throws -> ApplyResult {
        let result = Self.diff(current: jobs.mapValues(\.spec), desired: specs)
        if dryRun { return result }
        let summary = "created \(result.created.count), changed \(result.changed.count), unchanged \(result.unchanged.count), deleted \(result.deleted.count)"
        try store.replaceJobs(specs, event: (subject: "droverd", kind: "applied", message: summary))
        var next: [String: Store.StoredJob] = [:]
        for spec in specs {
            next[spec.name] = Store.StoredJob(spec: spec, stopped: jobs[spec.name]?.stopped ?? false)
            if jobs[spec.name]?.spec != spec { failedJobs[spec.name] = nil }
        }
        jobs = next
        reconcile()
        return result
    }

    func setStopped(_ name: String, _ stopped: Bool) throws {
        guard var job = jobs[name] else { throw DaemonError.notFound("no job named \"\(name)\"") }
        try store.setStopped(name, stopped)
        job.stopped = stopped
        jobs[name] = job
        if !stopped { failedJobs[name] = nil }
        event(subject: name, kind: stopped ? "stopped" : "started", message: stopped ? "job stopped" : "job started")
        reconcile()
    }

    func delete(_ name: String) throws {
        guard jobs[name] != nil else { throw DaemonError.notFound("no job named \"\(name)\"") }
        try store.deleteJob(name)
        jobs[name] = nil
        failedJobs[name] = nil
        event(subject: name, kind: "deleted", message: "job deleted")
        reconcile()
    }
}
