import DroverCore
import Testing

private let epoch = Timestamp(sinceEpoch: .seconds(1_750_000_000))
private func at(_ seconds: Int64) -> Timestamp { epoch + .seconds(seconds) }
private let web = JobSpec(name: "web", command: ["/bin/web"])

/// Issue 13: the note of `drover evict --reason` travels with its eviction request through
/// the lifecycle into that request's notice, and is gone after it.
@Suite struct EvictionNoteInTheLifecycle {
    private func ready() -> ReplicaLifecycle {
        var replica = ReplicaLifecycle(job: web, index: 0)
        _ = replica.handle(.startRequested(now: at(0)), jitterSample: 0)
        _ = replica.handle(.spawned(pid: 7, now: at(1)), jitterSample: 0)
        return replica
    }

    @Test func theNoticeOfTheRequestCarriesItsNote() {
        var replica = ready()
        let actions = replica.handle(.evictRequested(.manual, grace: .seconds(5), now: at(2), note: "disk swap"), jitterSample: 0)
        #expect(actions.contains(.writeLameduckNotice(deadline: at(7), reason: .manual, note: "disk swap")), "\(actions)")
    }

    @Test func theNextEvictionOfTheIndexHasNoNote() {
        var replica = ready()
        _ = replica.handle(.evictRequested(.manual, grace: .seconds(5), now: at(2), note: "disk swap"), jitterSample: 0)
        _ = replica.handle(.processExited(.exited(code: 0), now: at(3)), jitterSample: 0)
        _ = replica.handle(.startRequested(now: at(4)), jitterSample: 0)
        _ = replica.handle(.spawned(pid: 8, now: at(5)), jitterSample: 0)
        let drain = replica.handle(.evictRequested(.drain, grace: .seconds(5), now: at(6)), jitterSample: 0)
        #expect(drain.contains(.writeLameduckNotice(deadline: at(11), reason: .drain, note: nil)), "\(drain)")
    }

    @Test func aDrainDuringTheManualLameduckRewritesTheNoticeWithoutTheNote() {
        var replica = ready()
        _ = replica.handle(.evictRequested(.manual, grace: .seconds(30), now: at(2), note: "disk swap"), jitterSample: 0)
        let drain = replica.handle(.evictRequested(.drain, grace: .seconds(5), now: at(3)), jitterSample: 0)
        #expect(drain == [.writeLameduckNotice(deadline: at(8), reason: .drain, note: nil), .armTimer(at: at(8))])
    }

    @Test func aNoteGivenWhileStartingWaitsForThePid() {
        var replica = ReplicaLifecycle(job: web, index: 0)
        _ = replica.handle(.startRequested(now: at(0)), jitterSample: 0)
        #expect(replica.handle(.evictRequested(.manual, grace: .seconds(5), now: at(1), note: "rack 4"), jitterSample: 0) == [])
        let spawned = replica.handle(.spawned(pid: 7, now: at(2)), jitterSample: 0)
        #expect(spawned.contains(.writeLameduckNotice(deadline: at(7), reason: .manual, note: "rack 4")), "\(spawned)")
    }
}
