import DroverCore
import Testing

/// SPEC §9 defaults: 100ms → 60s ×2, jitter 0.1, reset after 5m; max_failures 6.
private func rule(_ kind: JobSpec.Kind, _ policy: JobSpec.RestartPolicy, maxFailures: Int = 6,
                  backoff: JobSpec.Backoff = JobSpec.Backoff()) -> RestartRule {
    RestartRule(kind: kind, restart: JobSpec.Restart(policy: policy, backoff: backoff, maxFailures: maxFailures))
}

@Suite struct RestartPolicyRules {
    /// The first end of a run, jitter sample 0: policy × kind × how it ended → decision, and
    /// the failures counted.
    @Test(arguments: [
        // serving + always: every exit restarts, exit 0 included (and counts, so it backs off).
        (JobSpec.Kind.serving, JobSpec.RestartPolicy.always, ExitReason.exited(code: 0),
         RestartDecision.restart(after: .milliseconds(100), crashlooping: false), 1),
        (.serving, .always, .exited(code: 1), .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.serving, .always, .signaled(signal: 9), .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.serving, .always, .oomKilled, .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.serving, .always, .health, .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.serving, .always, .spawnFailed(message: "execve `/bin/web`: ENOENT"),
         .restart(after: .milliseconds(100), crashlooping: false), 1),
        // serving + on-failure: exit 0 stays down; any failure restarts.
        (.serving, .onFailure, .exited(code: 0), .stayDown(.exitedCleanly), 0),
        (.serving, .onFailure, .exited(code: 3), .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.serving, .onFailure, .signaled(signal: 11), .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.serving, .onFailure, .oomKilled, .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.serving, .onFailure, .health, .restart(after: .milliseconds(100), crashlooping: false), 1),
        // serving + never: nothing restarts.
        (.serving, .never, .exited(code: 0), .stayDown(.policyNever), 0),
        (.serving, .never, .exited(code: 1), .stayDown(.policyNever), 1),
        (.serving, .never, .oomKilled, .stayDown(.policyNever), 1),
        (.serving, .never, .health, .stayDown(.policyNever), 1),
        // batch: exit 0 is success whatever the policy; failures retry unless never.
        (.batch, .onFailure, .exited(code: 0), .stayDown(.succeeded), 0),
        (.batch, .always, .exited(code: 0), .stayDown(.succeeded), 0),
        (.batch, .never, .exited(code: 0), .stayDown(.succeeded), 0),
        (.batch, .onFailure, .exited(code: 2), .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.batch, .always, .signaled(signal: 6), .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.batch, .onFailure, .oomKilled, .restart(after: .milliseconds(100), crashlooping: false), 1),
        (.batch, .never, .exited(code: 2), .stayDown(.gaveUp(failures: 1, lastReason: .exited(code: 2))), 1),
    ])
    func firstEnd(kind: JobSpec.Kind, policy: JobSpec.RestartPolicy, reason: ExitReason,
                  expected: RestartDecision, failuresCounted: Int) {
        var failures = FailureCount()
        let decision = rule(kind, policy).decide(after: reason, failures: &failures, healthyFor: .zero, jitterSample: 0)
        #expect(decision == expected)
        #expect(failures == FailureCount(consecutive: failuresCounted, total: failuresCounted))
    }

    /// Consecutive failures so far → the next delay (SPEC §9 defaults, jitter sample 0), and
    /// crashlooping from the third failure in a row.
    @Test(arguments: [
        (0, Duration.milliseconds(100), false), (1, .milliseconds(200), false), (2, .milliseconds(400), true),
        (3, .milliseconds(800), true), (4, .milliseconds(1600), true), (5, .milliseconds(3200), true),
        (6, .milliseconds(6400), true), (7, .milliseconds(12_800), true), (8, .milliseconds(25_600), true),
        (9, .milliseconds(51_200), true), (10, .seconds(60), true), (11, .seconds(60), true),
        (1000, .seconds(60), true),
    ])
    func exponentialBackoffCappedAtMax(failuresSoFar: Int, delay: Duration, crashlooping: Bool) {
        var failures = FailureCount(consecutive: failuresSoFar, total: failuresSoFar)
        let decision = rule(.serving, .always).decide(after: .exited(code: 1), failures: &failures,
                                                      healthyFor: .seconds(1), jitterSample: 0)
        #expect(decision == .restart(after: delay, crashlooping: crashlooping))
        #expect(failures.consecutive == failuresSoFar + 1)
    }

    @Test(arguments: [
        // failure n, sample → delay: ±10% of the capped delay, never above max.
        (1, -1.0, Duration.milliseconds(90)), (1, 1.0, .milliseconds(110)), (1, 0.5, .milliseconds(105)),
        (1, -0.5, .milliseconds(95)), (3, 1.0, .milliseconds(440)), (3, -1.0, .milliseconds(360)),
        (20, -1.0, .seconds(54)), (20, 1.0, .seconds(60)),
        // Out-of-range samples are clamped to -1...1.
        (1, 7.0, .milliseconds(110)), (1, -7.0, .milliseconds(90)),
    ])
    func jitterMovesTheDelayByAFraction(failure: Int, sample: Double, delay: Duration) {
        #expect(rule(.serving, .always).delay(afterConsecutiveFailures: failure, jitterSample: sample) == delay)
    }

    @Test(arguments: [1, 2, 5, 12])
    func jitteredDelaysStayWithinBounds(failure: Int) {
        let rule = rule(.serving, .always)
        let middle = rule.delay(afterConsecutiveFailures: failure, jitterSample: 0)
        let low = middle - middle / 10, high = min(middle + middle / 10, .seconds(60))
        for step in 0...200 {
            let sample = Double(step) / 100 - 1
            let delay = rule.delay(afterConsecutiveFailures: failure, jitterSample: sample)
            #expect(delay >= low && delay <= high, "failure \(failure), sample \(sample): \(delay)")
        }
    }

    /// failure n in a row, sample → delay. A multiplier below 1 must not shrink the delay.
    @Test(arguments: [
        (JobSpec.Backoff(jitter: 1), 1, -1.0, Duration.zero),
        (JobSpec.Backoff(jitter: 3), 1, -1.0, .zero),
        (JobSpec.Backoff(jitter: 1), 1, 1.0, .milliseconds(200)),
        (JobSpec.Backoff(initial: .seconds(90), max: .seconds(60)), 1, 0.0, .seconds(60)),
        (JobSpec.Backoff(multiplier: 1), 5, 0.0, .milliseconds(100)),
        (JobSpec.Backoff(multiplier: 0.5), 5, 0.0, .milliseconds(100)),
        (JobSpec.Backoff(initial: .zero), 5, 1.0, .zero),
        (JobSpec.Backoff(initial: .seconds(1), max: .seconds(10), multiplier: 3, jitter: 0), 3, 1.0, .seconds(9)),
    ])
    func delayIsNeverNegativeNorAboveMax(backoff: JobSpec.Backoff, failure: Int, sample: Double, delay: Duration) {
        #expect(rule(.serving, .always, backoff: backoff).delay(afterConsecutiveFailures: failure, jitterSample: sample) == delay)
    }

    /// `reset_after` (5m) of healthy running forgives the consecutive failures, not the total.
    @Test(arguments: [
        (Duration.seconds(300), Duration.milliseconds(100), FailureCount(consecutive: 1, total: 6), false),
        (.seconds(3600), .milliseconds(100), FailureCount(consecutive: 1, total: 6), false),
        (.seconds(299), .milliseconds(3200), FailureCount(consecutive: 6, total: 6), true),
        (.zero, .milliseconds(3200), FailureCount(consecutive: 6, total: 6), true),
    ])
    func resetAfterHealthyRunning(healthyFor: Duration, delay: Duration, after: FailureCount, crashlooping: Bool) {
        var failures = FailureCount(consecutive: 5, total: 5)
        let decision = rule(.serving, .always).decide(after: .signaled(signal: 11), failures: &failures,
                                                      healthyFor: healthyFor, jitterSample: 0)
        #expect(decision == .restart(after: delay, crashlooping: crashlooping))
        #expect(failures == after)
    }

    /// max_failures 3: the third failure of a batch index gives up and names the last reason;
    /// healthy running does not forgive a batch index.
    @Test(arguments: [
        (FailureCount(consecutive: 0, total: 0), Duration.zero,
         RestartDecision.restart(after: .milliseconds(100), crashlooping: false)),
        (FailureCount(consecutive: 1, total: 1), .zero, .restart(after: .milliseconds(200), crashlooping: false)),
        (FailureCount(consecutive: 2, total: 2), .zero,
         .stayDown(.gaveUp(failures: 3, lastReason: .exited(code: 7)))),
        (FailureCount(consecutive: 2, total: 2), .seconds(3600),
         .stayDown(.gaveUp(failures: 3, lastReason: .exited(code: 7)))),
        (FailureCount(consecutive: 0, total: 5), .zero, .stayDown(.gaveUp(failures: 6, lastReason: .exited(code: 7)))),
    ])
    func batchGivesUpAfterMaxFailures(before: FailureCount, healthyFor: Duration, expected: RestartDecision) {
        var failures = before
        let decision = rule(.batch, .onFailure, maxFailures: 3).decide(after: .exited(code: 7), failures: &failures,
                                                                       healthyFor: healthyFor, jitterSample: 0)
        #expect(decision == expected)
    }

    @Test func servingIgnoresMaxFailures() {
        var failures = FailureCount(consecutive: 50, total: 50)
        let decision = rule(.serving, .onFailure, maxFailures: 3).decide(after: .exited(code: 1), failures: &failures,
                                                                         healthyFor: .zero, jitterSample: 0)
        #expect(decision == .restart(after: .seconds(60), crashlooping: true))
    }

    /// Issue 12: with `initial: 0s` a start that fails restarted at once, in the same turn,
    /// until the stack overflowed. A failed start always waits.
    @Test(arguments: [JobSpec.Kind.serving, .batch])
    func aFailedStartWaitsEvenWithAZeroBackoff(_ kind: JobSpec.Kind) {
        let zero = JobSpec.Backoff(initial: .zero, max: .zero, multiplier: 1, jitter: 0)
        var failures = FailureCount(consecutive: 0, total: 0)
        let afterSpawnFailure = rule(kind, .always, maxFailures: 100, backoff: zero)
            .decide(after: .spawnFailed(message: "no such file"), failures: &failures, healthyFor: .zero, jitterSample: 0)
        #expect(afterSpawnFailure == .restart(after: RestartRule.spawnFailureFloor, crashlooping: false))
        var others = FailureCount(consecutive: 0, total: 0)
        let afterCrash = rule(kind, .always, maxFailures: 100, backoff: zero)
            .decide(after: .exited(code: 1), failures: &others, healthyFor: .zero, jitterSample: 0)
        #expect(afterCrash == .restart(after: .zero, crashlooping: false), "a process that ran restarts at once, as asked")
    }
}

@Suite struct EvictionRules {
    /// SPEC §4: manual and update replace at the same index, preempted goes back to pending,
    /// drain waits for undrain, scale-down/stop/delete stay down; unhealthy is a failure
    /// restarted with backoff. Only unhealthy counts as a failure, and update starts afresh.
    @Test(arguments: [
        (EvictionReason.manual, JobSpec.Kind.serving, RestartDecision.requeue, FailureCount(consecutive: 2, total: 4)),
        (.manual, .batch, .requeue, FailureCount(consecutive: 2, total: 4)),
        (.update, .serving, .requeue, FailureCount()),
        (.update, .batch, .requeue, FailureCount()),
        (.preempted, .batch, .requeue, FailureCount(consecutive: 2, total: 4)),
        (.preempted, .serving, .requeue, FailureCount(consecutive: 2, total: 4)),
        (.drain, .serving, .holdUntilUndrained, FailureCount(consecutive: 2, total: 4)),
        (.drain, .batch, .holdUntilUndrained, FailureCount(consecutive: 2, total: 4)),
        (.scaleDown, .serving, .stayDown(.removed(.scaleDown)), FailureCount(consecutive: 2, total: 4)),
        (.stop, .serving, .stayDown(.removed(.stop)), FailureCount(consecutive: 2, total: 4)),
        (.delete, .batch, .stayDown(.removed(.delete)), FailureCount(consecutive: 2, total: 4)),
        (.unhealthy, .serving, .restart(after: .milliseconds(400), crashlooping: true), FailureCount(consecutive: 3, total: 5)),
    ])
    func evictionDecides(reason: EvictionReason, kind: JobSpec.Kind, expected: RestartDecision, after: FailureCount) {
        var failures = FailureCount(consecutive: 2, total: 4)
        let policy: JobSpec.RestartPolicy = kind == .serving ? .always : .onFailure
        let decision = rule(kind, policy).decide(after: .evicted(reason), failures: &failures, healthyFor: .zero, jitterSample: 0)
        #expect(decision == expected)
        #expect(failures == after)
    }

    @Test func unhealthyFollowsPolicyNever() {
        var failures = FailureCount()
        #expect(rule(.serving, .never).decide(after: .evicted(.unhealthy), failures: &failures, healthyFor: .zero,
                                              jitterSample: 0) == .stayDown(.policyNever))
    }
}

@Suite struct ExitReasonText {
    @Test(arguments: [
        (ExitReason.exited(code: 3), "exit code 3"), (.signaled(signal: 9), "killed by signal SIGKILL"),
        (.oomKilled, "oom-killed"), (.health, "health"), (.evicted(.scaleDown), "evicted(scale-down)"),
        (.evicted(.drain), "evicted(drain)"), (.spawnFailed(message: "pivot_root: EPERM"), "spawn failed: pivot_root: EPERM"),
    ])
    func description(reason: ExitReason, text: String) {
        #expect(reason.description == text)
    }

    @Test func fromInitStatus() {
        #expect(ExitReason(ExitStatus.exited(0)) == .exited(code: 0))
        #expect(ExitReason(ExitStatus.signaled(15)) == .signaled(signal: 15))
    }
}
