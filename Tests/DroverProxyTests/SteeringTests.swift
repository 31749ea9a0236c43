import DroverProxy
import Foundation
import Glibc
import Testing

/// Kernel steering (BPF sk_lookup, as root): a connection to the service port lands in a
/// replica's own listening socket, so the replica sees the service port as its local port
/// (a relayed one arrives on the replica's own port, from droverd). The backends here are in
/// this test process; a directory whose `cgroup.procs` lists this process stands in for their
/// cgroup (the daemon tests steer to real replicas in real cgroups).
@Suite(.timeLimit(.minutes(3)), .enabled(if: getuid() == 0, "kernel steering needs root (CAP_BPF, CAP_SYS_PTRACE)"))
struct Steering {
    @Test func connectionsLandInTheReplicasOwnSocket() async throws {
        try await withSteeringFixture { fixture, cgroup in
            let backend = try await fixture.backend("web/0", .greetThenEcho)
            let proxy = try await fixture.proxy([backend.backend(cgroup: cgroup.path)])
            #expect(proxy.steeringStatus == "kernel (sk_lookup)")
            #expect(proxy.isSteering)
            let servicePort = try #require(proxy.listeningPort)
            #expect(try await greetings(fixture, proxy, count: 5) == Array(repeating: "web/0", count: 5))
            #expect(backend.acceptedOn == Array(repeating: servicePort, count: 5))
            #expect(proxy.stats.steered == 5)
            #expect(proxy.stats.connectionsAccepted == 0)
        }
    }

    @Test func connectionsAreSpreadRoundRobin() async throws {
        try await withSteeringFixture { fixture, cgroup in
            let backends = try await (0..<3).asyncMap { try await fixture.backend("web/\($0)", .greetThenEcho) }
            let proxy = try await fixture.proxy(backends.map { $0.backend(cgroup: cgroup.path) })
            let served = try await greetings(fixture, proxy, count: 30).reduce(into: [:]) { $0[$1, default: 0] += 1 }
            #expect(served == ["web/0": 10, "web/1": 10, "web/2": 10])
        }
    }

    @Test func anUnpublishedReplicaGetsNoNewConnection() async throws {
        try await withSteeringFixture { fixture, cgroup in
            let leaving = try await fixture.backend("web/0", .greetThenEcho)
            let staying = try await fixture.backend("web/1", .greetThenEcho)
            let proxy = try await fixture.proxy([leaving, staying].map { $0.backend(cgroup: cgroup.path) })
            let open = try await fixture.client(proxy)
            _ = try await open.readLine()
            proxy.setBackends([staying.backend(cgroup: cgroup.path)])
            let before = leaving.accepted
            #expect(try await greetings(fixture, proxy, count: 20) == Array(repeating: "web/1", count: 20))
            #expect(leaving.accepted == before)
            #expect(proxy.isSteering)
            // A connection made before the unpublish is left alone.
            try await open.send("still here\n")
            #expect(try await open.readLine() == "still here")
        }
    }

    @Test func aReplicaWhoseSocketClosedIsSkippedAtOnce() async throws {
        try await withSteeringFixture { fixture, cgroup in
            // Not an ephemeral port: once freed, another test's socket could be given it.
            let dying = try await fixture.backend("web/0", .greetThenEcho, port: try fixture.fixedPort())
            let staying = try await fixture.backend("web/1", .greetThenEcho)
            // No refresh during the test: the kernel alone must skip the closed socket.
            let proxy = try await fixture.proxy([dying, staying].map { $0.backend(cgroup: cgroup.path) },
                                                options: .init(steeringRefresh: .seconds(3600)))
            await dying.stop()
            try await waitUntilClosed(port: dying.port)
            #expect(try await greetings(fixture, proxy, count: 20) == Array(repeating: "web/1", count: 20))
            #expect(proxy.stats.steered == 20)
        }
    }

    @Test func aSocketClosedWhilePublishedIsNoticedAndTheJobRelayedUntilItIsUnpublished() async throws {
        try await withSteeringFixture { fixture, cgroup in
            // Not an ephemeral port: once freed, another test's socket could be given it.
            let closing = try await fixture.backend("web/0", .greetThenEcho, port: try fixture.fixedPort())
            let staying = try await fixture.backend("web/1", .greetThenEcho)
            let proxy = try await fixture.proxy([closing, staying].map { $0.backend(cgroup: cgroup.path) },
                                                options: .init(steeringRefresh: .milliseconds(4)))
            #expect(proxy.isSteering)
            await closing.stop()
            try await waitUntilClosed(port: closing.port)
            // Still published: the relay takes every connection, and skips web/0 (refused).
            try await eventually("the slot check to notice the closed socket") { !proxy.isSteering }
            let before = proxy.stats.steered
            #expect(try await greetings(fixture, proxy, count: 5) == Array(repeating: "web/1", count: 5))
            #expect(proxy.stats.steered == before)
            // Unpublished, steering resumes for the rest.
            proxy.setBackends([staying.backend(cgroup: cgroup.path)])
            #expect(proxy.isSteering)
        }
    }

    @Test func aReplicaNotFoundYetIsRelayedUntilItIs() async throws {
        try await withSteeringFixture(listingThisProcess: false) { fixture, cgroup in
            let backend = try await fixture.backend("web/0", .greetThenEcho)
            let proxy = try await fixture.proxy([backend.backend(cgroup: cgroup.path)],
                                                options: .init(steeringRefresh: .milliseconds(20)))
            #expect(!proxy.isSteering)
            let relayed = try await fixture.client(proxy)
            #expect(try await relayed.readLine() == "web/0")
            #expect(backend.acceptedOn == [backend.port])
            #expect(proxy.stats.forwarded == 1)

            try cgroup.list(getpid())
            try await eventually("steering to find the socket") { proxy.isSteering }
            let steered = try await fixture.client(proxy)
            #expect(try await steered.readLine() == "web/0")
            #expect(backend.acceptedOn.last == proxy.listeningPort)
        }
    }

    @Test func oneReplicaNotFoundSendsEveryConnectionThroughTheRelay() async throws {
        try await withSteeringFixture { fixture, cgroup in
            let found = try await fixture.backend("web/0", .greetThenEcho)
            let lost = try await fixture.backend("web/1", .greetThenEcho)
            let proxy = try await fixture.proxy([
                found.backend(cgroup: cgroup.path),
                ServiceProxy.Backend(id: lost.id, host: "127.0.0.1", port: lost.port, cgroup: nil),
            ])
            #expect(!proxy.isSteering)
            #expect(Set(try await greetings(fixture, proxy, count: 4)) == ["web/0", "web/1"])
            #expect(proxy.stats.steered == 0)
        }
    }

    @Test func turnedOffItRelays() async throws {
        try await withSteeringFixture { fixture, cgroup in
            let backend = try await fixture.backend("web/0", .greetThenEcho)
            let proxy = try await fixture.proxy([backend.backend(cgroup: cgroup.path)],
                                                options: .init(kernelSteering: false))
            #expect(proxy.steeringStatus == "user-space relay (kernel steering turned off)")
            let client = try await fixture.client(proxy)
            #expect(try await client.readLine() == "web/0")
            #expect(backend.acceptedOn == [backend.port])
        }
    }

    @Test func stoppingDetachesTheProgram() async throws {
        try await withSteeringFixture { fixture, cgroup in
            let backend = try await fixture.backend("web/0", .greetThenEcho)
            // Once the proxy is stopped, a plain listener takes its port: connections reach it
            // only if nothing steers the port any more. (Tests running alongside may take the
            // freed port first; then again with another.)
            for _ in 0..<5 {
                let proxy = try await fixture.proxy([backend.backend(cgroup: cgroup.path)])
                let port = try #require(proxy.listeningPort)
                await proxy.stop()
                guard let successor = try? await fixture.backend("successor", .greetThenEcho, port: port) else { continue }
                for _ in 0..<3 {
                    let client = try await TestClient.connect(port: successor.port, group: fixture.group)
                    #expect(try await client.readLine() == "successor")
                    await client.close()
                }
                #expect(backend.accepted == 0)
                return
            }
            Issue.record("the freed port was taken by another program 5 times in a row")
        }
    }
}

/// Waits until nothing listens on 127.0.0.1:`port` any more. A listening socket this process
/// closed lives on while a child being spawned by a test running alongside still holds a
/// copy of the descriptor table (until its exec); connections steered to it meanwhile would
/// be reset.
func waitUntilClosed(port: Int) async throws {
    try await eventually("port \(port) to close", timeout: .seconds(10)) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected != 0 && errno == ECONNREFUSED
    }
}

/// The first line each of `count` connections in turn gets: the id of the backend that took it.
func greetings(_ fixture: Fixture, _ proxy: ServiceProxy, count: Int) async throws -> [String] {
    var lines: [String] = []
    for _ in 0..<count {
        let client = try await fixture.client(proxy)
        lines.append(try await client.readLine())
        await client.close()
    }
    return lines
}

/// A directory standing in for a replica's cgroup: `cgroup.procs` lists the processes to
/// search for listening sockets.
struct FakeCgroup {
    let path: String

    func list(_ pids: Int32...) throws {
        try pids.map { "\($0)\n" }.joined().write(toFile: path + "/cgroup.procs", atomically: true, encoding: .utf8)
    }
}

func withSteeringFixture(listingThisProcess: Bool = true,
                         _ body: (Fixture, FakeCgroup) async throws -> Void) async throws {
    let path = NSTemporaryDirectory() + "drover-steering-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let cgroup = FakeCgroup(path: path)
    if listingThisProcess { try cgroup.list(getpid()) } else { try cgroup.list() }
    try await withFixture { fixture in try await body(fixture, cgroup) }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
