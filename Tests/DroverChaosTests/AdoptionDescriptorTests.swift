import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// Found by the chaos test's descriptor check: a droverd that re-adopted its replicas held
/// one more descriptor per replica than the one that started them (each adopted leaf's
/// directory, kept open for a clone into it that never comes).
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct AdoptionDescriptorTests {
    @Test func aDroverdThatReadoptedItsReplicasHoldsNoMoreDescriptorsThanTheOneThatStartedThem() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("herd")
        let count = 8
        try daemon.apply("jobs:\n  \(job):\n    replicas: \(count)\n    command: [\(yamlQuoted(TestEnvironment.testload)), \"pause\"]\n")
        func pids() throws -> [Int32] {
            let result = try daemon.drover(["ps", "--json"])
            let jobs = (try? JSONDecoder().decode([JobStatus].self, from: Data(result.stdout.utf8))) ?? []
            return jobs.flatMap(\.replicas).filter { $0.state == "ready" }.compactMap(\.pid).sorted()
        }
        #expect(try waitFor(timeout: 60) { try pids().count == count })
        let started = try pids()
        let before = fewestDescriptors(daemon)

        daemon.kill(SIGKILL)
        try daemon.start()
        #expect(try waitFor(timeout: 30) { try pids() == started }, "every replica re-adopted")
        let after = fewestDescriptors(daemon)
        // The restarted droverd has no user namespace cached yet (it spawned nothing): one fewer.
        #expect(after.count <= before.count, "a fresh droverd held \(before.count) descriptors (\(before.kinds)); after re-adopting \(count) replicas, \(after.count) (\(after.kinds))")
    }

    /// The fewest files and directories droverd holds open over a second: the kind the leak
    /// was (a leaf's directory). Sockets, pipes and event descriptors are left out: how many
    /// API connections the CLI's polling left half-closed depends on the machine's load (seen:
    /// 54 to 74 and 76 to 180 sockets and eventpolls on a loaded CI host, none of them a leak).
    func fewestDescriptors(_ daemon: TestDaemon) -> (count: Int, kinds: String) {
        let pid = daemon.process?.pid ?? 0
        var fewest = (count: Int.max, kinds: "")
        for _ in 0..<6 {
            usleep(200_000)
            let count = listDirectory("/proc/\(pid)/fd").filter { entry in
                var buffer = [CChar](repeating: 0, count: 4096)
                return readlink("/proc/\(pid)/fd/\(entry)", &buffer, buffer.count - 1) > 0 && buffer[0] == CChar(UInt8(ascii: "/"))
            }.count
            if count < fewest.count { fewest = (count, descriptorKinds(pid)) }
        }
        return fewest
    }
}
