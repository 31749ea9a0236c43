import DroverCore
import Foundation
import Testing

private let epoch = Timestamp(sinceEpoch: .seconds(1_750_000_000))
/// A moment `offset` after the test's epoch: time is a parameter, never the clock.
private func at(_ offset: Duration) -> Timestamp { epoch + offset }

/// Serving, restart always, SIGTERM, no ready check: ready as soon as it is spawned.
private let web = JobSpec(name: "web", command: ["/bin/web"])
/// Serving with a ready check: `running` until the check passes.
private let checkedWeb = JobSpec(
    name: "web", command: ["/bin/web"], ports: ["http"],
    health: JobSpec.Health(ready: JobSpec.HealthCheck(probe: .http(path: "/healthz", port: "http"))))
private let crunch = JobSpec(name: "crunch", kind: .batch, replicas: 4, command: ["/bin/crunch"],
                             restart: JobSpec.Restart(policy: .onFailure, maxFailures: 3))
private let oneShot = JobSpec(name: "once", command: ["/bin/once"], restart: JobSpec.Restart(policy: .never))

extension ReplicaLifecycle {
    /// Feeds events whose actions the test does not look at (jitter sample 0).
    fileprivate mutating func feed(_ events: ReplicaLifecycle.Event...) {
        for event in events { _ = handle(event, jitterSample: 0) }
    }

    fileprivate mutating func on(_ event: ReplicaLifecycle.Event) -> [ReplicaLifecycle.Action] { handle(event, jitterSample: 0) }
}

/// A replica of `job`, spawned at 1s as pid 4242 (and ready at 2s when the job has a check).
private func readyReplica(_ job: JobSpec = checkedWeb, index: Int = 0) -> ReplicaLifecycle {
    var replica = ReplicaLifecycle(job: job, index: index)
    replica.feed(.startRequested(now: at(.zero)), .spawned(pid: 4242, now: at(.seconds(1))))
    if job.health.ready != nil { replica.feed(.becameReady(now: at(.seconds(2)))) }
    return replica
}

/// Named situations a replica can be in, built through events only.
enum Situation: String, CaseIterable, Sendable {
    case waiting, starting, running, ready, lameduck, stopping, backingOff, crashlooping, draining
    case succeeded, failed, deleted

    fileprivate var replica: ReplicaLifecycle {
        var replica = ReplicaLifecycle(job: self == .succeeded ? crunch : self == .failed ? oneShot : checkedWeb, index: 1)
        switch self {
        case .waiting:
            break
        case .starting:
            replica.feed(.startRequested(now: at(.zero)))
        case .running:
            replica.feed(.startRequested(now: at(.zero)), .spawned(pid: 7, now: at(.seconds(1))))
        case .ready:
            replica = readyReplica(index: 1)
        case .lameduck:  // deadline 40s
            replica = readyReplica(index: 1)
            replica.feed(.evictRequested(.manual, grace: .seconds(30), now: at(.seconds(10))))
        case .stopping:  // killed at 40s, retry deadline 50s
            replica = Situation.lameduck.replica
            replica.feed(.timerFired(now: at(.seconds(40))))
        case .backingOff:  // until 10.1s
            replica = readyReplica(index: 1)
            replica.feed(.processExited(.exited(code: 1), now: at(.seconds(10))))
        case .crashlooping:  // third failure at 10s, next attempt 10.4s
            replica.feed(.startRequested(now: at(.zero)))
            for _ in 0..<2 {
                replica.feed(.spawned(pid: 7, now: at(.seconds(1))), .processExited(.exited(code: 1), now: at(.seconds(1))),
                             .timerFired(now: at(.seconds(9))))
            }
            replica.feed(.spawned(pid: 7, now: at(.seconds(9))), .processExited(.exited(code: 1), now: at(.seconds(10))))
        case .draining:
            replica = readyReplica(index: 1)
            replica.feed(.evictRequested(.drain, grace: .seconds(30), now: at(.seconds(10))),
                         .processExited(.exited(code: 0), now: at(.seconds(11))))
        case .succeeded:
            replica.feed(.startRequested(now: at(.zero)), .spawned(pid: 7, now: at(.seconds(1))),
                         .processExited(.exited(code: 0), now: at(.seconds(5))))
        case .failed:
            replica.feed(.startRequested(now: at(.zero)), .spawned(pid: 7, now: at(.seconds(1))),
                         .processExited(.exited(code: 1), now: at(.seconds(5))))
        case .deleted:
            replica.feed(.evictRequested(.delete, grace: .seconds(30), now: at(.seconds(1))))
        }
        return replica
    }
}

@Suite struct ReplicaStartAndReadiness {
    @Test func situationsAreWhatTheyClaim() {
        let expected: [Situation: ReplicaLifecycle.State] = [
            .waiting: .pending(.waitingForResources), .starting: .starting, .running: .running(since: at(.seconds(1))),
            .ready: .ready(since: at(.seconds(2))), .lameduck: .lameduck(deadline: at(.seconds(40))),
            .stopping: .stopping(deadline: at(.seconds(50))),
            .backingOff: .pending(.backingOff(until: at(.milliseconds(10_100)))),
            .crashlooping: .crashlooping(nextAttempt: at(.milliseconds(10_400))), .draining: .pending(.draining),
            .succeeded: .succeeded(.exited(code: 0)), .failed: .failed(.exited(code: 1)),
            .deleted: .exited(.evicted(.delete)),
        ]
        for situation in Situation.allCases {
            #expect(situation.replica.state == expected[situation], "\(situation)")
        }
    }

    @Test func withoutReadyCheckReadyOnSpawn() {
        var replica = ReplicaLifecycle(job: web, index: 2)
        #expect(replica.state == .pending(.waitingForResources))
        #expect(replica.on(.startRequested(now: at(.zero))) == [.spawn])
        #expect(replica.state == .starting)
        #expect(replica.on(.spawned(pid: 4242, now: at(.seconds(1)))) == [.publish])
        #expect(replica.state == .ready(since: at(.seconds(1))))
        #expect(replica.pid == 4242)
        #expect(replica.startedAt == at(.seconds(1)))
        #expect(replica.state.name == "ready")
    }

    @Test func readyCheckPublishesAndUnpublishes() {
        var replica = ReplicaLifecycle(job: checkedWeb, index: 0)
        replica.feed(.startRequested(now: at(.zero)))
        #expect(replica.on(.spawned(pid: 9, now: at(.seconds(1)))) == [])
        #expect(replica.state == .running(since: at(.seconds(1))))
        #expect(replica.on(.becameReady(now: at(.seconds(3)))) == [.publish])
        #expect(replica.state == .ready(since: at(.seconds(3))))
        #expect(replica.on(.becameUnready(now: at(.seconds(8)))) == [.unpublish])
        #expect(replica.state == .running(since: at(.seconds(8))))
        #expect(replica.on(.becameReady(now: at(.seconds(9)))) == [.publish])
    }
}

@Suite struct LameduckEviction {
    /// SPEC §4 in order: unpublish, notice, the job's signal, the grace timer.
    @Test(arguments: [(Int32(15), Duration.seconds(30)), (10, .seconds(5)), (2, .zero)])
    func noticeSequenceInOrder(signal: Int32, grace: Duration) {
        var job = checkedWeb
        job.lameduck = JobSpec.Lameduck(signal: signal, grace: grace)
        var replica = readyReplica(job)
        let deadline = at(.seconds(10)) + grace
        let actions = replica.on(.evictRequested(.update, grace: grace, now: at(.seconds(10))))
        #expect(actions == [.unpublish, .writeLameduckNotice(deadline: deadline, reason: .update), .signal(signal),
                            .armTimer(at: deadline)])
        #expect(replica.state == .lameduck(deadline: deadline))
        #expect(replica.state.deadline == deadline)
    }

    @Test func gracefulExitBeforeTheDeadline() {
        var replica = readyReplica()
        replica.feed(.evictRequested(.manual, grace: .seconds(30), now: at(.seconds(10))))
        let actions = replica.on(.processExited(.exited(code: 0), now: at(.milliseconds(12_500))))
        let record = ExitRecord(reason: .evicted(.manual), at: at(.milliseconds(12_500)),
                                stop: .graceful(status: .exited(code: 0), after: .milliseconds(2500)))
        #expect(actions == [.cancelTimer, .recordExit(record), .releaseResources])
        #expect(replica.lastExit == record)
        #expect(replica.state == .pending(.waitingForResources), "manual eviction: replaced at the same index")
        #expect(replica.pid == nil)
        #expect(replica.restarts == 0, "a replacement is not a restart")
    }

    @Test func killedAtTheDeadline() {
        var replica = readyReplica()
        replica.feed(.evictRequested(.preempted, grace: .seconds(30), now: at(.seconds(10))))
        #expect(replica.on(.timerFired(now: at(.seconds(40)))) == [.killCgroup, .armTimer(at: at(.seconds(50)))])
        #expect(replica.state == .stopping(deadline: at(.seconds(50))))
        // Not reported dead yet: kill again.
        #expect(replica.on(.timerFired(now: at(.seconds(50)))) == [.killCgroup, .armTimer(at: at(.seconds(60)))])
        let actions = replica.on(.processExited(.signaled(signal: 9), now: at(.seconds(51))))
        let record = ExitRecord(reason: .evicted(.preempted), at: at(.seconds(51)), stop: .killed(after: .seconds(41)))
        #expect(actions == [.cancelTimer, .recordExit(record), .releaseResources])
        #expect(replica.state == .pending(.waitingForResources))
    }

    @Test func zeroGraceKillsWhenTheTimerFires() {
        var replica = readyReplica()
        let now = at(.seconds(10))
        #expect(replica.on(.evictRequested(.manual, grace: .zero, now: now))
            == [.unpublish, .writeLameduckNotice(deadline: now, reason: .manual), .signal(15), .armTimer(at: now)])
        #expect(replica.on(.timerFired(now: now)) == [.killCgroup, .armTimer(at: now + ReplicaLifecycle.killRetryInterval)])
    }

    /// What follows the exit, by reason (SPEC §4) and kind.
    @Test(arguments: [
        (EvictionReason.manual, JobSpec.Kind.serving, ReplicaLifecycle.State.pending(.waitingForResources),
         [ReplicaLifecycle.Action.releaseResources]),
        (.update, .serving, .pending(.waitingForResources), [.releaseResources]),
        (.preempted, .serving, .pending(.waitingForResources), [.releaseResources]),
        (.preempted, .batch, .pending(.waitingForResources), [.releaseResources]),
        (.manual, .batch, .pending(.waitingForResources), [.releaseResources]),
        (.drain, .serving, .pending(.draining), [.releaseResources]),
        (.drain, .batch, .pending(.draining), [.releaseResources]),
        (.scaleDown, .serving, .exited(.evicted(.scaleDown)), [.releaseResources]),
        (.stop, .serving, .exited(.evicted(.stop)), [.releaseResources]),
        (.delete, .serving, .exited(.evicted(.delete)), [.releaseResources, .removeStateDirectory]),
        (.delete, .batch, .exited(.evicted(.delete)), [.releaseResources, .removeStateDirectory]),
        (.unhealthy, .serving, .pending(.backingOff(until: at(.milliseconds(12_100)))),
         [.armTimer(at: at(.milliseconds(12_100)))]),
    ])
    func afterTheEviction(reason: EvictionReason, kind: JobSpec.Kind, state: ReplicaLifecycle.State, tail: [ReplicaLifecycle.Action]) {
        var replica = readyReplica(kind == .serving ? checkedWeb : crunch)
        replica.feed(.evictRequested(reason, grace: .seconds(30), now: at(.seconds(10))))
        let actions = replica.on(.processExited(.signaled(signal: 15), now: at(.seconds(12))))
        #expect(Array(actions.prefix(2)) == [.cancelTimer, .recordExit(replica.lastExit!)])
        #expect(Array(actions.dropFirst(2)) == tail)
        #expect(replica.state == state)
        #expect(replica.lastExit?.stop == .graceful(status: .signaled(signal: 15), after: .seconds(2)))
    }

    @Test func unhealthyIsRecordedAsHealthAndCountsAsAFailure() {
        var replica = readyReplica()
        replica.feed(.evictRequested(.unhealthy, grace: .seconds(30), now: at(.seconds(10))),
                     .processExited(.exited(code: 0), now: at(.seconds(11))))
        #expect(replica.lastExit?.reason == .health)
        #expect(replica.failures == FailureCount(consecutive: 1, total: 1))
        #expect(replica.nextAttempt == at(.milliseconds(11_100)))
    }

    @Test func stopWhileStartingWaitsForThePid() {
        var replica = Situation.starting.replica
        #expect(replica.on(.evictRequested(.scaleDown, grace: .seconds(5), now: at(.seconds(1)))) == [])
        #expect(replica.on(.evictRequested(.manual, grace: .seconds(3), now: at(.seconds(1)))) == [])
        #expect(replica.state == .starting)
        // The shorter grace, the more final reason, counted from the spawn.
        #expect(replica.on(.spawned(pid: 77, now: at(.seconds(2))))
            == [.unpublish, .writeLameduckNotice(deadline: at(.seconds(5)), reason: .scaleDown), .signal(15),
                .armTimer(at: at(.seconds(5)))])
        #expect(replica.on(.processExited(.exited(code: 0), now: at(.seconds(3)))).last == .releaseResources)
        #expect(replica.state == .exited(.evicted(.scaleDown)))
    }

    @Test func stopWhileStartingThenSpawnFails() {
        var replica = Situation.starting.replica
        replica.feed(.evictRequested(.delete, grace: .seconds(5), now: at(.seconds(1))))
        let actions = replica.on(.spawnFailed(message: "pivot_root: EPERM", now: at(.seconds(2))))
        #expect(actions == [.recordExit(ExitRecord(reason: .spawnFailed(message: "pivot_root: EPERM"), at: at(.seconds(2)))),
                            .releaseResources, .removeStateDirectory])
        #expect(replica.state == .exited(.evicted(.delete)))
    }

    /// A second stop may shorten the grace and, if more final, change what follows.
    @Test func overlappingStops() {
        var replica = Situation.lameduck.replica  // manual, deadline 40s
        #expect(replica.on(.evictRequested(.delete, grace: .seconds(60), now: at(.seconds(11)))) == [],
                "a longer grace is not granted")
        #expect(replica.on(.evictRequested(.manual, grace: .seconds(5), now: at(.seconds(12))))
            == [.writeLameduckNotice(deadline: at(.seconds(17)), reason: .delete), .armTimer(at: at(.seconds(17)))],
                "shorter grace; delete stays the reason")
        #expect(replica.state == .lameduck(deadline: at(.seconds(17))))
        let actions = replica.on(.processExited(.exited(code: 0), now: at(.seconds(13))))
        #expect(actions.suffix(2) == [.releaseResources, .removeStateDirectory])
        #expect(replica.state == .exited(.evicted(.delete)))
    }

    @Test func deleteWhileStoppingWins() {
        var replica = Situation.stopping.replica  // manual
        #expect(replica.on(.evictRequested(.delete, grace: .seconds(30), now: at(.seconds(41)))) == [])
        replica.feed(.processExited(.signaled(signal: 9), now: at(.seconds(42))))
        #expect(replica.state == .exited(.evicted(.delete)))
        #expect(replica.lastExit?.stop == .killed(after: .seconds(32)))
    }
}

@Suite struct EvictionWithoutAProcess {
    /// Nothing to signal: the eviction's rule applies at once.
    @Test(arguments: [
        (Situation.backingOff, EvictionReason.manual, ReplicaLifecycle.State.pending(.waitingForResources),
         [ReplicaLifecycle.Action.cancelTimer, .releaseResources]),
        (.crashlooping, .preempted, .pending(.waitingForResources), [.cancelTimer, .releaseResources]),
        (.crashlooping, .drain, .pending(.draining), [.cancelTimer, .releaseResources]),
        (.crashlooping, .scaleDown, .exited(.evicted(.scaleDown)), [.cancelTimer, .releaseResources]),
        (.backingOff, .delete, .exited(.evicted(.delete)), [.cancelTimer, .releaseResources, .removeStateDirectory]),
        (.waiting, .drain, .pending(.draining), []),
        (.waiting, .stop, .exited(.evicted(.stop)), []),
        (.waiting, .delete, .exited(.evicted(.delete)), [.removeStateDirectory]),
        (.draining, .scaleDown, .exited(.evicted(.scaleDown)), []),
        (.succeeded, .delete, .exited(.evicted(.delete)), [.removeStateDirectory]),
        (.failed, .delete, .exited(.evicted(.delete)), [.removeStateDirectory]),
    ])
    func appliesAtOnce(situation: Situation, reason: EvictionReason, state: ReplicaLifecycle.State, actions: [ReplicaLifecycle.Action]) {
        var replica = situation.replica
        #expect(replica.on(.evictRequested(reason, grace: .seconds(30), now: at(.seconds(20)))) == actions)
        #expect(replica.state == state)
        #expect(replica.nextAttempt == nil)
    }

    @Test func updateGivesACrashloopingReplicaAFreshStart() {
        var replica = Situation.crashlooping.replica
        #expect(replica.failures == FailureCount(consecutive: 3, total: 3))
        #expect(replica.on(.evictRequested(.update, grace: .seconds(30), now: at(.seconds(10)))) == [.cancelTimer, .releaseResources])
        #expect(replica.failures == FailureCount())
        #expect(replica.state == .pending(.waitingForResources))
    }
}

@Suite struct RestartsAndBackoff {
    @Test func timerDrivenRestart() {
        var replica = readyReplica()
        let actions = replica.on(.processExited(.exited(code: 1), now: at(.seconds(10))))
        let restartAt = at(.milliseconds(10_100))
        #expect(actions == [.unpublish, .recordExit(ExitRecord(reason: .exited(code: 1), at: at(.seconds(10)))),
                            .armTimer(at: restartAt)])
        #expect(replica.state == .pending(.backingOff(until: restartAt)))
        #expect(replica.state.name == "pending")
        #expect(replica.nextAttempt == restartAt)
        #expect(replica.pid == nil)
        #expect(replica.on(.timerFired(now: at(.milliseconds(10_050)))) == [], "early timer")
        #expect(replica.restarts == 0)
        #expect(replica.on(.timerFired(now: restartAt)) == [.spawn])
        #expect(replica.state == .starting)
        #expect(replica.restarts == 1)
        #expect(replica.nextAttempt == nil)
    }

    @Test func exitOfAReplicaThatWasNotReadyDoesNotUnpublish() {
        var replica = Situation.running.replica
        #expect(replica.on(.processExited(.oomKilled, now: at(.seconds(3))))
            == [.recordExit(ExitRecord(reason: .oomKilled, at: at(.seconds(3)))), .armTimer(at: at(.milliseconds(3100)))])
    }

    @Test func spawnFailureBacksOff() {
        var replica = Situation.starting.replica
        let actions = replica.on(.spawnFailed(message: "execve `/bin/web`: ENOENT", now: at(.seconds(1))))
        #expect(actions == [.recordExit(ExitRecord(reason: .spawnFailed(message: "execve `/bin/web`: ENOENT"), at: at(.seconds(1)))),
                            .armTimer(at: at(.milliseconds(1100)))])
        #expect(replica.nextAttempt == at(.milliseconds(1100)))
    }

    /// Crash at once, again and again: the delay doubles, the third failure in a row shows
    /// crashlooping, `ps` sees the restart count and the next attempt.
    @Test func crashloopShowsNextAttemptAndRestartCount() {
        var replica = ReplicaLifecycle(job: web, index: 0)
        replica.feed(.startRequested(now: at(.zero)))
        var now = at(.zero)
        var delays: [Duration] = []
        var names: [String] = []
        for _ in 0..<5 {
            replica.feed(.spawned(pid: 5, now: now))
            replica.feed(.processExited(.exited(code: 2), now: now))
            let next = replica.nextAttempt!
            delays.append(next - now)
            names.append(replica.state.name)
            now = next
            #expect(replica.on(.timerFired(now: now)) == [.spawn])
        }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600)])
        #expect(names == ["pending", "pending", "crashlooping", "crashlooping", "crashlooping"])
        #expect(replica.restarts == 5)
        #expect(replica.failures == FailureCount(consecutive: 5, total: 5))
    }

    @Test func healthyRunningResetsTheBackoff() {
        var replica = Situation.crashlooping.replica
        replica.feed(.timerFired(now: at(.seconds(11))), .spawned(pid: 8, now: at(.seconds(11))),
                     .becameReady(now: at(.seconds(12))))
        replica.feed(.processExited(.exited(code: 1), now: at(.seconds(12 + 300))))
        #expect(replica.state == .pending(.backingOff(until: at(.milliseconds(312_100)))))
        #expect(replica.failures == FailureCount(consecutive: 1, total: 4))
    }

    /// Over five healthy minutes, then a flap and a crash: the earlier stretch still counts.
    @Test func healthyStretchSurvivesAFlap() {
        var replica = Situation.crashlooping.replica  // 3 failures in a row
        replica.feed(.timerFired(now: at(.seconds(11))), .spawned(pid: 8, now: at(.seconds(11))),
                     .becameReady(now: at(.seconds(12))), .becameUnready(now: at(.seconds(400))),
                     .becameReady(now: at(.seconds(401))), .processExited(.exited(code: 1), now: at(.seconds(402))))
        #expect(replica.failures == FailureCount(consecutive: 1, total: 4))
        #expect(replica.state == .pending(.backingOff(until: at(.milliseconds(402_100)))))
        // A short run after that does not reset.
        replica.feed(.timerFired(now: at(.seconds(403))), .spawned(pid: 9, now: at(.seconds(403))),
                     .becameReady(now: at(.seconds(404))), .processExited(.exited(code: 1), now: at(.seconds(405))))
        #expect(replica.failures.consecutive == 2)
        #expect(replica.nextAttempt == at(.milliseconds(405_200)))
    }

    @Test func jitterMovesTheRestart() {
        var replica = readyReplica()
        _ = replica.handle(.processExited(.exited(code: 1), now: at(.seconds(10))), jitterSample: 1)
        #expect(replica.nextAttempt == at(.milliseconds(10_110)))
    }

    @Test func servingNeverStaysDown() {
        var failed = readyReplica(oneShot)
        #expect(failed.on(.processExited(.exited(code: 1), now: at(.seconds(5)))).suffix(1) == [.releaseResources])
        #expect(failed.state == .failed(.exited(code: 1)))
        var exited = readyReplica(oneShot)
        exited.feed(.processExited(.exited(code: 0), now: at(.seconds(5))))
        #expect(exited.state == .exited(.exited(code: 0)))
        #expect(exited.state.isTerminal)
    }

    @Test func startAfterStopOrFailureIsAFreshStart() {
        var stopped = readyReplica()
        stopped.feed(.evictRequested(.stop, grace: .seconds(30), now: at(.seconds(5))),
                     .processExited(.exited(code: 0), now: at(.seconds(6))))
        #expect(stopped.state == .exited(.evicted(.stop)))
        #expect(stopped.on(.startRequested(now: at(.seconds(60)))) == [.spawn])
        var failed = Situation.failed.replica
        #expect(failed.on(.startRequested(now: at(.seconds(60)))) == [.spawn])
        #expect(failed.failures == FailureCount())
        var drained = Situation.draining.replica
        #expect(drained.on(.startRequested(now: at(.seconds(60)))) == [.spawn], "undrained and admitted")
    }
}

@Suite struct BatchIndices {
    @Test func exitZeroSucceeds() {
        var replica = readyReplica(crunch, index: 3)
        let actions = replica.on(.processExited(.exited(code: 0), now: at(.seconds(60))))
        #expect(actions == [.unpublish, .recordExit(ExitRecord(reason: .exited(code: 0), at: at(.seconds(60)))), .releaseResources])
        #expect(replica.state == .succeeded(.exited(code: 0)))
        #expect(replica.state.isTerminal)
    }

    /// max_failures 3: the third failure fails the job, naming the index and the last reason.
    @Test func maxFailuresFailsTheJob() {
        var replica = readyReplica(crunch, index: 2)
        var now = at(.seconds(10))
        replica.feed(.processExited(.exited(code: 7), now: now))
        now = replica.nextAttempt!
        replica.feed(.timerFired(now: now), .spawned(pid: 1, now: now), .processExited(.signaled(signal: 11), now: now))
        now = replica.nextAttempt!
        replica.feed(.timerFired(now: now), .spawned(pid: 1, now: now))
        let actions = replica.on(.processExited(.oomKilled, now: now + .seconds(1)))
        #expect(actions == [.unpublish, .recordExit(ExitRecord(reason: .oomKilled, at: now + .seconds(1))), .releaseResources,
                            .jobFailed(index: 2, failures: 3, lastReason: .oomKilled)])
        #expect(replica.state == .failed(.oomKilled))
        #expect(replica.restarts == 2)
        #expect(replica.on(.startRequested(now: now + .seconds(2))) == [.spawn], "drover start retries the index")
    }
}

@Suite struct IgnoredEvents {
    /// Events that make no sense where the replica is: no actions, nothing changes.
    @Test(arguments: [
        (Situation.waiting, ReplicaLifecycle.Event.spawned(pid: 1, now: at(.seconds(99)))),
        (.waiting, .spawnFailed(message: "late", now: at(.seconds(99)))),
        (.waiting, .becameReady(now: at(.seconds(99)))),
        (.waiting, .becameUnready(now: at(.seconds(99)))),
        (.waiting, .processExited(.exited(code: 1), now: at(.seconds(99)))),
        (.waiting, .timerFired(now: at(.seconds(99)))),
        (.waiting, .evictRequested(.manual, grace: .seconds(30), now: at(.seconds(99)))),
        (.waiting, .evictRequested(.preempted, grace: .seconds(30), now: at(.seconds(99)))),
        (.waiting, .evictRequested(.unhealthy, grace: .seconds(30), now: at(.seconds(99)))),
        (.starting, .startRequested(now: at(.seconds(99)))),
        (.starting, .becameReady(now: at(.seconds(99)))),
        (.starting, .processExited(.exited(code: 1), now: at(.seconds(99)))),
        (.starting, .timerFired(now: at(.seconds(99)))),
        (.running, .startRequested(now: at(.seconds(99)))),
        (.running, .spawned(pid: 2, now: at(.seconds(99)))),
        (.running, .becameUnready(now: at(.seconds(99)))),
        (.running, .timerFired(now: at(.seconds(99)))),
        (.ready, .becameReady(now: at(.seconds(99)))),
        (.ready, .spawnFailed(message: "late", now: at(.seconds(99)))),
        (.ready, .timerFired(now: at(.seconds(99)))),
        (.lameduck, .startRequested(now: at(.seconds(11)))),
        (.lameduck, .spawned(pid: 3, now: at(.seconds(11)))),
        (.lameduck, .becameReady(now: at(.seconds(11)))),
        (.lameduck, .becameUnready(now: at(.seconds(11)))),
        (.lameduck, .timerFired(now: at(.seconds(39)))),
        (.lameduck, .evictRequested(.manual, grace: .seconds(60), now: at(.seconds(11)))),
        (.stopping, .timerFired(now: at(.seconds(45)))),
        (.stopping, .startRequested(now: at(.seconds(45)))),
        (.stopping, .becameReady(now: at(.seconds(45)))),
        (.backingOff, .startRequested(now: at(.seconds(10)))),
        (.backingOff, .processExited(.exited(code: 1), now: at(.seconds(10)))),
        (.backingOff, .timerFired(now: at(.milliseconds(10_050)))),
        (.backingOff, .becameReady(now: at(.seconds(10)))),
        (.backingOff, .evictRequested(.unhealthy, grace: .seconds(30), now: at(.seconds(10)))),
        (.crashlooping, .timerFired(now: at(.milliseconds(10_399)))),
        (.crashlooping, .spawned(pid: 4, now: at(.seconds(10)))),
        (.draining, .evictRequested(.manual, grace: .seconds(30), now: at(.seconds(20)))),
        (.draining, .evictRequested(.drain, grace: .seconds(30), now: at(.seconds(20)))),
        (.draining, .timerFired(now: at(.seconds(99)))),
        (.succeeded, .startRequested(now: at(.seconds(99)))),
        (.succeeded, .evictRequested(.manual, grace: .seconds(30), now: at(.seconds(99)))),
        (.succeeded, .processExited(.exited(code: 0), now: at(.seconds(99)))),
        (.failed, .evictRequested(.stop, grace: .seconds(30), now: at(.seconds(99)))),
        (.failed, .timerFired(now: at(.seconds(99)))),
        (.deleted, .startRequested(now: at(.seconds(99)))),
        (.deleted, .evictRequested(.delete, grace: .seconds(30), now: at(.seconds(99)))),
    ])
    func ignored(situation: Situation, event: ReplicaLifecycle.Event) {
        var replica = situation.replica
        let before = replica
        #expect(replica.on(event) == [])
        #expect(replica == before)
    }
}

@Suite struct StoredAcrossRestarts {
    /// droverd is crash-only: a stored replica comes back with its deadline and counters.
    @Test(arguments: Situation.allCases)
    func roundTripsThroughJSON(situation: Situation) throws {
        let replica = situation.replica
        let decoded = try JSONDecoder().decode(ReplicaLifecycle.self, from: JSONEncoder().encode(replica))
        #expect(decoded == replica)
        #expect(decoded.state.deadline == replica.state.deadline)
    }
}
