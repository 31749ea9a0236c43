import DroverCore
import Foundation
import Testing

private let epoch = Timestamp(sinceEpoch: .seconds(1_750_000_000))
/// A moment `offset` after the test's epoch: time is a parameter, never the clock.
private func at(_ offset: Duration) -> Timestamp { epoch + offset }

private func check(_ probe: JobSpec.HealthCheck.Probe = .http(path: "/healthz", port: "http"),
                   period: Duration = .seconds(1), failures: Int = 3) -> JobSpec.HealthCheck {
    JobSpec.HealthCheck(probe: probe, period: period, failures: failures)
}

/// SPEC §1's example: ready every 1s, live every 5s, both 3 failures.
private let specExample = JobSpec.Health(
    ready: check(.http(path: "/healthz", port: "http"), period: .seconds(1)),
    live: check(.tcp(port: "http"), period: .seconds(5)))

/// Results written `+` (passed) and `-` (failed); events `R` becameReady, `U` becameUnready,
/// `L` livenessFailed, `.` none. Result n arrives at n seconds.
private func run(_ results: String, on which: HealthTracker.Check, of health: JobSpec.Health)
    -> (events: String, tracker: HealthTracker) {
    var tracker = HealthTracker(health)
    var events = ""
    for (second, symbol) in results.enumerated() {
        let passed = symbol == "+"
        let event = tracker.record(which, passed: passed, message: passed ? "HTTP 200" : "HTTP 503",
                                   at: at(.seconds(second)))
        switch event {
        case nil: events += "."
        case .becameReady: events += "R"
        case .becameUnready: events += "U"
        case .livenessFailed: events += "L"
        }
    }
    return (events, tracker)
}

@Suite struct HealthTrackerTests {
    /// Ready, failures 3: not ready until the first success; unready after 3 failures in a
    /// row; ready again after 2 successes in a row.
    @Test(arguments: [
        ("", "", HealthTracker.Verdict.notYetPassed),
        ("+", "R", .passing),
        ("++++", "R...", .passing),
        // Failures while starting up never fail a check that has not passed: one success publishes.
        ("---", "...", .notYetPassed),
        ("-----+", ".....R", .passing),
        // Fewer than 3 in a row, or not in a row: still ready.
        ("+--", "R..", .passing),
        ("+--+--+-", "R.......", .passing),
        ("+---", "R..U", .failing),
        ("+-----", "R..U..", .failing),
        // Recovery takes 2 successes in a row; a failure in between starts the count again.
        ("+---+", "R..U.", .failing),
        ("+---++", "R..U.R", .passing),
        ("+---+-+", "R..U...", .failing),
        ("+---+-++", "R..U...R", .passing),
        ("+---++---++", "R..U.R..U.R", .passing),
        // After recovering, unready again needs 3 failures in a row, not fewer.
        ("+---++--", "R..U.R..", .passing),
    ])
    func readyCheck(results: String, events: String, verdict: HealthTracker.Verdict) {
        let (seen, tracker) = run(results, on: .ready, of: specExample)
        #expect(seen == events, "results \(results)")
        #expect(tracker.ready?.verdict == verdict, "results \(results)")
        #expect(tracker.isReady == (verdict == .passing))
        #expect(!tracker.livenessFailed)
    }

    /// failures 1 (and below 1, which counts as 1): one failure unpublishes, recovery still
    /// takes 2 successes.
    @Test(arguments: [
        (1, "+-", "RU"), (1, "+-+", "RU."), (1, "+-++", "RU.R"), (1, "-", "."), (1, "-+", ".R"),
        (0, "+-", "RU"), (0, "+-++", "RU.R"), (-5, "+-", "RU"),
        (5, "+----", "R...."), (5, "+-----", "R....U"),
    ])
    func readyCheckFailureThreshold(failures: Int, results: String, events: String) {
        let health = JobSpec.Health(ready: check(failures: failures))
        #expect(run(results, on: .ready, of: health).events == events, "failures \(failures), results \(results)")
    }

    /// Live, failures 3: counts from the start, fails once, and then ignores everything.
    @Test(arguments: [
        ("+", "."), ("--", ".."), ("+--", "..."), ("--+--", "....."), ("+--+--+", "......."),
        ("---", "..L"), ("+---", "...L"), ("+--+---", "......L"),
        ("---+", "..L."), ("-----", "..L.."),
    ])
    func liveCheck(results: String, events: String) {
        let (seen, tracker) = run(results, on: .live, of: specExample)
        #expect(seen == events, "results \(results)")
        #expect(tracker.livenessFailed == events.contains("L"))
    }

    @Test(arguments: [
        ("", HealthTracker.Verdict.notYetPassed, 0, 0),
        ("--", .notYetPassed, 2, 0),
        ("+", .passing, 0, 1),
        ("+--", .passing, 2, 0),
        ("+--++", .passing, 0, 2),
        // The result after the failure is not counted.
        ("---+", .failing, 3, 0),
    ])
    func liveCheckVerdictAndCounts(results: String, verdict: HealthTracker.Verdict, failures: Int, successes: Int) {
        let live = run(results, on: .live, of: specExample).tracker.live
        #expect(live?.verdict == verdict)
        #expect(live?.consecutiveFailures == failures)
        #expect(live?.consecutiveSuccesses == successes)
    }

    @Test func keepsEachChecksLastResultForInspect() {
        var tracker = HealthTracker(specExample)
        #expect(tracker.ready?.lastResult == nil && tracker.live?.lastResult == nil)
        tracker.record(.ready, passed: false, message: "connect: connection refused", at: at(.seconds(1)))
        tracker.record(.live, passed: true, message: "connected", at: at(.seconds(5)))
        tracker.record(.ready, passed: false, message: "timeout after 1s", at: at(.seconds(2)))

        #expect(tracker.ready?.lastResult
            == HealthTracker.Result(at: at(.seconds(2)), passed: false, message: "timeout after 1s"))
        #expect(tracker.ready?.consecutiveFailures == 2)
        #expect(tracker.ready?.since == nil)
        #expect(tracker.live?.lastResult == HealthTracker.Result(at: at(.seconds(5)), passed: true, message: "connected"))
        #expect(tracker.live?.consecutiveFailures == 0)
        #expect(tracker.live?.consecutiveSuccesses == 1)
        #expect(tracker.live?.since == at(.seconds(5)))
    }

    /// `since` is when the verdict last changed: "ready since", "failing since".
    @Test func sinceIsWhenTheVerdictChanged() {
        let (_, tracker) = run("-+++---+", on: .ready, of: specExample)
        #expect(tracker.ready?.verdict == .failing)
        #expect(tracker.ready?.since == at(.seconds(6)))
        #expect(tracker.ready?.lastResult == HealthTracker.Result(at: at(.seconds(7)), passed: true, message: "HTTP 200"))
        #expect(run("-+++", on: .ready, of: specExample).tracker.ready?.since == at(.seconds(1)))
    }

    /// The checks count apart: a failing live check does not unpublish, a failing ready
    /// check does not replace.
    @Test func checksAreIndependent() {
        var tracker = HealthTracker(specExample)
        #expect(tracker.record(.ready, passed: true, message: "HTTP 200", at: at(.seconds(1))) == .becameReady)
        for second in 2...4 {
            #expect(tracker.record(.ready, passed: false, message: "HTTP 503", at: at(.seconds(second)))
                == (second == 4 ? .becameUnready : nil))
        }
        #expect(tracker.live?.verdict == .notYetPassed)
        #expect(tracker.live?.consecutiveFailures == 0)
        #expect(!tracker.livenessFailed)
    }

    /// Once the liveness check failed the replica is on its way out: no more probes, and no
    /// late ready result turns into an event.
    @Test func afterLivenessFailsNothingMoreHappens() {
        var tracker = HealthTracker(specExample)
        tracker.record(.ready, passed: true, message: "HTTP 200", at: at(.seconds(1)))
        for second in 5...7 {
            tracker.record(.live, passed: false, message: "connect: connection refused", at: at(.seconds(second)))
        }
        #expect(tracker.livenessFailed)
        let before = tracker
        for second in 8...12 {
            #expect(tracker.record(.ready, passed: false, message: "HTTP 503", at: at(.seconds(second))) == nil)
            #expect(tracker.record(.live, passed: true, message: "connected", at: at(.seconds(second))) == nil)
        }
        #expect(tracker == before)
        #expect(tracker.live?.lastResult?.message == "connect: connection refused")
        #expect(tracker.nextProbe(.ready, after: at(.seconds(12))) == nil)
        #expect(tracker.nextProbe(.live, after: at(.seconds(12))) == nil)
    }

    /// One period after the last probe started (the run's start for the first).
    @Test(arguments: [
        (HealthTracker.Check.ready, Duration.seconds(0), Duration.seconds(1)),
        (.ready, .milliseconds(2500), .milliseconds(3500)),
        (.live, .zero, .seconds(5)),
        (.live, .seconds(10), .seconds(15)),
    ])
    func nextProbeIsOnePeriodLater(check: HealthTracker.Check, lastStart: Duration, next: Duration) {
        #expect(HealthTracker(specExample).nextProbe(check, after: at(lastStart)) == at(next))
    }

    @Test func aJobWithoutChecksIsReadyAndNeverProbed() {
        var tracker = HealthTracker(JobSpec.Health())
        #expect(tracker.isReady)
        #expect(!tracker.livenessFailed)
        #expect(tracker[.ready] == nil && tracker[.live] == nil)
        #expect(tracker.record(.ready, passed: true, message: "HTTP 200", at: at(.seconds(1))) == nil)
        #expect(tracker.record(.live, passed: false, message: "HTTP 503", at: at(.seconds(1))) == nil)
        #expect(tracker.nextProbe(.ready, after: epoch) == nil)
        #expect(tracker.nextProbe(.live, after: epoch) == nil)
        #expect(tracker == HealthTracker(JobSpec.Health()))
    }

    /// Only a live check: published from the start (the lifecycle publishes at spawn), and
    /// the ready check's absence is not a reason to probe it.
    @Test func onlyALiveCheck() {
        var tracker = HealthTracker(JobSpec.Health(live: check(.exec(command: ["/bin/check"]), failures: 2)))
        #expect(tracker.isReady)
        #expect(tracker.nextProbe(.ready, after: epoch) == nil)
        #expect(tracker.record(.live, passed: false, message: "exit code 1", at: at(.seconds(1))) == nil)
        #expect(tracker.record(.live, passed: false, message: "exit code 1", at: at(.seconds(2))) == .livenessFailed)
        #expect(tracker.live?.lastResult?.message == "exit code 1")
    }

    /// droverd is crash-only: a tracker survives being stored.
    @Test func roundTripsThroughJSON() throws {
        let (_, tracker) = run("+---+", on: .ready, of: specExample)
        let decoded = try JSONDecoder().decode(HealthTracker.self, from: JSONEncoder().encode(tracker))
        #expect(decoded == tracker)
    }
}
