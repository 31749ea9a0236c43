import DroverProxy
import NIOCore
import Testing

/// The relay itself: bytes arrive intact and in order both ways, EOF passes through in either
/// direction, and what a closing side sent is delivered before the close.
@Suite(.timeLimit(.minutes(3)))
struct Forwarding {
    @Test(arguments: [1, 65_537, 10 << 20])
    func payloadComesBackIntact(size: Int) async throws {
        try await withFixture { fixture in
            let proxy = try await fixture.proxy([try await fixture.backend("web/0", .echo)])
            let client = try await fixture.client(proxy)
            let sent = pattern(size)
            async let echoed = client.read(count: size)
            try await client.send(sent)
            #expect(try await echoed == sent)
            #expect(proxy.stats.forwarded == 1)
        }
    }

    struct HalfClose: Sendable, CustomTestStringConvertible {
        var mode: TestBackend.Mode
        var size: Int
        var reply: @Sendable (ByteBuffer) -> ByteBuffer
        var testDescription: String
    }

    @Test(arguments: [
        HalfClose(mode: .countUntilEOF, size: 1 << 20, reply: { ByteBuffer(string: "\($0.readableBytes)\n") },
                  testDescription: "backend answers only after the client's EOF"),
        HalfClose(mode: .echo, size: 4 << 20, reply: { $0 },
                  testDescription: "backend echoes everything, then closes"),
    ])
    func clientShutsDownWriteAndStillGetsTheReply(_ scenario: HalfClose) async throws {
        try await withFixture { fixture in
            let proxy = try await fixture.proxy([try await fixture.backend("web/0", scenario.mode)])
            let client = try await fixture.client(proxy)
            let sent = pattern(scenario.size)
            async let reply = client.readToEnd()
            try await client.send(sent)
            try await client.shutdownOutput()
            #expect(try await reply == scenario.reply(sent))
        }
    }

    @Test func backendThatSpeaksFirstAndClosesDeliversEverything() async throws {
        let size = 10 << 20
        try await withFixture { fixture in
            let proxy = try await fixture.proxy([try await fixture.backend("web/0", .sendThenClose(size))])
            let client = try await fixture.client(proxy)
            #expect(try await client.readToEnd() == ByteBuffer(repeating: UInt8(ascii: "x"), count: size))
        }
    }

    @Test func replyQueuedForASlowHalfClosedClientSurvivesTheBackendClosing() async throws {
        let size = 4 << 20
        try await withFixture { fixture in
            let proxy = try await fixture.proxy([try await fixture.backend("web/0", .replyAfterEOF(size))])
            let client = try await fixture.client(proxy, paused: true)
            try await client.send("request\n")
            try await client.shutdownOutput()
            // The backend has answered and closed, and the proxy has let go of it, while most
            // of the answer still waits in the proxy for the client to read.
            try await eventually("the proxy to close its backend connection") {
                let stats = proxy.stats
                return stats.forwarded == 1 && stats.active.isEmpty
            }
            try await client.resume()
            #expect(try await client.readToEnd() == ByteBuffer(repeating: UInt8(ascii: "x"), count: size))
        }
    }

    @Test(arguments: [false, true])
    func whatAClientSendsBeforeABackendIsReadyIsDelivered(halfClosed: Bool) async throws {
        try await withFixture { fixture in
            // Counting needs the EOF to get through; echoing needs the connection kept open.
            let backend = try await fixture.backend("web/0", halfClosed ? .countUntilEOF : .echo)
            let proxy = try await fixture.proxy([], options: .init(backendWait: .seconds(60)))
            let client = try await fixture.client(proxy)
            let line = "sent before any replica was ready\n"
            try await client.send(line)
            if halfClosed { try await client.shutdownOutput() }
            try await eventually("the client to wait for a backend") { proxy.stats.waiting == 1 }

            proxy.setBackends([backend.backend])
            if halfClosed {
                #expect(try await client.readToEnd() == ByteBuffer(string: "\(line.utf8.count)\n"))
            } else {
                #expect(try await client.readLine() + "\n" == line)
            }
            #expect(proxy.stats.failed == 0)
            #expect(proxy.stats.waiting == 0)
        }
    }
}
