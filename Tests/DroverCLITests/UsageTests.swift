import DroverTestSupport
import Testing

/// Issue 14: a replica name where a job is expected is a usage error (exit 2) saying what the
/// command takes, checked before any request (no droverd is needed to see it).
@Suite struct JobArgumentUsage {
    @Test(arguments: [("stop", "web/0"), ("start", "web/0"), ("delete", "2.web")])
    func aReplicaWhereAJobGoesIsAUsageError(_ command: String, _ name: String) throws {
        let result = try TestProcess.drover([command, name, "--socket", "/var/tmp/drover-no-such.sock"])
        #expect(result.code == 2, "\(result.stderr)")
        #expect(result.stderr.contains("\(command) takes a job"), "\(result.stderr)")
        #expect(result.stderr.contains("drover evict \(name)"), "says what to do instead: \(result.stderr)")
    }
}

/// Issue 14: every CLI input is checked before any request: a usage error (exit 2) saying what
/// is wrong, even with no droverd to ask.
@Suite struct InputUsage {
    @Test(arguments: [
        (["ps", "web/0"], "ps takes a job"),
        (["inspect", "web/"], "is not a replica name"),
        (["resolve", "web/-1"], "is not a replica name"),
        (["logs", "web/x"], "is not a replica name"),
        (["logs", "--tail=-3", "web"], "--tail -3"),
        (["events", "--since", "soon"], "--since"),
        (["evict", "web/0", "--grace", "forever"], "--grace"),
    ])
    func badInputIsAUsageError(_ arguments: [String], _ message: String) throws {
        let result = try TestProcess.drover(arguments + ["--socket", "/var/tmp/drover-no-such.sock"])
        #expect(result.code == 2, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
    }
}
