import DroverProxy
import Glibc
import Testing
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Event loops, backends, proxies and clients for one test, all closed when it ends (pass or
/// fail), loops last.
final class Fixture: Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    private let cleanups = NIOLockedValueBox<[@Sendable () async -> Void]>([])

    private func onTearDown(_ cleanup: @escaping @Sendable () async -> Void) {
        cleanups.withLockedValue { $0.append(cleanup) }
    }

    func backend(_ id: String, _ mode: TestBackend.Mode = .echo, port: Int = 0) async throws -> TestBackend {
        let backend = try await TestBackend.start(id: id, mode: mode, group: group, port: port)
        onTearDown { await backend.stop() }
        return backend
    }

    /// A started proxy on an ephemeral port.
    func proxy(_ backends: [TestBackend] = [], options: ServiceProxy.Options = .init()) async throws -> ServiceProxy {
        try await proxy(backends.map(\.backend), options: options)
    }

    func proxy(_ backends: [ServiceProxy.Backend], options: ServiceProxy.Options = .init(),
               port: Int = 0) async throws -> ServiceProxy {
        let proxy = ServiceProxy(name: "web", port: port, group: group, options: options)
        onTearDown { await proxy.stop() }
        proxy.setBackends(backends)
        try await proxy.start()
        return proxy
    }

    func client(_ proxy: ServiceProxy, paused: Bool = false) async throws -> TestClient {
        let port = try #require(proxy.listeningPort)
        let client = try await TestClient.connect(port: port, group: group, paused: paused)
        onTearDown { await client.close() }
        return client
    }

    /// A free port outside the kernel's ephemeral range (and outside the daemon tests'
    /// 15000-18999 and drover's default 20000-32000), so that once a test frees it no socket
    /// of a test running alongside is handed the same number.
    func fixedPort() throws -> Int {
        // A random start, so that tests running alongside rarely probe the same port.
        let start = Int.random(in: 0..<5_000)
        for offset in 0..<5_000 {
            let port = 10_000 + (start + offset) % 5_000
            if portIsFree(port) { return port }
        }
        throw TestFailure(description: "no free port in 10000-14999")
    }

    /// A port where connecting fails the given way.
    func deadPort(_ kind: DeadPort.Kind) throws -> DeadPort {
        let port = try DeadPort(kind)
        onTearDown { port.close() }
        return port
    }

    func tearDown() async {
        for cleanup in cleanups.withLockedValue({ $0 }).reversed() { await cleanup() }
        try? await group.shutdownGracefully()
    }
}

/// Whether a listening socket can be bound to 127.0.0.1:port right now.
func portIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

func withFixture(_ body: (Fixture) async throws -> Void) async throws {
    let fixture = Fixture()
    do {
        try await body(fixture)
    } catch {
        await fixture.tearDown()
        throw error
    }
    await fixture.tearDown()
}

/// Waits for a condition that no event announces (the proxy's counters), checking every few
/// milliseconds, for at most `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(60),
                _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Something the test controls: the bytes it expects back.
func pattern(_ count: Int, seed: UInt8 = 0) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count)
    // Not a repeating short cycle, so a dropped or repeated chunk shows.
    var value = UInt32(seed) &+ 1
    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
        for index in 0..<count {
            value = value &* 1_664_525 &+ 1_013_904_223
            pointer[index] = UInt8(truncatingIfNeeded: value >> 24)
        }
        return count
    }
    return buffer
}
