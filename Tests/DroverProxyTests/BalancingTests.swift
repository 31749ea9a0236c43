import DroverProxy
import NIOCore
import Testing

/// Which backend a client reaches, observed from the client's side: each backend greets
/// with its name.
@Suite(.timeLimit(.minutes(3)))
struct Balancing {
    @Test func newConnectionsGoToTheLeastBusyBackend() async throws {
        try await withFixture { fixture in
            var backends: [TestBackend] = []
            for index in 0..<3 { backends.append(try await fixture.backend("web/\(index)", .greetThenEcho)) }
            let proxy = try await fixture.proxy(backends)
            var servedBy: [String: [TestClient]] = [:]
            for _ in 0..<6 {
                let client = try await fixture.client(proxy)
                servedBy[try await client.readLine(), default: []].append(client)
            }
            #expect(servedBy.mapValues(\.count) == ["web/0": 2, "web/1": 2, "web/2": 2])
            #expect(proxy.stats.active == ["web/0": 2, "web/1": 2, "web/2": 2])

            // web/1's clients leave, so it is the least busy: it takes the next two, where
            // plain rotation would send them to web/0 and web/1.
            for client in servedBy["web/1"]! { await client.close() }
            try await eventually("web/1's connections to close") { proxy.stats.active["web/1"] == nil }
            var next: [String] = []
            for _ in 0..<2 { next.append(try await fixture.client(proxy).readLine()) }
            #expect(next == ["web/1", "web/1"])
        }
    }

    @Test func unpublishedBackendKeepsItsConnectionButGetsNoNewOnes() async throws {
        try await withFixture { fixture in
            let leaving = try await fixture.backend("web/0", .greetThenEcho)
            let staying = try await fixture.backend("web/1", .greetThenEcho)
            let proxy = try await fixture.proxy([leaving])
            let kept = try await fixture.client(proxy)
            #expect(try await kept.readLine() == "web/0")

            proxy.setBackends([staying.backend])
            for _ in 0..<5 {
                #expect(try await fixture.client(proxy).readLine() == "web/1")
            }
            #expect(leaving.accepted == 1)

            try await kept.send("still relayed after unpublish\n")
            #expect(try await kept.readLine() == "still relayed after unpublish")
            #expect(proxy.stats.active["web/0"] == 1)
        }
    }

    @Test(arguments: [DeadPort.Kind.refusing, .unresponsive])
    func deadBackendIsSkippedForALiveOne(_ kind: DeadPort.Kind) async throws {
        try await withFixture { fixture in
            let dead = try fixture.deadPort(kind)
            let live = try await fixture.backend("web/1", .greetThenEcho)
            // The dead backend comes first, so the first client meets it.
            let proxy = try await fixture.proxy([dead.backend, live.backend],
                                                options: .init(connectTimeout: .milliseconds(300)))
            for _ in 0..<3 {
                let client = try await fixture.client(proxy)
                #expect(try await client.readLine() == "web/1")
                try await client.send("ping\n")
                #expect(try await client.readLine() == "ping")
            }
            let stats = proxy.stats
            #expect(stats.failed == 0)
            #expect(stats.forwarded == 3)
            #expect(stats.retried >= 1)
            #expect(live.accepted == 3)
        }
    }

    struct Unavailable: Sendable, CustomTestStringConvertible {
        var dead: DeadPort.Kind?
        var backendWait: Duration
        var testDescription: String { "\(dead.map { "only a \($0) backend" } ?? "no backends"), wait \(backendWait)" }
    }

    @Test(arguments: [
        Unavailable(dead: nil, backendWait: .zero),
        Unavailable(dead: nil, backendWait: .milliseconds(300)),
        Unavailable(dead: .refusing, backendWait: .zero),
    ])
    func clientIsClosedWhenNoBackendCanTakeIt(_ scenario: Unavailable) async throws {
        try await withFixture { fixture in
            let backends = try scenario.dead.map { [try fixture.deadPort($0).backend] } ?? []
            let proxy = try await fixture.proxy(backends, options: .init(backendWait: scenario.backendWait))
            let began = ContinuousClock.now
            let client = try await fixture.client(proxy)
            #expect(try await client.readToEnd().readableBytes == 0)
            #expect(ContinuousClock.now - began >= scenario.backendWait)
            let stats = proxy.stats
            #expect(stats.failed == 1)
            #expect(stats.forwarded == 0)
            #expect(stats.active.isEmpty)
        }
    }
}
