import DroverCore
import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// Issue 12, "done when" 1: the real droverd and drover binaries under minutes of chaos —
/// random SIGKILLs of droverd (some in the middle of an apply), of replicas' drover-init and of
/// their workloads, scale changes and evictions, and the targeted race "SIGKILL droverd right
/// after a replacement's cgroup leaf appears" — asserting throughout that no index has two
/// live sandboxes, and at the end that the declared replicas run, each batch index ran to
/// success once, `ps` says what /proc says, nothing is a zombie, no leaf is left over, droverd
/// holds no more descriptors than a fresh one, and `ps` answered within 2 s of every restart.
///
/// `make test-chaos` runs it (DROVER_CHAOS=1). DROVER_CHAOS_SEED replays a run's choices (the
/// timing of a loaded machine still differs), DROVER_CHAOS_SECONDS sets the random part's length,
/// DROVER_CHAOS_RACES the number of targeted races.
@Suite(.serialized,
       .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"),
       .enabled(if: ChaosSettings.enabled, "the chaos test takes minutes: make test-chaos (DROVER_CHAOS=1) runs it"))
struct ChaosTests {
    @Test func droverdHoldsUnderChaos() throws {
        let chaos = try Chaos(seed: ChaosSettings.seed)
        defer { chaos.tearDown() }
        try chaos.run(seconds: ChaosSettings.seconds, races: ChaosSettings.races)
    }
}

/// The fewest of each kind of chaos a full run (120 s or more) must have done: a run that
/// did not kill droverd mid-apply, say, proves nothing about it.
private let minimumCounts: [Chaos.Action: Int] = [
    .killDaemon: 4, .killDaemonMidApply: 4, .killInit: 8, .killWorkload: 4, .scale: 4, .evict: 4, .addBatch: 2,
]

/// Descriptors a droverd may hold beyond a fresh one's at the same steady state and still
/// count as not leaking: a health probe's socket being closed, an API connection the CLI just
/// left. User namespaces are counted apart: the launcher keeps one per job's uid mapping, by
/// design. A leak per replica start, exit, adoption or eviction shows as tens more.
private let descriptorSlack = 3

/// The `ps` bound after each droverd restart (issue 12): from starting droverd to its answer
/// to `drover ps`'s request (GET /v1/jobs), re-adoption included. The CLI's round trip is
/// logged beside it (its own start-up is not droverd's).
private let psBound = 2.0

final class Chaos {
    enum Action: String, CaseIterable {
        case killDaemon = "kill droverd"
        case killDaemonMidApply = "kill droverd mid-apply"
        case killInit = "kill a replica's drover-init"
        case killWorkload = "kill a replica's workload"
        case scale = "scale"
        case evict = "evict"
        case addBatch = "add a batch job"
        case race = "targeted race"
    }

    let daemon: TestDaemon
    let tree: CgroupTree
    let testload = TestEnvironment.testload
    var random: SeededRandom
    let sampler: DuplicateSampler
    let web, api, race: String
    /// Declared replica counts of the jobs that scale.
    var webCount = 3, apiCount = 2
    let raceCount = 2
    var batches: [String] = []
    var lastBatchAt = -100.0
    var counts: [Action: Int] = [:]
    /// Seconds from each droverd start to `drover ps` answering.
    var psLatencies: [Double] = []
    /// Seconds from each droverd start to the `drover ps` that first succeeded (the CLI's own
    /// start-up included, and TestDaemon's 20 ms between tries).
    var cliLatencies: [Double] = []
    let began = monotonicSeconds()

    init(seed: UInt64) throws {
        print("chaos: seed \(seed) (replay: DROVER_CHAOS_SEED=\(seed) make test-chaos)")
        random = SeededRandom(seed: seed)
        tree = try CgroupTree.prepare()
        daemon = try TestDaemon()
        web = daemon.job("web")
        api = daemon.job("api")
        race = daemon.job("race")
        let suffix = "-" + daemon.suffix
        sampler = DuplicateSampler { $0.hasSuffix(suffix) }
    }

    /// Everything the test started goes, whatever happened: droverd, replicas, cgroups,
    /// mounts, the state directory (the leak check runs next).
    func tearDown() {
        let result = sampler.stop()
        // What droverd warned about beyond this host's missing controllers, for the record of
        // a run: each kind of message once, with how often (numbers masked).
        var notable: [String: Int] = [:]
        for line in daemon.log.split(separator: "\n") where [" error ", " warning ", " critical "].contains(where: line.contains) {
            guard !line.contains("will not be enforced"), let start = line.range(of: "] ") else { continue }
            let message = line[start.upperBound...].replacing(/[0-9]+/, with: "N")
            notable[String(message), default: 0] += 1
        }
        print("chaos: droverd's warnings and errors: " + (notable.isEmpty ? "none" : "\n" + notable.sorted { $0.value > $1.value }
            .prefix(40).map { "  \($0.value)x \($0.key.prefix(300))" }.joined(separator: "\n")))
        daemon.destroy()
        if !result.violations.isEmpty { print("chaos: violations: \(result.violations)") }
    }

    func log(_ text: String) {
        print(String(format: "chaos %7.2fs  ", monotonicSeconds() - began) + text)
        fflush(nil)
    }

    var servingJobs: [String] { [web, api, race] }
    var declared: [String: Int] { [web: webCount, api: apiCount, race: raceCount] }

    // MARK: the run

    func run(seconds: Double, races: Int) throws {
        try apply("the first apply")
        try #require(converge(timeout: 90), "the first apply never converged")
        // The baseline: a fresh droverd at a steady state with the declared counts.
        let baseline = steadyDescriptorCount()
        sampler.start()

        // Random chaos with droverd SIGKILLed now and then, then the targeted races, then
        // random chaos that leaves droverd alone (so that the one at the end lived through it:
        // its descriptors tell whether replica churn leaks any).
        let quiet = min(35, seconds / 4)
        try randomChaos(for: seconds - quiet, killDaemon: true)
        for round in 1...max(1, races) { try targetedRace(round) }
        try randomChaos(for: quiet, killDaemon: false)

        try finish(baselineDescriptors: baseline, seconds: seconds)
    }

    func randomChaos(for seconds: Double, killDaemon: Bool) throws {
        log("random chaos for \(Int(seconds)) s\(killDaemon ? "" : ", droverd left alone")")
        let weights: [(Action, Int)] = [
            (.killDaemon, killDaemon ? 3 : 0), (.killDaemonMidApply, killDaemon ? 3 : 0),
            (.killInit, 5), (.killWorkload, 3), (.scale, 4), (.evict, 4), (.addBatch, 2),
        ]
        // Dealt from shuffled decks rather than drawn independently: every kind comes up in
        // its proportion, so a short or slow run still does each.
        var deck: [Action] = []
        let end = monotonicSeconds() + seconds
        while monotonicSeconds() < end {
            if deck.isEmpty { deck = weights.flatMap { Array(repeating: $0.0, count: $0.1) }.shuffled(using: &random) }
            try perform(deck.removeLast())
            usleep(UInt32.random(in: 100_000...1_000_000, using: &random))
        }
    }

    func perform(_ action: Action) throws {
        switch action {
        case .killDaemon:
            log("SIGKILL droverd pid \(daemon.process?.pid ?? 0)")
            daemon.kill(SIGKILL)
            try restartDaemon()
        case .killDaemonMidApply:
            // The request sent whole over the socket first, then droverd SIGKILLed 0-30 ms
            // later: somewhere in its validation, its store commit, its reconcile, or just
            // after its answer. The stored state must then be all the old or all the new.
            let old = (webCount, apiCount)
            scaleCounts()
            let body = try JSONEncoder().encode(ApplyRequest(files: [ApplyFile(path: "chaos.yaml", content: config())]))
            let fd = sendRequest(socket: daemon.socket, method: "POST", path: "/v1/apply", body: Array(body))
            let delay = UInt32.random(in: 0...30_000, using: &random)
            usleep(delay)
            daemon.kill(SIGKILL)
            let answer = fd >= 0 ? readStatusLine(fd, timeout: 0.2) : "not sent"
            if fd >= 0 { close(fd) }
            log("SIGKILL droverd \(delay) µs after an apply of web \(webCount), api \(apiCount) was sent (answer: \(answer.isEmpty ? "none" : answer))")
            try restartDaemon()
            let stored = try ps()
            let declaredNow = [web, api].map { job in stored.first { $0.name == job }?.spec.replicas ?? -1 }
            #expect(declaredNow == [old.0, old.1] || declaredNow == [webCount, apiCount],
                    "after a SIGKILL mid-apply web and api declare \(declaredNow): neither the old \([old.0, old.1]) nor the new \([webCount, apiCount])")
            if answer.hasPrefix("HTTP/1.1 200") {
                #expect(declaredNow == [webCount, apiCount], "an apply droverd answered 200 was lost: \(declaredNow)")
            }
            if declaredNow == [old.0, old.1] { (webCount, apiCount) = old }
        case .killInit:
            guard let victim = randomSandbox() else { return }
            log("SIGKILL drover-init \(victim.pid) of \(victim.environmentIdentity?.description ?? victim.leaf)")
            kill(victim.pid, SIGKILL)
        case .killWorkload:
            guard let victim = randomSandbox() else { return }
            let workload = (try? CgroupLeaf(existing: tree.hierarchy.mountPoint + victim.cgroup).processIDs) ?? []
            guard let target = workload.filter({ $0 != victim.pid && namespacePID($0) != 1 }).randomElement(using: &random) else { return }
            log("SIGKILL workload \(target) of \(victim.environmentIdentity?.description ?? victim.leaf)")
            kill(target, SIGKILL)
        case .scale:
            scaleCounts()
            log("scale: web \(webCount), api \(apiCount)")
            try apply("scale")
        case .evict:
            let job = servingJobs.randomElement(using: &random)!
            let index = Int.random(in: 0..<declared[job]!, using: &random)
            let result = try daemon.drover(["evict", "\(job)/\(index)", "--grace", "1s", "--reason", "chaos"])
            log("evict \(job)/\(index): exit \(result.code.map(String.init) ?? "timeout")")
            // Every declared index has a replica (running, pending or backing off) to evict.
            #expect(result.code == 0, "drover evict \(job)/\(index): exit \(result.code.map(String.init) ?? "timeout"): \(result.stderr)")
        case .addBatch:
            let now = monotonicSeconds()
            guard now - lastBatchAt > 8, batches.count < 10 else { return try perform(.scale) }
            lastBatchAt = now
            batches.append(daemon.job("batch\(batches.count)"))
            log("add batch job \(batches.last!)")
            try apply("a batch job added")
        case .race:
            break
        }
        counts[action, default: 0] += 1
    }

    /// New counts, at least one of them different.
    func scaleCounts() {
        let (oldWeb, oldAPI) = (webCount, apiCount)
        repeat {
            webCount = Int.random(in: 1...6, using: &random)
            apiCount = Int.random(in: 1...3, using: &random)
        } while webCount == oldWeb && apiCount == oldAPI
    }

    /// A live sandbox of a serving job (batch replicas are left alone: a batch index killed
    /// as it finishes would rightly run again, and the test counts runs).
    func randomSandbox() -> SandboxProcess? {
        let serving = Set(servingJobs)
        return SandboxCensus.scan { serving.contains($0) }.filter { $0.job.map(serving.contains) ?? false }
            .sorted { $0.pid < $1.pid }.randomElement(using: &random)
    }

    /// Starts droverd again and measures how long until it answers `ps`'s request, and until
    /// the `drover ps` the start waits for has printed its answer.
    func restartDaemon() throws {
        let watch = FirstAnswerWatch(socket: daemon.socket)
        let start = monotonicSeconds()
        watch.start()
        do {
            try daemon.start()
        } catch {
            _ = watch.stop(timeout: 0)
            log("droverd did not answer ps within 20 s; its log ends: \(daemon.log.suffix(3000))")
            throw error
        }
        let command = monotonicSeconds() - start
        // drover ps has had its answer: droverd's first one is at most a poll interval behind
        // (or the watch, scheduled late, saw one after the CLI did: the earlier observation).
        let answered = watch.stop(timeout: 5).map { min($0 - start, command) }
        psLatencies.append(answered ?? .infinity)
        cliLatencies.append(command)
        log(String(format: "droverd pid %d answered ps's request %.0f ms after its start (drover ps printed it after %.0f ms)",
                   daemon.process?.pid ?? 0, (answered ?? .infinity) * 1000, command * 1000))
    }

    // MARK: the targeted race

    /// SIGKILL a replica's drover-init; the moment its replacement's cgroup leaf appears (a new
    /// directory at the same path), SIGKILL droverd; start it again. The replica must come back
    /// once, never twice, and `ps` must answer.
    func targetedRace(_ round: Int) throws {
        try #require(converge(jobs: [race], timeout: 60), "race \(round): \(race) did not converge before the race")
        let index = Int.random(in: 0..<raceCount, using: &random)
        let leaf = tree.root + "/" + race + ".\(index)"
        guard let victim = SandboxCensus.scan(belongs: { $0 == self.race }).first(where: { $0.index == index }),
              let oldInode = inode(leaf) else {
            Issue.record("race \(round): no sandbox for \(race)/\(index)")
            return
        }
        // The moment the new leaf appears (before clone3 put anything in it), the moment its
        // first process is in it (before the record's commit, most often), or up to 3 ms
        // after it appears: the spawn is somewhere between mkdir, clone3 and the commit.
        let moment = Int.random(in: 0..<3, using: &random)
        let delay = moment == 2 ? UInt32.random(in: 0...3_000, using: &random) : 0
        kill(victim.pid, SIGKILL)
        let deadline = monotonicSeconds() + 15
        var appeared = false
        while monotonicSeconds() < deadline {
            if let now = inode(leaf), now != oldInode {
                appeared = moment != 1 || readText(leaf + "/cgroup.procs").map { !$0.isEmpty } == true
                if appeared { break }
            }
            usleep(50)
        }
        if delay > 0 { usleep(delay) }
        let daemonPID = daemon.process?.pid ?? 0
        daemon.kill(SIGKILL)
        #expect(appeared, "race \(round): no new leaf for \(race)/\(index) within 15 s of killing its drover-init \(victim.pid)")
        let when = ["as the new leaf appeared", "as the new leaf's first process appeared", "\(delay) µs after the new leaf appeared"][moment]
        let inLeaf = (readText(leaf + "/cgroup.procs") ?? "").split(separator: "\n").joined(separator: ",")
        let logged = daemon.log.utf8.count
        try restartDaemon()
        // What the new droverd made of it (its log since the start): re-adopted, or removed as stray.
        let said = String(decoding: daemon.log.utf8.dropFirst(logged), as: UTF8.self).split(separator: "\n")
            .filter { $0.contains("\(race)/\(index)") || $0.contains("\(race).\(index)") }
            .map { line in line.range(of: "] ").map { String(line[$0.upperBound...]) } ?? String(line) }
        log("race \(round): killed drover-init \(victim.pid) of \(race)/\(index), then droverd \(daemonPID) \(when) "
            + "(leaf held [\(inLeaf)]); the new droverd: \(said.isEmpty ? "nothing to adopt" : said.joined(separator: "; "))")
        counts[.race, default: 0] += 1
    }

    // MARK: convergence

    /// Waits until every serving job (of `jobs`, default all) runs exactly its declared
    /// indices, ready, each with one sandbox that is the one `ps` names, and every batch job
    /// has succeeded.
    func converge(jobs: [String]? = nil, timeout: Double) -> Bool {
        let deadline = monotonicSeconds() + timeout
        var why = ""
        while true {
            why = notConverged(jobs: jobs)
            if why.isEmpty { return true }
            if monotonicSeconds() > deadline { break }
            usleep(200_000)
        }
        log("not converged after \(Int(timeout)) s: \(why)")
        return false
    }

    /// Why the state is not the declared one yet ("" when it is).
    func notConverged(jobs selected: [String]? = nil) -> String {
        guard let statuses = try? ps() else { return "ps failed" }
        let scope = Set(selected ?? servingJobs + batches)
        let sandboxes = SandboxCensus.scan { scope.contains($0) }
        for job in servingJobs where scope.contains(job) {
            guard let status = statuses.first(where: { $0.name == job }) else { return "\(job) missing from ps" }
            let replicas = status.replicas
            if replicas.map(\.index) != Array(0..<declared[job]!) {
                return "\(job) has indices \(replicas.map(\.index)), declared \(declared[job]!)"
            }
            if let notReady = replicas.first(where: { $0.state != "ready" || $0.pid == nil }) {
                return "\(notReady.name) is \(notReady.state)"
            }
        }
        for job in batches where scope.contains(job) {
            guard let status = statuses.first(where: { $0.name == job }) else { return "\(job) missing from ps" }
            if status.state != "succeeded" { return "\(job) is \(status.state)" }
        }
        // Sandboxes are drover-inits; ps's `pid` is the workload's, `initPid` drover-init's.
        let listed = Set(statuses.filter { scope.contains($0.name) }.flatMap(\.replicas).compactMap(\.initPid))
        let seen = Set(sandboxes.map(\.pid))
        if listed != seen { return "ps lists pids \(listed.sorted()), /proc has sandboxes \(seen.sorted())" }
        return ""
    }

    /// Applies the current config; a refusal stops the run (a valid file must be accepted).
    func apply(_ what: String) throws {
        let result = try daemon.apply(config())
        guard result.code == 0 else { throw ChaosError.command("apply (\(what))", result.code, result.stderr) }
    }

    func ps() throws -> [JobStatus] {
        let result = try daemon.drover(["ps", "--json"])
        guard result.code == 0 else { throw ChaosError.command("ps --json", result.code, result.stderr) }
        return try JSONDecoder().decode([JobStatus].self, from: Data(result.stdout.utf8))
    }

    /// droverd's descriptors at rest: the fewest of a few samples over a second (a probe's
    /// socket or a closing API connection comes and goes).
    func steadyDescriptorCount() -> Descriptors {
        usleep(1_000_000)
        let pid = daemon.process?.pid ?? 0
        var fewest = Descriptors(pid)
        for _ in 0..<5 {
            usleep(200_000)
            let now = Descriptors(pid)
            if now.total < fewest.total { fewest = now }
        }
        log("droverd \(pid) holds \(fewest.total) descriptors: \(fewest.kinds)")
        return fewest
    }

    // MARK: the end

    func finish(baselineDescriptors: Descriptors, seconds: Double) throws {
        webCount = 3
        apiCount = 2
        log("final apply: web \(webCount), api \(apiCount), race \(raceCount), \(batches.count) batch jobs")
        try apply("the final apply")
        let converged = converge(timeout: 90)
        let (samples, violations) = sampler.stop()
        log("the sampler scanned \(samples) times; counts: " + Action.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", "))

        #expect(violations.isEmpty, "two live sandboxes for one index: \(violations)")
        #expect(samples > Int(seconds), "the sampler ran (\(samples) scans)")
        #expect(converged, "the declared replicas run: \(notConverged())")
        let slowest = psLatencies.max() ?? 0
        func median(_ values: [Double]) -> Double { values.sorted().dropFirst(values.count / 2).first ?? 0 }
        log(String(format: "ps after %d restarts: droverd answered within %.0f ms (median %.0f ms); drover ps printed within %.0f ms (median %.0f ms)",
                   psLatencies.count, slowest * 1000, median(psLatencies) * 1000, (cliLatencies.max() ?? 0) * 1000, median(cliLatencies) * 1000))
        #expect(slowest < psBound, "ps answered \(String(format: "%.2f", slowest)) s after a restart (bound \(psBound) s): \(psLatencies)")
        #expect((counts[.race] ?? 0) >= min(20, ChaosSettings.races), "targeted races: \(counts[.race] ?? 0)")
        if seconds >= 120 {
            for (action, minimum) in minimumCounts {
                #expect((counts[action] ?? 0) >= minimum, "\(action.rawValue): \(counts[action] ?? 0) times, at least \(minimum)")
            }
        }
        guard converged else { return }

        checkBatchesRanOnce()
        try checkPSMatchesProc()
        checkNoZombies()
        try checkNoStrayLeaves()
        let final = steadyDescriptorCount()
        let (fresh, now) = (baselineDescriptors.total - baselineDescriptors.userNamespaces, final.total - final.userNamespaces)
        log("descriptors besides user namespaces: fresh droverd \(fresh), final \(now) (slack \(descriptorSlack)); "
            + "user namespaces: \(final.userNamespaces) for \(3 + batches.count) jobs")
        #expect(now <= fresh + descriptorSlack,
                "droverd holds \(now) descriptors besides user namespaces, a fresh one \(fresh): now \(final.kinds); fresh \(baselineDescriptors.kinds)")
        #expect(final.userNamespaces <= 3 + batches.count, "\(final.userNamespaces) user namespaces for \(3 + batches.count) jobs: \(final.kinds)")
    }

    /// Each batch index appended `start` to its state directory's `runs` at every start and
    /// `done` once it finished its work: one `done` each, however often droverd died.
    func checkBatchesRanOnce() {
        for job in batches {
            for index in 0..<batchReplicas {
                let text = (try? String(contentsOfFile: daemon.stateDirectory + "/state/\(job)/\(index)/runs", encoding: .utf8)) ?? ""
                let done = text.split(separator: "\n").filter { $0 == "done" }.count
                #expect(done == 1, "\(job)/\(index) finished \(done) times: \(text.split(separator: "\n"))")
            }
        }
    }

    /// `ps --json` is what /proc shows: every pid it names is a live sandbox (drover-init, PID 1
    /// of its namespace) in the leaf `ps` names, running that replica's environment, and every
    /// sandbox of these jobs is named. Read twice around /proc so that both views are of one
    /// moment.
    func checkPSMatchesProc() throws {
        let scope = Set(servingJobs + batches)
        var mismatch: [String] = []
        for _ in 0..<5 {
            let before = try ps()
            let sandboxes = SandboxCensus.scan { scope.contains($0) }
            let after = try ps()
            guard before == after else { continue }
            mismatch = []
            let byPID = Dictionary(sandboxes.map { ($0.pid, $0) }, uniquingKeysWith: { first, _ in first })
            let replicas = before.filter { scope.contains($0.name) }.flatMap(\.replicas)
            for replica in replicas {
                guard let pid = replica.initPid else { continue }
                guard let sandbox = byPID[pid] else {
                    mismatch.append("\(replica.name): pid \(pid) is no live sandbox (\(ProcessStat.read(pid).map { "\($0.comm) \($0.state)" } ?? "gone"))")
                    continue
                }
                if replica.cgroup != tree.hierarchy.mountPoint + sandbox.cgroup {
                    mismatch.append("\(replica.name): ps says cgroup \(replica.cgroup ?? "none"), /proc \(sandbox.cgroup)")
                }
                if sandbox.environmentIdentity != Identity(job: replica.job, index: replica.index) {
                    mismatch.append("\(replica.name): pid \(pid) runs \(sandbox.environmentIdentity?.description ?? "no replica's environment")")
                }
            }
            let listed = Set(replicas.compactMap(\.initPid))
            for sandbox in sandboxes where !listed.contains(sandbox.pid) {
                mismatch.append("sandbox \(sandbox) is not in ps")
            }
            break
        }
        #expect(mismatch.isEmpty, "ps --json against /proc: \(mismatch)")
    }

    /// No zombie among the children of droverd, of this test, or of any process in these
    /// jobs' leaves (a zombie that stays is a child nobody waits for). Orphans the host's
    /// PID 1 inherits are the host's to reap, not droverd's.
    func checkNoZombies() {
        var zombies: [String] = []
        let settled = waitFor(timeout: 10) {
            var parents: Set<Int32> = [getpid()]
            if let pid = daemon.process?.pid { parents.insert(pid) }
            for entry in ownLeaves() {
                parents.formUnion((try? CgroupLeaf(existing: tree.root + "/" + entry).processIDs) ?? [])
            }
            zombies = allProcesses().filter { $0.stat.state == "Z" && parents.contains($0.stat.parent) }
                .map { "\($0.pid) (\($0.stat.comm)) child of \($0.stat.parent)" }
            return zombies.isEmpty
        }
        #expect(settled, "zombies: \(zombies)")
    }

    /// The cgroup leaves of this droverd's jobs: one per replica `ps` shows running, each
    /// holding processes; none for replicas that no longer exist.
    func checkNoStrayLeaves() throws {
        let running = Set(try ps().flatMap(\.replicas).filter { $0.pid != nil }.compactMap { $0.cgroup.map { ($0 as NSString).lastPathComponent } })
        let leaves = Set(ownLeaves())
        #expect(leaves == running, "leaves without a running replica: \(leaves.subtracting(running).sorted()); running replicas without a leaf: \(running.subtracting(leaves).sorted())")
        for leaf in leaves {
            let events = readText(tree.root + "/" + leaf + "/cgroup.events") ?? ""
            #expect(events.contains("populated 1"), "\(leaf) is empty: \(events)")
        }
    }

    func ownLeaves() -> [String] {
        listDirectory(tree.root).filter { $0.contains("-\(daemon.suffix).") }
    }

    // MARK: the jobs

    let batchReplicas = 4

    func config() -> String {
        var yaml = "jobs:\n"
        yaml += """
              \(web):
                replicas: \(webCount)
                command: [\(yamlQuoted(testload)), "pause"]
                lameduck: {grace: 1s}
                restart: {backoff: {initial: 100ms, max: 1s, jitter: 0.1}}
              \(api):
                replicas: \(apiCount)
                command: [\(yamlQuoted(testload)), "serve", "PORT_HTTP"]
                ports: [http]
                lameduck: {grace: 1s}
                restart: {backoff: {initial: 100ms, max: 1s, jitter: 0.1}}
                health:
                  ready: {tcp: http, period: 250ms, timeout: 1s, failures: 2}
              \(race):
                replicas: \(raceCount)
                command: [\(yamlQuoted(testload)), "pause"]
                lameduck: {grace: 1s}
                restart: {backoff: {initial: 10ms, max: 100ms, jitter: 0}}

            """
        for job in batches {
            // Each index works 1-3 s: droverd dies while some run, start or finish.
            yaml += """
                  \(job):
                    kind: batch
                    replicas: \(batchReplicas)
                    command: ["/bin/sh", "-c", "echo start >> $DROVER_STATE_DIR/runs; sleep $((DROVER_REPLICA % 3 + 1)); echo done >> $DROVER_STATE_DIR/runs"]
                    lameduck: {grace: 1s}

                """
        }
        return yaml
    }
}

enum ChaosError: Error, CustomStringConvertible {
    case command(String, Int32?, String)
    var description: String {
        switch self {
        case .command(let what, let code, let stderr): return "drover \(what): exit \(code.map(String.init) ?? "timeout"): \(stderr)"
        }
    }
}
