import DroverCore
import Testing

private let epoch = Timestamp(sinceEpoch: .seconds(1_750_000_000))
private func at(_ seconds: Int64) -> Timestamp { epoch + .seconds(seconds) }
private let Mi: UInt64 = 1 << 20
private let Gi: UInt64 = 1 << 30
/// 4 cores and 8Gi for requests.
private let host = Admission.Resources(millicores: 4000, memory: 8 * Gi)

private func holder(_ name: String, _ priority: JobSpec.Priority, cpu: Int, memory: UInt64 = 0,
                    startedAt: Int64? = 0) -> Admission.Holder {
    Admission.Holder(id: ReplicaID(name)!, priority: priority, request: Admission.Resources(millicores: cpu, memory: memory),
                     startedAt: startedAt.map(at))
}

struct AdmissionRow: Sendable, CustomTestStringConvertible {
    var title: String
    var priority: JobSpec.Priority
    var cpu: Int
    var memory: UInt64 = 0
    var admitted: [Admission.Holder] = []
    var awaitingVictims = false
    var expected: Admission.Decision
    var testDescription: String { title }
}

@Suite struct AdmissionTable {
    static let rows: [AdmissionRow] = [
        AdmissionRow(title: "fits on an empty host", priority: .production, cpu: 1000, memory: Gi, expected: .admit),
        AdmissionRow(title: "fits exactly into what is left", priority: .bestEffort, cpu: 3000, memory: 7 * Gi,
                     admitted: [holder("web/0", .production, cpu: 1000, memory: Gi)], expected: .admit),
        AdmissionRow(title: "no fit for cpu: best-effort waits, saying why", priority: .bestEffort, cpu: 2000,
                     admitted: [holder("web/0", .production, cpu: 3000)], expected: .wait(why: "needs 2 cpu, 1 free")),
        AdmissionRow(title: "no fit for memory: batch waits, saying why", priority: .batch, cpu: 0, memory: 512 * Mi,
                     admitted: [holder("web/0", .production, cpu: 0, memory: 8 * Gi - 256 * Mi)],
                     expected: .wait(why: "needs 512Mi memory, 256Mi free")),
        AdmissionRow(title: "short of both: both said, nothing free shown as 0", priority: .batch, cpu: 2000, memory: Gi,
                     admitted: [holder("web/0", .production, cpu: 3500, memory: 8 * Gi)],
                     expected: .wait(why: "needs 2 cpu, 0.5 free; needs 1Gi memory, 0 free")),
        AdmissionRow(title: "batch never preempts, not even best-effort", priority: .batch, cpu: 2000,
                     admitted: [holder("web/0", .production, cpu: 1000), holder("idle/0", .bestEffort, cpu: 3000)],
                     expected: .wait(why: "needs 2 cpu, 0 free")),
        AdmissionRow(title: "production preempts batch", priority: .production, cpu: 2000,
                     admitted: [holder("web/0", .production, cpu: 2000), holder("crunch/0", .batch, cpu: 2000)],
                     expected: .preempt(victims: [ReplicaID("crunch/0")!], why: "needs 2 cpu, 0 free; preempting crunch/0")),
        AdmissionRow(title: "best-effort goes before batch", priority: .production, cpu: 1000,
                     admitted: [holder("web/0", .production, cpu: 1000), holder("crunch/0", .batch, cpu: 1500),
                                holder("idle/0", .bestEffort, cpu: 1500)],
                     expected: .preempt(victims: [ReplicaID("idle/0")!], why: "needs 1 cpu, 0 free; preempting idle/0")),
        AdmissionRow(title: "then batch, when best-effort is not enough", priority: .production, cpu: 2000,
                     admitted: [holder("web/0", .production, cpu: 1000), holder("crunch/0", .batch, cpu: 1500),
                                holder("idle/0", .bestEffort, cpu: 1500)],
                     expected: .preempt(victims: [ReplicaID("idle/0")!, ReplicaID("crunch/0")!],
                                        why: "needs 2 cpu, 0 free; preempting idle/0, crunch/0")),
        AdmissionRow(title: "the newest of a priority first", priority: .production, cpu: 1000,
                     admitted: [holder("web/0", .production, cpu: 2000), holder("idle/0", .bestEffort, cpu: 1000, startedAt: 10),
                                holder("idle/1", .bestEffort, cpu: 1000, startedAt: 20)],
                     expected: .preempt(victims: [ReplicaID("idle/1")!], why: "needs 1 cpu, 0 free; preempting idle/1")),
        AdmissionRow(title: "only as many as needed, newest first", priority: .production, cpu: 2000,
                     admitted: [holder("web/0", .production, cpu: 1000), holder("idle/0", .bestEffort, cpu: 1000, startedAt: 30),
                                holder("idle/1", .bestEffort, cpu: 1000, startedAt: 10),
                                holder("idle/2", .bestEffort, cpu: 1000, startedAt: 20)],
                     expected: .preempt(victims: [ReplicaID("idle/0")!, ReplicaID("idle/2")!],
                                        why: "needs 2 cpu, 0 free; preempting idle/0, idle/2")),
        AdmissionRow(title: "memory counts too when choosing victims", priority: .production, cpu: 0, memory: 2 * Gi,
                     admitted: [holder("web/0", .production, cpu: 0, memory: 6 * Gi), holder("crunch/0", .batch, cpu: 0, memory: Gi)],
                     expected: .preempt(victims: [ReplicaID("crunch/0")!], why: "needs 2Gi memory, 1Gi free; preempting crunch/0")),
        AdmissionRow(title: "production never preempts production", priority: .production, cpu: 1000,
                     admitted: [holder("web/0", .production, cpu: 4000)], expected: .wait(why: "needs 1 cpu, 0 free")),
        AdmissionRow(title: "no victims when even all of them would not make room", priority: .production, cpu: 3000,
                     admitted: [holder("web/0", .production, cpu: 3000), holder("idle/0", .bestEffort, cpu: 1000)],
                     expected: .wait(why: "needs 3 cpu, 0 free")),
        AdmissionRow(title: "victims already stopping: waits for them", priority: .production, cpu: 2000,
                     admitted: [holder("web/0", .production, cpu: 2000), holder("crunch/0", .batch, cpu: 2000)],
                     awaitingVictims: true,
                     expected: .wait(why: "needs 2 cpu, 0 free; waiting for preempted replicas to stop")),
    ]

    @Test(arguments: rows)
    func decides(_ row: AdmissionRow) {
        let decision = Admission.decide(request: Admission.Resources(millicores: row.cpu, memory: row.memory), priority: row.priority,
                                        admitted: row.admitted, capacity: host, awaitingVictims: row.awaitingVictims)
        #expect(decision == row.expected)
    }

    @Test func requestsComeFromTheJobsResources() {
        let job = JobSpec(name: "web", command: ["/bin/web"], resources: JobSpec.Resources(cpu: CPUCores(millicores: 250), memory: 64 * Mi))
        #expect(Admission.Resources(requestedBy: job) == Admission.Resources(millicores: 250, memory: 64 * Mi))
        #expect(Admission.Resources(requestedBy: JobSpec(name: "web", command: ["/bin/web"])) == Admission.Resources(millicores: 0, memory: 0))
    }

    @Test func waitingReplicasRetryHighestPriorityFirstThenByName() {
        let waiting: [(id: ReplicaID, priority: JobSpec.Priority)] = [
            (ReplicaID("idle/0")!, .bestEffort), (ReplicaID("web/1")!, .production), (ReplicaID("crunch/0")!, .batch),
            (ReplicaID("api/0")!, .production),
        ]
        #expect(Admission.retryOrder(waiting) == ["api/0", "web/1", "crunch/0", "idle/0"].map { ReplicaID($0)! })
        #expect(Admission.drainOrder(waiting) == ["idle/0", "crunch/0", "api/0", "web/1"].map { ReplicaID($0)! })
    }
}

@Suite struct ReplicaIDForms {
    @Test(arguments: [("web/2", "web", 2), ("api-v2/0", "api-v2", 0)])
    func parsesAndPrintsOneName(text: String, job: String, index: Int) {
        let id = ReplicaID(text)
        #expect(id == ReplicaID(job: job, index: index))
        #expect(id?.description == text)
        #expect(id?.leafName == "\(job).\(index)")
        #expect(id?.hostname == "\(index).\(job)")
        #expect(ReplicaID(leafName: "\(job).\(index)") == id)
    }

    @Test(arguments: ["web", "/2", "web/", "web/x", "web/-1", "2.web"])
    func refusesWhatIsNotJobSlashIndex(text: String) {
        #expect(ReplicaID(text) == nil)
    }

    @Test(arguments: ["web", ".2", "web.", "web.x", "web.-1"])
    func refusesWhatIsNotALeaf(text: String) {
        #expect(ReplicaID(leafName: text) == nil)
    }

    @Test func ordersByJobThenIndex() {
        #expect(["web/10", "api/3", "web/2"].map { ReplicaID($0)! }.sorted().map(\.description) == ["api/3", "web/2", "web/10"])
    }
}
