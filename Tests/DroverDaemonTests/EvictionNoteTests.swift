import DroverTestSupport
import Foundation
import Testing

/// Issue 13: `drover evict --reason` left its note on the replica, and the next drain,
/// update or preemption of that index wrote the old note into its lameduck file.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct EvictionNoteTests {
    @Test func aDrainAfterAManualEvictionWritesTheDrainsReasonOnly() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("web")
        try #require(daemon.apply("""
            jobs:
              \(job):
                lameduck: {grace: 5s}
                command: ["\(TestEnvironment.testload)", "lameduck"]
            """).code == 0)
        func notices() -> [String] {
            ((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "").split(separator: "\n").filter { $0.hasPrefix("notice=") }.map(String.init)
        }
        func logged(_ text: String) -> Bool { ((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "").components(separatedBy: text).count - 1 >= 1 }
        try #require(waitFor(timeout: 30) { logged("ready=1") })
        try #require(daemon.drover(["evict", job + "/0", "--reason", "disk swap on rack 4"]).code == 0)
        try #require(waitFor(timeout: 30) { notices().count == 1 && ((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "").components(separatedBy: "ready=1").count - 1 == 2 },
                     "the replacement started: \((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "")")
        #expect(notices().first?.contains("message: disk swap on rack 4") == true, "the manual eviction's note: \(notices())")
        try #require(daemon.drover(["drain"]).code == 0)
        try #require(waitFor(timeout: 30) { notices().count == 2 }, "\(notices())")
        #expect(notices().last?.contains("reason: drain") == true, "\(notices())")
        #expect(notices().last?.contains("message:") == false, "no stale note from the manual eviction: \(notices())")
    }

    @Test func anUpdateAfterAManualEvictionWritesTheUpdatesReasonOnly() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("web")
        func spec(_ version: String) -> String {
            """
            jobs:
              \(job):
                lameduck: {grace: 5s}
                env: {VERSION: "\(version)"}
                command: ["\(TestEnvironment.testload)", "lameduck"]
            """
        }
        func log() -> String { (try? daemon.drover(["logs", job + "/0"]).stdout) ?? "" }
        func notices() -> [String] { log().split(separator: "\n").filter { $0.hasPrefix("notice=") }.map(String.init) }
        func readies() -> Int { log().components(separatedBy: "ready=1").count - 1 }
        try #require(daemon.apply(spec("1")).code == 0)
        try #require(waitFor(timeout: 30) { readies() == 1 })
        try #require(daemon.drover(["evict", job + "/0", "--reason", "kernel upgrade"]).code == 0)
        try #require(waitFor(timeout: 30) { notices().count == 1 && readies() == 2 }, "the replacement started: \(log())")
        #expect(notices().first?.contains("message: kernel upgrade") == true, "the manual eviction's note: \(notices())")
        try #require(daemon.apply(spec("2")).code == 0)
        try #require(waitFor(timeout: 30) { notices().count == 2 }, "\(notices())")
        #expect(notices().last?.contains("reason: update") == true, "\(notices())")
        #expect(notices().last?.contains("message:") == false, "no stale note from the manual eviction: \(notices())")
    }
}
