import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// Issue 11 point 4: the API takes no orders from inside a sandbox, even from uid 0. Replicas
/// cannot see the socket at all, so the peer here is a process of the host's root moved into a
/// replica's cgroup leaf (what the check looks at), as a process inside holding a smuggled
/// descriptor to the socket would be. Part of DaemonTests: one daemon at a time.
extension DaemonTests {
    /// `drover ARGS --socket S`, run as the host's root from inside `leaf` (it moves itself
    /// there first).
    func droverFromCgroup(_ leaf: String, _ daemon: TestDaemon, _ arguments: [String]) throws -> (code: Int32?, stdout: String, stderr: String) {
        let process = try TestProcess(["/bin/sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", leaf,
                                       TestEnvironment.drover] + arguments + ["--socket", daemon.socket])
        let code = process.finish()
        return (code, process.stdout.text, process.stderr.text)
    }

    // MARK: API peers

    @Test func mutationsFromInsideASandboxAreRefusedEvenForRoot() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        try daemon.apply("jobs:\n" + serving(web, replicas: 1, command: [testload, "pause"], extra: "    lameduck: {grace: 1s}"))
        #expect(try eventually { try replicas(daemon, web).first?.state == "ready" })
        let replica = try #require(try replicas(daemon, web).first)
        let leaf = try #require(replica.cgroup, "a running replica has a cgroup")

        let refused = try droverFromCgroup(leaf, daemon, ["drain"])
        #expect(refused.code == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("forbidden") && refused.stderr.contains("mutations are not accepted from inside a sandbox"),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("/\(web).0"), "names the cgroup: \(refused.stderr)")
        #expect(try daemon.drover(["ps"]).stdout.contains("drained") == false, "nothing was drained")
        #expect(try replicas(daemon, web).first?.pid == replica.pid, "the replica runs on")
        let read = try droverFromCgroup(leaf, daemon, ["ps"])
        #expect(read.code == 0 && read.stdout.contains(web), "reads are answered: \(read.stderr)")

        // The control: the same command from the host's own cgroup.
        let allowed = try daemon.drover(["drain"])
        #expect(allowed.code == 0 && allowed.stdout.contains("1 replicas evicted"), "\(allowed.stdout) \(allowed.stderr)")
        #expect(try eventually { try replicas(daemon, web).first?.pid == nil })
    }
}
