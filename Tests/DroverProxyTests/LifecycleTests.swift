import DroverLinux
import DroverProxy
import Glibc
import NIOCore
import Testing

/// Listening and stopping: the port is taken and given back, and connections open at stop
/// get their drain.
@Suite(.timeLimit(.minutes(3)))
struct Lifecycle {
    @Test func stopReleasesThePort() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.backend("web/0", .echo)
            // Not an ephemeral port: once freed, another test's socket could be given it.
            let first = try await fixture.proxy([backend.backend], port: try fixture.fixedPort())
            let port = try #require(first.listeningPort)
            await first.stop()
            #expect(first.listeningPort == nil)
            // This process holds no listening socket on the port any more.
            #expect(ListeningSockets.locate(inodes: ListeningSockets.inodes(host: "127.0.0.1", port: port), pid: getpid()) == nil,
                    "still listening on \(port) after stop")
            // A child another test is cloning from this process at that moment (a sandbox
            // between clone and its exec) holds copies of every descriptor, the listener's too,
            // until its exec: the socket lives until then. Wait for that copy to go.
            let deadline = ContinuousClock.now + .seconds(10)
            while !ListeningSockets.inodes(host: "127.0.0.1", port: port).isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            await #expect(throws: (any Error).self) {
                try await TestClient.connect(port: port, group: fixture.group).close()
            }

            let second = try await fixture.proxy([backend.backend], port: port)
            #expect(second.listeningPort == port)
            let client = try await fixture.client(second)
            try await client.send("again\n")
            #expect(try await client.readLine() == "again")
        }
    }

    @Test func portInUseSaysWhichAddressAndPort() async throws {
        try await withFixture { fixture in
            let port = try #require(try await fixture.proxy([]).listeningPort)
            let second = ServiceProxy(name: "api", port: port, group: fixture.group)
            let error = await #expect(throws: ProxyError.self) { try await second.start() }
            guard case .cannotListen(_, _, _, let code, _)? = error else {
                Issue.record("expected cannotListen, got \(String(describing: error))")
                return
            }
            #expect(code == EADDRINUSE)
            #expect(error?.description == "service `api`: cannot listen on 127.0.0.1:\(port): EADDRINUSE (Address already in use); another program (or another job's service) is using the port")
            await second.stop()
        }
    }

    @Test func startingTwiceIsAnError() async throws {
        try await withFixture { fixture in
            let proxy = try await fixture.proxy([])
            await #expect(throws: ProxyError.alreadyStarted(service: "web")) { try await proxy.start() }
            await proxy.stop()
            await #expect(throws: ProxyError.alreadyStarted(service: "web")) { try await proxy.start() }
        }
    }

    @Test func stopLetsOpenConnectionsFinish() async throws {
        try await withFixture { fixture in
            let proxy = try await fixture.proxy([try await fixture.backend("web/0", .echo)],
                                                options: .init(drainTimeout: .seconds(60)))
            let client = try await fixture.client(proxy)
            try await client.send("before stop\n")
            #expect(try await client.readLine() == "before stop")

            let stopping = Task { await proxy.stop() }
            try await eventually("stop to close the listener") { proxy.listeningPort == nil }
            try await client.send("during the drain\n")
            #expect(try await client.readLine() == "during the drain")
            await client.close()
            await stopping.value
            #expect(proxy.stats.active.isEmpty)
        }
    }

    @Test func stopClosesWhatIsStillOpenAfterTheDrain() async throws {
        try await withFixture { fixture in
            let proxy = try await fixture.proxy([try await fixture.backend("web/0", .echo)],
                                                options: .init(drainTimeout: .milliseconds(200)))
            let client = try await fixture.client(proxy)
            try await client.send("hello\n")
            #expect(try await client.readLine() == "hello")
            await proxy.stop()
            #expect(try await client.readToEnd().readableBytes == 0)
            #expect(proxy.stats.active.isEmpty)
        }
    }

    @Test func stopClosesClientsWaitingForABackend() async throws {
        try await withFixture { fixture in
            let proxy = try await fixture.proxy([], options: .init(backendWait: .seconds(60)))
            let client = try await fixture.client(proxy)
            try await eventually("the client to wait for a backend") { proxy.stats.waiting == 1 }
            await proxy.stop()
            #expect(try await client.readToEnd().readableBytes == 0)
            #expect(proxy.stats.waiting == 0)
        }
    }
}
