import DroverCore
import Testing

private let epoch = Timestamp(sinceEpoch: .seconds(1_750_000_000))
private func at(_ seconds: Int64) -> Timestamp { epoch + .seconds(seconds) }

/// Version 1 and 2 of a job with a ready check (a new replica is `running` until it passes).
private let v1 = JobSpec(name: "web", replicas: 3, command: ["/bin/web", "v1"], ports: ["http"],
                         health: JobSpec.Health(ready: JobSpec.HealthCheck(probe: .http(path: "/healthz", port: "http"))))
private let v2: JobSpec = {
    var spec = v1
    spec.command = ["/bin/web", "v2"]
    return spec
}()
private func scaled(_ spec: JobSpec, to count: Int) -> JobSpec {
    var spec = spec
    spec.replicas = count
    return spec
}

/// Lifecycles of index `index` of `spec`, built through events only (time passed in).
enum Shape: Sendable {
    case waiting, running, ready, lameduck, restartedRunning, crashlooping, draining, scaledAway

    func lifecycle(_ spec: JobSpec, _ index: Int) -> ReplicaLifecycle {
        var replica = ReplicaLifecycle(job: spec, index: index)
        func feed(_ events: ReplicaLifecycle.Event...) { for event in events { _ = replica.handle(event, jitterSample: 0) } }
        switch self {
        case .waiting:
            break
        case .running:
            feed(.startRequested(now: at(0)), .spawned(pid: 7, now: at(1)))
        case .ready:
            feed(.startRequested(now: at(0)), .spawned(pid: 7, now: at(1)), .becameReady(now: at(2)))
        case .lameduck:
            feed(.startRequested(now: at(0)), .spawned(pid: 7, now: at(1)), .evictRequested(.scaleDown, grace: .seconds(30), now: at(3)))
        case .restartedRunning:
            feed(.startRequested(now: at(0)), .spawned(pid: 7, now: at(1)), .processExited(.exited(code: 1), now: at(2)),
                 .timerFired(now: at(3)), .spawned(pid: 8, now: at(3)))
        case .crashlooping:
            feed(.startRequested(now: at(0)))
            for second in [1, 3] as [Int64] {
                feed(.spawned(pid: 7, now: at(second)), .processExited(.exited(code: 1), now: at(second)), .timerFired(now: at(second + 1)))
            }
            feed(.spawned(pid: 7, now: at(5)), .processExited(.exited(code: 1), now: at(5)))
        case .draining:
            feed(.startRequested(now: at(0)), .spawned(pid: 7, now: at(1)), .evictRequested(.drain, grace: .seconds(30), now: at(3)),
                 .processExited(.exited(code: 0), now: at(4)))
        case .scaledAway:
            feed(.startRequested(now: at(0)), .spawned(pid: 7, now: at(1)), .evictRequested(.scaleDown, grace: .seconds(30), now: at(3)),
                 .processExited(.exited(code: 0), now: at(4)))
        }
        return replica
    }

    /// Whether droverd holds a sandbox for it.
    var hasSandbox: Bool {
        switch self {
        case .running, .ready, .lameduck, .restartedRunning: return true
        default: return false
        }
    }
}

private func id(_ index: Int) -> ReplicaID { ReplicaID(job: "web", index: index) }

struct RolloutRow: Sendable, CustomTestStringConvertible {
    var title: String
    /// Per index: its spec, shape and whether the rollout started it.
    var replicas: [(spec: JobSpec, shape: Shape, byRollout: Bool)]
    var desired = v2
    var expected: RollingUpdate.Step
    var testDescription: String { title }
}

@Suite struct RollingUpdateTable {
    static let rows: [RolloutRow] = [
        RolloutRow(title: "starts with the first old replica", replicas: [(v1, .ready, false), (v1, .ready, false), (v1, .ready, false)],
                   expected: .replace(id(0))),
        RolloutRow(title: "the next old one once the new one is ready", replicas: [(v2, .ready, true), (v1, .ready, false), (v1, .ready, false)],
                   expected: .replace(id(1))),
        RolloutRow(title: "waits, quietly, while the new one starts", replicas: [(v2, .running, true), (v1, .ready, false), (v1, .ready, false)],
                   expected: .wait(status: nil)),
        RolloutRow(title: "says so when the new one restarted and is not ready",
                   replicas: [(v2, .restartedRunning, true), (v1, .ready, false), (v1, .ready, false)],
                   expected: .wait(status: "rollout waiting: web/0 of the new version is not ready (running); the old replicas keep serving")),
        RolloutRow(title: "halts when the new one is crashlooping", replicas: [(v2, .crashlooping, true), (v1, .ready, false), (v1, .ready, false)],
                   expected: .wait(status: "rollout halted: web/0 of the new version is crashlooping (exit code 1); the old replicas keep serving")),
        RolloutRow(title: "done when every replica is on the new spec", replicas: [(v2, .ready, true), (v2, .ready, true), (v2, .ready, false)],
                   expected: .done),
        RolloutRow(title: "a replica count change is no update", replicas: [(scaled(v2, to: 5), .ready, false), (scaled(v2, to: 5), .ready, false)],
                   expected: .done),
        RolloutRow(title: "an old replica with no process is retargeted, not replaced", replicas: [(v1, .waiting, false), (v2, .ready, true)],
                   expected: .done),
        RolloutRow(title: "a new replica the rollout did not start does not hold it",
                   replicas: [(v2, .running, false), (v1, .ready, false)], expected: .replace(id(1))),
    ]

    @Test(arguments: rows)
    func nextStep(_ row: RolloutRow) {
        let replicas = row.replicas.enumerated().map { index, replica in
            RollingUpdate.Replica(id: id(index), lifecycle: replica.shape.lifecycle(replica.spec, index),
                                  live: replica.shape.hasSandbox, startedByRollout: replica.byRollout)
        }
        #expect(RollingUpdate.next(desired: row.desired, replicas: replicas.reversed()) == row.expected)
    }

    @Test(arguments: [(v1, v2, true), (v1, scaled(v1, to: 9), false), (v1, v1, false)])
    func replacementIsForSpecChangesButTheCount(running: JobSpec, desired: JobSpec, replaced: Bool) {
        #expect(RollingUpdate.needsReplacement(running: running, desired: desired) == replaced)
    }
}

struct ReconcileRow: Sendable, CustomTestStringConvertible {
    var title: String
    /// nil: the job was deleted.
    var desired: Reconcile.Desired?
    var replicas: [(index: Int, spec: JobSpec, shape: Shape)]
    var rollingOut = false
    var expected: [Reconcile.Step]
    var testDescription: String { title }
}

@Suite struct ReconcileTable {
    static let rows: [ReconcileRow] = [
        ReconcileRow(title: "creates and admits what is missing", desired: .init(spec: scaled(v1, to: 2)), replicas: [],
                     expected: [.create(id(0)), .admit(id(0)), .create(id(1)), .admit(id(1))]),
        ReconcileRow(title: "leaves running replicas of the same spec alone", desired: .init(spec: scaled(v1, to: 2)),
                     replicas: [(0, scaled(v1, to: 2), .ready), (1, scaled(v1, to: 2), .running)], expected: []),
        ReconcileRow(title: "a changed spec of a live replica is the rollout's", desired: .init(spec: scaled(v2, to: 1)),
                     replicas: [(0, scaled(v1, to: 1), .ready)], expected: []),
        ReconcileRow(title: "a count change retargets in place", desired: .init(spec: scaled(v1, to: 2)),
                     replicas: [(0, scaled(v1, to: 1), .ready)], expected: [.retarget(id(0)), .create(id(1)), .admit(id(1))]),
        ReconcileRow(title: "a waiting replica takes the new spec and is admitted", desired: .init(spec: scaled(v2, to: 1)),
                     replicas: [(0, scaled(v1, to: 1), .waiting)], expected: [.retarget(id(0)), .admit(id(0))]),
        ReconcileRow(title: "scaled back up: an index scaled away starts again", desired: .init(spec: scaled(v1, to: 1)),
                     replicas: [(0, scaled(v1, to: 1), .scaledAway)], expected: [.admit(id(0))]),
        ReconcileRow(title: "a drained replica is admitted (after undrain)", desired: .init(spec: scaled(v1, to: 1)),
                     replicas: [(0, scaled(v1, to: 1), .draining)], expected: [.admit(id(0))]),
        ReconcileRow(title: "scaled down: the extras are evicted", desired: .init(spec: scaled(v1, to: 1)),
                     replicas: [(0, scaled(v1, to: 1), .ready), (1, scaled(v1, to: 3), .ready), (2, scaled(v1, to: 3), .running)],
                     expected: [.evict(id(1), .scaleDown), .evict(id(2), .scaleDown)]),
        ReconcileRow(title: "stopped: every replica evicted with reason stop", desired: .init(spec: scaled(v1, to: 2), stopped: true),
                     replicas: [(0, scaled(v1, to: 2), .ready), (1, scaled(v1, to: 2), .waiting)],
                     expected: [.evict(id(0), .stop), .forget(id(1), removeState: false)]),
        ReconcileRow(title: "failed: nothing wanted", desired: .init(spec: scaled(v1, to: 1), failed: true),
                     replicas: [(0, scaled(v1, to: 1), .ready)], expected: [.evict(id(0), .scaleDown)]),
        ReconcileRow(title: "during a rollout, serving extras keep serving; idle ones go", desired: .init(spec: scaled(v2, to: 1)),
                     replicas: [(0, scaled(v2, to: 1), .running), (1, scaled(v1, to: 3), .ready), (2, scaled(v1, to: 3), .waiting)],
                     rollingOut: true, expected: [.forget(id(2), removeState: false)]),
        ReconcileRow(title: "deleted: live ones evicted, resting ones dropped with their state", desired: nil,
                     replicas: [(0, v1, .ready), (1, v1, .scaledAway), (2, v1, .lameduck)],
                     expected: [.evict(id(0), .delete), .forget(id(1), removeState: true)]),
    ]

    @Test(arguments: rows)
    func steps(_ row: ReconcileRow) {
        let actual = row.replicas.map { replica in
            Reconcile.Actual(id: id(replica.index), lifecycle: replica.shape.lifecycle(replica.spec, replica.index),
                             hasSandbox: replica.shape.hasSandbox)
        }
        let fill = row.desired.map { Reconcile.fill($0, actual: actual) } ?? []
        #expect(fill + Reconcile.extras(row.desired, actual: actual.reversed(), rollingOut: row.rollingOut) == row.expected)
    }
}
