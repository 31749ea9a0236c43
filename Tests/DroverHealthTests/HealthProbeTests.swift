@testable import DroverHealth
import NIOCore
import NIOPosix
import Testing

/// Each probe against a real server on 127.0.0.1. Timeouts are short, and every case must
/// also end well within a bound, so that a probe that hangs fails the test instead of
/// stalling the suite.
@Suite struct HTTPProbeTests {
    @Test func passesOn200AndSendsAProperRequest() async throws {
        try await withServer(.status(200)) { server in
            let result = await HealthProbe.http(port: server.port, path: "/healthz?deep=1", timeout: .seconds(2))
            #expect(result == ProbeResult(passed: true, message: "HTTP 200"))
            let request = try #require(server.requests.first)
            let lines = request.split(separator: "\r\n").map(String.init)
            #expect(lines.first == "GET /healthz?deep=1 HTTP/1.1")
            #expect(lines.contains("Host: 127.0.0.1:\(server.port)"))
            #expect(lines.contains("Connection: close"))
        }
    }

    /// 2xx and 3xx pass (redirects are not followed); everything else fails with the code.
    @Test(arguments: [
        (200, true), (204, true), (299, true), (301, true), (302, true), (304, true), (399, true),
        (400, false), (404, false), (418, false), (500, false), (503, false),
    ])
    func statusDecides(code: Int, passes: Bool) async throws {
        try await withServer(.status(code)) { server in
            let result = await HealthProbe.http(port: server.port, path: "/healthz", timeout: .seconds(2))
            #expect(result == ProbeResult(passed: passes, message: "HTTP \(code)"))
            #expect(server.requests.count == 1)
        }
    }

    @Test func anEmptyPathAsksForTheRoot() async throws {
        try await withServer(.status(200)) { server in
            #expect(await HealthProbe.http(port: server.port, path: "", timeout: .seconds(2)).passed)
            #expect(server.requests.first?.hasPrefix("GET / HTTP/1.1\r\n") == true)
        }
    }

    @Test func failsWhenRefused() async throws {
        let closed = try HeldPort(.closed)
        defer { withExtendedLifetime(closed) {} }
        let port = closed.port
        let result = await HealthProbe.http(port: port, path: "/healthz", timeout: .seconds(2))
        #expect(result == ProbeResult(passed: false, message: "connect: connection refused"))
    }

    /// The whole probe is bounded by the timeout: a server that takes longer fails it.
    @Test func failsOnTimeout() async throws {
        try await withServer(.slow(.seconds(5))) { server in
            let clock = ContinuousClock()
            let started = clock.now
            let result = await HealthProbe.http(port: server.port, path: "/healthz", timeout: .milliseconds(200))
            let took = clock.now - started
            #expect(result == ProbeResult(passed: false, message: "timeout after 200ms"))
            #expect(took >= .milliseconds(200) && took < .seconds(2), "took \(took)")
            #expect(server.requests.count == 1)
        }
    }

    @Test func aSlowAnswerWithinTheTimeoutPasses() async throws {
        try await withServer(.slow(.milliseconds(100))) { server in
            let result = await HealthProbe.http(port: server.port, path: "/healthz", timeout: .seconds(3))
            #expect(result == ProbeResult(passed: true, message: "HTTP 200"))
        }
    }

    /// Something that is not HTTP fails at once, not at the timeout.
    @Test func failsOnGarbage() async throws {
        try await withServer(.garbage) { server in
            let clock = ContinuousClock()
            let started = clock.now
            let result = await HealthProbe.http(port: server.port, path: "/healthz", timeout: .seconds(5))
            #expect(result == ProbeResult(passed: false, message: "invalid HTTP response"))
            // Well before the 5 s timeout; not a speed figure (a loaded CI host took 2.5 s).
            #expect(clock.now - started < .milliseconds(4500))
        }
    }

    @Test func failsWhenTheServerHangsUp() async throws {
        try await withServer(.close) { server in
            let result = await HealthProbe.http(port: server.port, path: "/healthz", timeout: .seconds(2))
            #expect(result == ProbeResult(passed: false, message: "connection closed before a response"))
        }
    }

    /// A name is resolved (localhost has 127.0.0.1 and ::1; the server is on the first).
    @Test func resolvesAHostName() async throws {
        try await withServer(.status(200)) { server in
            let result = await HealthProbe.http(host: "localhost", port: server.port, path: "/", timeout: .seconds(2))
            #expect(result == ProbeResult(passed: true, message: "HTTP 200"))
            #expect(server.requests.first?.contains("\r\nHost: localhost:\(server.port)\r\n") == true)
        }
    }

    @Test(arguments: [0, -1, 65536])
    func refusesAPortOutOfRange(port: Int) async {
        #expect(await HealthProbe.http(port: port, path: "/", timeout: .seconds(1))
            == ProbeResult(passed: false, message: "invalid port \(port)"))
        #expect(await HealthProbe.tcp(port: port, timeout: .seconds(1))
            == ProbeResult(passed: false, message: "invalid port \(port)"))
    }
}

@Suite struct TCPProbeTests {
    @Test func passesWhenSomethingListens() async throws {
        try await withServer(.status(200)) { server in
            #expect(await HealthProbe.tcp(port: server.port, timeout: .seconds(2))
                == ProbeResult(passed: true, message: "connected"))
            // It only connects: nothing is sent.
            #expect(server.requests.isEmpty)
        }
    }

    @Test func failsWhenRefused() async throws {
        let closed = try HeldPort(.closed)
        defer { withExtendedLifetime(closed) {} }
        let port = closed.port
        #expect(await HealthProbe.tcp(port: port, timeout: .seconds(2))
            == ProbeResult(passed: false, message: "connect: connection refused"))
    }

    /// A connect that never completes ends at the timeout.
    @Test func failsOnTimeout() async throws {
        let listener = try HeldPort(.fullBacklog)
        // The first connection fills the backlog; the next one's SYNs go unanswered.
        #expect(await HealthProbe.tcp(port: listener.port, timeout: .seconds(2))
            == ProbeResult(passed: true, message: "connected"))
        let clock = ContinuousClock()
        let started = clock.now
        let result = await HealthProbe.tcp(port: listener.port, timeout: .milliseconds(300))
        let took = clock.now - started
        #expect(result == ProbeResult(passed: false, message: "timeout after 300ms"))
        #expect(took >= .milliseconds(300) && took < .seconds(2), "took \(took)")
        withExtendedLifetime(listener) {}
    }
}

/// The timeout's duration as a user wrote it in the jobs file.
@Test(arguments: [
    (Duration.seconds(1), "1s"), (.milliseconds(200), "200ms"), (.milliseconds(1500), "1500ms"),
    (.seconds(30), "30s"), (.seconds(120), "2m"), (.seconds(3600), "1h"), (.zero, "0ms"),
])
func timeoutMessageUsesJobsFileUnits(duration: Duration, text: String) {
    #expect(ProbeFailure.format(duration) == text)
}
