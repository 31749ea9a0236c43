import NIOCore
import NIOHTTP1
import NIOPosix

/// The network probes of a job's `health:` checks (SPEC §1): an HTTP GET or a TCP connect to
/// one of the replica's ports on the host. (The `exec` probe runs inside the replica's
/// namespaces, so the daemon does it with its sandbox launcher.)
///
/// A probe never throws: every way it can go wrong is a failed ``ProbeResult`` whose message
/// says which, and the whole probe (connecting included) ends within `timeout`.
public enum HealthProbe {
    /// `GET path` with `Host:` and `Connection: close`; passes on a 2xx or 3xx status
    /// (redirects are not followed), fails with `HTTP <code>` on any other. The decision is
    /// made on the status line and headers; the body is not waited for.
    public static func http(host: String = "127.0.0.1", port: Int, path: String, timeout: Duration,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async -> ProbeResult {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: hostHeader(host: host, port: port))
        headers.add(name: "User-Agent", value: "drover-probe")
        headers.add(name: "Accept", value: "*/*")
        headers.add(name: "Connection", value: "close")
        let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: path.isEmpty ? "/" : path, headers: headers)
        return await probe(host: host, port: port, timeout: timeout, group: group) { channel, outcome in
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.pipeline.syncOperations.addHandler(HTTPStatusHandler(request: request, outcome: outcome))
        }
    }

    /// Passes when a TCP connection is established (it is closed at once, without sending
    /// anything).
    public static func tcp(host: String = "127.0.0.1", port: Int, timeout: Duration,
                           group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async -> ProbeResult {
        await probe(host: host, port: port, timeout: timeout, group: group) { channel, outcome in
            try channel.pipeline.syncOperations.addHandler(ConnectedHandler(outcome: outcome))
        }
    }

    /// Connects, lets the handlers that `setUp` installs decide, and closes. Everything runs
    /// on one event loop, and the first to complete `outcome` wins (NIO ignores later
    /// completions): the handlers' verdict, a connect error, or the deadline.
    private static func probe(
        host: String, port: Int, timeout: Duration, group: any EventLoopGroup,
        setUp: @escaping @Sendable (any Channel, EventLoopPromise<ProbeResult>) throws -> Void
    ) async -> ProbeResult {
        guard (1...65535).contains(port) else { return .failed("invalid port \(port)") }
        let eventLoop = group.next()
        let outcome = eventLoop.makePromise(of: ProbeResult.self)
        let timedOut = ProbeResult.failed("timeout after \(ProbeFailure.format(timeout))")
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) { outcome.succeed(timedOut) }
        outcome.futureResult.whenComplete { _ in deadline.cancel() }

        let bootstrap = ClientBootstrap(group: eventLoop)
            // Gives up the connection attempt itself, not only the wait for it.
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try setUp(channel, outcome) }
            }
        let connected: EventLoopFuture<any Channel>
        if let address = try? SocketAddress(ipAddress: host, port: port) {
            connected = bootstrap.connect(to: address)
        } else {
            connected = bootstrap.connect(host: host, port: port)
        }
        connected.whenComplete { result in
            switch result {
            case .success(let channel):
                outcome.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure(let error):
                outcome.succeed(ProbeFailure.connectFailed(error, host: host, timedOut: timedOut))
            }
        }
        // The future is only ever succeeded, so this cannot fall back; but a probe must answer.
        return (try? await outcome.futureResult.get()) ?? .failed("probe abandoned")
    }

    /// `127.0.0.1:8080`, `[::1]:8080`: the port is always named, since a replica's port is
    /// never the scheme's default.
    static func hostHeader(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
