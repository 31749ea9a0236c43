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
