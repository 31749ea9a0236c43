import DroverTestSupport
import Foundation
import Glibc
import Testing

/// Found by the chaos test (a droverd restart refused: "another droverd (pid N) holds
/// .../droverd.lock"): droverd makes a replica's user namespace through a short-lived helper
/// process it kills once the maps are written. SIGKILLed in between, droverd left the helper
/// sleeping for ever with copies of all its descriptors — the instance lock, the API socket,
/// the store — and no later droverd could start.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: droverd creates namespaces and cgroups"))
struct UserNamespaceHelperTests {
    @Test func droverdKilledWhileItsUserNamespaceHelperLivesStartsAgain() throws {
        let daemon = try TestDaemon()
        var helpers: [Int32] = []
        defer {
            for helper in helpers { kill(helper, SIGKILL) }
            daemon.destroy()
        }
        let ownUserNamespace = readLinkTarget("/proc/self/ns/user")
        for round in 0..<20 {
            // A fresh droverd (nothing cached) and jobs of their own uids: one helper each.
            let names = (0..<16).map { daemon.job("ns\(round)x\($0)") }
            let path = daemon.directory + "/helpers.yaml"
            let yaml = "jobs:\n" + names.map { "  \($0):\n    replicas: 1\n    command: [\(yamlQuoted(TestEnvironment.testload)), \"pause\"]\n" }.joined()
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
            let droverd = try #require(daemon.process?.pid)
            let droverdCgroup = readText("/proc/\(droverd)/cgroup")
            let applying = try TestProcess([TestEnvironment.drover, "apply", path, "--socket", daemon.socket])
            // A child of droverd in droverd's own cgroup (a replica is born in its leaf) and in
            // a user namespace of its own: the helper, between its clone and its SIGKILL.
            var helper: Int32?
            let deadline = monotonicSeconds() + 20
            while helper == nil && monotonicSeconds() < deadline && !applying.hasExited {
                for task in listDirectory("/proc/\(droverd)/task") {
                    for child in (readText("/proc/\(droverd)/task/\(task)/children") ?? "").split(separator: " ").compactMap({ Int32($0) })
                    where readLinkTarget("/proc/\(child)/ns/user") != ownUserNamespace && readText("/proc/\(child)/cgroup") == droverdCgroup {
                        kill(droverd, SIGKILL)
                        helper = child
                        break
                    }
                    if helper != nil { break }
                }
                usleep(20) // the window is a few hundred µs; the tests beside this one want CPU too
            }
            daemon.kill(SIGKILL)
            applying.finish(timeout: 20)
            if let helper {
                helpers.append(helper)
                let gone = waitFor(timeout: 5) { ProcessStat.read(helper).map { !$0.isLive } ?? true }
                #expect(gone, "round \(round): droverd's user namespace helper \(helper) outlived it, holding \(descriptorKinds(helper))")
                // The next droverd starts (it would be refused its own instance lock).
                try daemon.start()
                return
            }
            try daemon.start()
        }
        Issue.record("droverd was never caught with a user namespace helper alive in 20 rounds of 16 new jobs")
    }
}

func readLinkTarget(_ path: String) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = readlink(path, &buffer, buffer.count - 1)
    return n > 0 ? String(cString: buffer) : ""
}
