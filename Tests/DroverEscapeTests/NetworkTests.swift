import DroverCore
import DroverLinux
import DroverTestSupport
import Foundation
import Glibc
import Testing

/// SPEC §10 "Network": `network: none` has loopback only; with the host network a replica
/// still cannot reach the host's abstract Unix sockets where the kernel has Landlock scoping.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: it creates namespaces and cgroups"))
struct NetworkTests {
    func probe(_ arguments: [String], run options: [String] = []) throws -> String {
        let run = try TestProcess.drover(["run"] + options + ["--", TestEnvironment.testload, "probe"] + arguments)
        return probeResult(run.stdout) ?? "no answer: \(run.stdout) \(run.stderr)"
    }

    func control(_ arguments: [String]) throws -> String? {
        let process = try TestProcess([TestEnvironment.testload, "probe"] + arguments)
        _ = process.finish()
        return probeResult(process.stdout.text)
    }

    @Test func networkNoneHasNoRouteOutAndSeesNoHostListener() throws {
        let listener = listenOn(0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        // Controls: the host reaches its own listener, and has a route out (not in the VM
        // tier's guest, which has no network: there the route probe proves nothing).
        #expect(try control(["connect-tcp", "127.0.0.1", "\(port)"]) == "ok")
        #expect(try probe(["connect-tcp", "127.0.0.1", "\(port)"]) == "ok", "network: host reaches it")
        if try control(["route-out"]) == "ok" {
            #expect(try probe(["route-out"], run: ["--network", "none"]) == "ENETUNREACH")
        }
        #expect(try probe(["connect-tcp", "127.0.0.1", "\(port)"], run: ["--network", "none"]) == "ECONNREFUSED",
                "its 127.0.0.1 is its own loopback")
        #expect(try probe(["bind", "0"], run: ["--network", "none"]) == "ok", "loopback is up")
    }

    @Test func aNetworkNoneReplicaHasNoRouteOut() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("offline")
        try #require(daemon.apply("""
            jobs:
              \(job):
                kind: batch
                network: none
                command: ["/bin/sh", "-c", "\(TestEnvironment.testload) probe route-out; \(TestEnvironment.testload) probe bind 0; true"]
            """).code == 0)
        #expect(waitFor(timeout: 30) { (try? daemon.drover(["ps", job]).stdout.contains("succeeded")) == true })
        let logs = try daemon.drover(["logs", job + "/0"]).stdout
        if try control(["route-out"]) == "ok" { // the control (a host with a route out)
            #expect(logs.contains("probe=route-out result=ENETUNREACH"), "no route out: \(logs)")
        }
        #expect(logs.contains("probe=bind result=ok"), "its own loopback works: \(logs)")
    }

    @Test func abstractUnixSocketsOfTheHostAreOutOfReach() throws {
        let name = "drover-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(server >= 0)
        defer { close(server) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw[0] = 0
            for (index, byte) in bytes.enumerated() { raw[index + 1] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, length) } }
        try #require(bound == 0 && listen(server, 8) == 0)
        #expect(try control(["connect-abstract", name]) == "ok", "control: the host reaches it")
        #expect(try probe(["connect-abstract", name], run: ["--network", "none"]) == "ECONNREFUSED",
                "abstract sockets belong to the network namespace")
        let hostNetwork = try probe(["connect-abstract", name])
        if LandlockProbe.abi() >= 6 {
            #expect(hostNetwork == "EPERM", "Landlock scoping refuses it even on the host network")
        } else {
            // Without Landlock scoping nothing but a network namespace keeps it out (README).
            #expect(hostNetwork == "ok")
        }
    }
}

enum LandlockProbe {
    /// The kernel's Landlock ABI version (drover-testload asks it), 0 without Landlock.
    static func abi() -> Int {
        guard let process = try? TestProcess([TestEnvironment.testload, "landlock-abi"]) else { return 0 }
        _ = process.finish()
        return keyValues(process.stdout.text)["landlock_abi"].flatMap { Int($0) }.map { max($0, 0) } ?? 0
    }
}
