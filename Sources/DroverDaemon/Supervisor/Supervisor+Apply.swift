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

    /// Where an apply comes from, and whether it deletes what its source no longer declares
    /// (issue 14: `apply` creates and updates, and deletes only with `prune`).
    struct ApplyScope: Sendable {
        /// `file:PATH`, `config:DIR`, or nil (an API client naming no source: never pruned).
        var source: String?
        var prune = false
        /// `--prune-all`: a prune may delete every job on the host (refused otherwise).
        var pruneAll = false
    }

    /// Creates and updates the given jobs (already validated); with `scope.prune`, deletes the
    /// jobs of the same source that are not among them. Then reconciles.
    func apply(_ specs: [JobSpec], scope: ApplyScope, dryRun: Bool, keepingGeneration: Bool = true) throws -> ApplyResult {
        let names = Set(specs.map(\.name))
        var pruned: [String] = []
        if scope.prune, let source = scope.source {
            pruned = jobs.filter { $0.value.source == source && !names.contains($0.key) }.map(\.key).sorted()
        }
        if !pruned.isEmpty, !scope.pruneAll, Set(pruned) == Set(jobs.keys) {
            throw DaemonError.conflict("this apply would delete every job on the host (\(pruned.joined(separator: ", "))); "
                + "apply with --prune-all to mean it, or delete them with drover delete JOB")
        }
        var desired = jobs.mapValues(\.spec)
        for name in pruned { desired[name] = nil }
        for var spec in specs {
            // Jobs files do not carry it: `drover restart`'s count stays with the job.
            if keepingGeneration { spec.restartGeneration = jobs[spec.name]?.spec.restartGeneration ?? 0 }
            desired[spec.name] = spec
        }
        var result = Self.diff(current: jobs.mapValues(\.spec), desired: Array(desired.values))
        result.unchanged = result.unchanged.filter(names.contains)
        if dryRun { return result }
        let summary = "created \(result.created.count), changed \(result.changed.count), unchanged \(result.unchanged.count), deleted \(result.deleted.count)"
        var next: [String: Store.StoredJob] = [:]
        for (name, spec) in desired {
            let source = names.contains(name) ? scope.source : jobs[name]?.source
            next[name] = Store.StoredJob(spec: spec, stopped: jobs[name]?.stopped ?? false, source: source)
            if jobs[name]?.spec != spec { failedJobs[name] = nil }
        }
        try store.replaceJobs(Array(desired.values), sources: next.compactMapValues(\.source),
                              event: (subject: "droverd", kind: "applied", message: summary + (scope.source.map { " (\($0))" } ?? "")))
        jobs = next
        reconcile()
        return result
    }

    /// `drover restart JOB`: a rolling restart, the rolling update's rules with a new
    /// `restartGeneration` for the new spec (one replica at a time, each next one only once the
    /// last is ready; stored, so a droverd restart carries it on). `drover restart JOB/N`: that
    /// replica alone, through the lameduck protocol, replaced at its index.
    func restart(_ name: String, index: Int?) throws -> [String] {
        guard var job = jobs[name] else { throw DaemonError.notFound("no job named \"\(name)\"") }
        if let index {
            return try evict(job: name, index: index, grace: nil, note: "restart")
        }
        job.spec.restartGeneration += 1
        let restarting = replicas.keys.filter { $0.job == name && $0.index < job.spec.replicas }.sorted().map(\.description)
        event(subject: name, kind: "restarting", message: "rolling restart of \(restarting.count) replica\(restarting.count == 1 ? "" : "s")")
        _ = try apply([job.spec], scope: ApplyScope(source: job.source), dryRun: false, keepingGeneration: false)
        return restarting
    }

    /// `drover scale JOB N`: the job's replica count, everything else as applied (its source
    /// stays; a later apply of that source sets the count it declares, as with kubectl scale).
    func scale(_ name: String, replicas: Int) throws -> ApplyResult {
        guard var job = jobs[name] else { throw DaemonError.notFound("no job named \"\(name)\"") }
        job.spec.replicas = replicas
        let problems = job.spec.valuesOutsideLimits
        if !problems.isEmpty { throw DaemonError.badRequest(problems.map(\.description).joined(separator: "; ")) }
        return try apply([job.spec], scope: ApplyScope(source: job.source), dryRun: false)
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
