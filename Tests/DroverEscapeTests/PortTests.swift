import DroverCore
import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// SPEC §10 "Ports": a sandbox binds only the ports it was given; a port taken while its replica
/// was down is reallocated, never fought over.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: it creates namespaces, cgroups and BPF programs"))
struct PortTests {
    /// A port in drover's range that nothing holds now.
    func freePort() throws -> Int {
        var allocator = try PortAllocator(ephemeral: PortProbe.ephemeralRange(), start: 20000 + Int.random(in: 0..<12000))
        return try allocator.allocate(isFree: PortProbe.isFree)
    }

    func probe(_ arguments: [String], run options: [String] = []) throws -> String? {
        let run = try TestProcess.drover(["run"] + options + ["--", TestEnvironment.testload, "probe"] + arguments)
        return probeResult(run.stdout) ?? "no answer: \(run.stdout) \(run.stderr)"
    }

    @Test func droverRunBindsItsOwnPortsOnly() throws {
        let other = try freePort()
        // Control: the host binds that port.
        let control = try TestProcess([TestEnvironment.testload, "probe", "bind", "\(other)"])
        _ = control.finish()
        #expect(probeResult(control.stdout.text) == "ok")
        #expect(try probe(["bind", "\(other)"]) == "EACCES", "a port it was not given")
        #expect(try probe(["bind6", "\(other)"]) == "EACCES", "nor over IPv6")
        #expect(try probe(["bind", "0"]) == "ok", "an ephemeral port is its own")
        let own = try TestProcess.drover(["run", "--port", "http", "--", "/bin/sh", "-c",
                                          "\(TestEnvironment.testload) probe bind $PORT_HTTP"])
        #expect(probeResult(own.stdout) == "ok", "its allocated port: \(own.stdout) \(own.stderr)")
    }

    @Test func aReplicaCannotTakeAnothersPort() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let (a, b) = (daemon.job("a"), daemon.job("b"))
        let testload = TestEnvironment.testload
        let applied = try daemon.apply("""
            jobs:
              \(a):
                ports: [http]
                command: ["\(testload)", "serve", "PORT_HTTP"]
              \(b):
                ports: [http]
                command: ["\(testload)", "pause"]
            """)
        try #require(applied.code == 0, "\(applied.stderr)")
        try #require(waitFor(timeout: 30) { daemon.replica(a)?.state == "ready" && daemon.replica(b)?.state == "ready" })
        let portA = try #require(daemon.replica(a)?.ports["http"])
        let portB = try #require(daemon.replica(b)?.ports["http"])
        let outside = try freePort()
        let results = try daemon.drover(["exec", b + "/0", "--", "/bin/sh", "-c",
                                         "\(testload) probe bind \(portA); \(testload) probe bind \(outside); \(testload) probe bind \(portB); true"])
        let lines = results.stdout.split(separator: "\n").filter { $0.hasPrefix("probe=") }
        #expect(lines.count == 3, "\(results.stdout) \(results.stderr)")
        #expect(lines.first?.hasSuffix("result=EACCES") == true, "another replica's port: \(results.stdout)")
        #expect(lines.dropFirst().first?.hasSuffix("result=EACCES") == true, "a free port outside its allocation: \(results.stdout)")
        // Its own port passes the guard: bound, or EADDRINUSE if a replica of another test's
        // droverd took it meanwhile (pause does not hold it), never EACCES.
        #expect(lines.last.map { $0.hasSuffix("result=ok") || $0.hasSuffix("result=EADDRINUSE") } == true,
                "its own port passes the guard: \(results.stdout)")
    }

    @Test func aPortTakenWhileTheReplicaWasDownIsReallocated() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("web")
        let applied = try daemon.apply("""
            jobs:
              \(job):
                ports: [http]
                restart: {backoff: {initial: 1s}}
                command: ["\(TestEnvironment.testload)", "serve", "PORT_HTTP"]
            """)
        try #require(applied.code == 0, "\(applied.stderr)")
        try #require(waitFor(timeout: 30) { daemon.replica(job)?.state == "ready" })
        let first = try #require(daemon.replica(job))
        let port = try #require(first.ports["http"])
        let initPID = try #require(first.initPid)
        let workload = try #require(firstChild(of: initPID))
        kill(workload, SIGKILL)
        // The impostor: a host process listening on the port before the restart (1 s backoff).
        var impostor: Int32 = -1
        #expect(waitFor(timeout: 0.9) { impostor = listenOn(port); return impostor >= 0 }, "the test takes the port")
        defer { if impostor >= 0 { close(impostor) } }
        #expect(waitFor(timeout: 20) {
            guard let now = daemon.replica(job), now.pid != first.pid, now.state == "ready" else { return false }
            return now.ports["http"] != nil && now.ports["http"] != port
        }, "running again on another port: \(String(describing: daemon.replica(job)))")
        let events = try daemon.drover(["events"]).stdout
        #expect(events.contains("port-reallocated") && events.contains("\(port) was taken"), "events say why: \(events)")
    }
}

/// The first child of `pid` (drover-init's workload).
func firstChild(of pid: Int32) -> Int32? {
    let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return children.split(separator: " ").first.flatMap { Int32($0) }
}

/// A listening IPv4 socket on 127.0.0.1:port (SO_REUSEADDR, as servers do), or -1.
func listenOn(_ port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 16) == 0 else {
        close(fd)
        return -1
    }
    return fd
}
