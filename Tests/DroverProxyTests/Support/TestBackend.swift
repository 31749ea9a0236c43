import DroverProxy
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A replica stand-in: a real TCP server on 127.0.0.1 with an ephemeral port.
final class TestBackend: Sendable {
    enum Mode: Sendable {
        /// Echoes every byte; on EOF, finishes echoing and closes.
        case echo
        /// Sends `<id>\n` on connect, then echoes (tests see which backend served them).
        case greetThenEcho
        /// Reads until EOF, then answers with the byte count (`1048576\n`) and closes: the
        /// answer exists only if the client's EOF came through.
        case countUntilEOF
        /// Sends this many bytes on connect and closes at once, server first.
        case sendThenClose(Int)
        /// Reads until EOF, then sends this many bytes and closes.
        case replyAfterEOF(Int)
    }

    let id: String
    let port: Int
    private let server: Channel
    private let connections: NIOLockedValueBox<[ObjectIdentifier: Channel]>
    private let acceptedCount: NIOLockedValueBox<Int>
    private let localPorts: NIOLockedValueBox<[Int]>

    var backend: ServiceProxy.Backend { ServiceProxy.Backend(id: id, host: "127.0.0.1", port: port) }
    /// Connections this backend has accepted so far.
    var accepted: Int { acceptedCount.withLockedValue { $0 } }
    /// The local port of each accepted connection: this backend's own port when the proxy
    /// relayed it, the service port when the kernel steered the client's connection here.
    var acceptedOn: [Int] { localPorts.withLockedValue { $0 } }

    /// The backend as a steerable replica: its listening socket is looked for among the
    /// processes `cgroup.procs` in `cgroup` lists.
    func backend(cgroup: String) -> ServiceProxy.Backend {
        ServiceProxy.Backend(id: id, host: "127.0.0.1", port: port, cgroup: cgroup)
    }

    private init(id: String, server: Channel, connections: NIOLockedValueBox<[ObjectIdentifier: Channel]>,
                 acceptedCount: NIOLockedValueBox<Int>, localPorts: NIOLockedValueBox<[Int]>) {
        self.id = id
        self.server = server
        self.port = server.localAddress!.port!
        self.connections = connections
        self.acceptedCount = acceptedCount
        self.localPorts = localPorts
    }

    static func start(id: String, mode: Mode, group: EventLoopGroup, port: Int = 0) async throws -> TestBackend {
        let connections = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])
        let acceptedCount = NIOLockedValueBox(0)
        let localPorts = NIOLockedValueBox<[Int]>([])
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                acceptedCount.withLockedValue { $0 += 1 }
                localPorts.withLockedValue { $0.append(channel.localAddress?.port ?? 0) }
                connections.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
                channel.closeFuture.whenComplete { _ in
                    _ = connections.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(id: id, mode: mode))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return TestBackend(id: id, server: server, connections: connections, acceptedCount: acceptedCount, localPorts: localPorts)
    }

    func stop() async {
        try? await server.close()
        for channel in connections.withLockedValue({ Array($0.values) }) {
            try? await channel.close()
        }
    }
}

/// The backend's side of one connection, per `TestBackend.Mode`.
private final class BackendHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let id: String
    private let mode: TestBackend.Mode
    private var counted = 0

    init(id: String, mode: TestBackend.Mode) {
        self.id = id
        self.mode = mode
    }

    func channelActive(context: ChannelHandlerContext) {
        switch mode {
        case .greetThenEcho:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "\(id)\n")), promise: nil)
        case .sendThenClose(let count):
            let blob = ByteBuffer(repeating: UInt8(ascii: "x"), count: count)
            context.writeAndFlush(wrapOutboundOut(blob)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        case .echo, .countUntilEOF, .replyAfterEOF:
            break
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch mode {
        case .echo, .greetThenEcho:
            context.write(wrapOutboundOut(buffer), promise: nil)
        case .countUntilEOF:
            counted += buffer.readableBytes
        case .sendThenClose, .replyAfterEOF:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event else { return }
        let answer: ByteBuffer
        switch mode {
        case .countUntilEOF: answer = ByteBuffer(string: "\(counted)\n")
        case .replyAfterEOF(let count): answer = ByteBuffer(repeating: UInt8(ascii: "x"), count: count)
        case .echo, .greetThenEcho, .sendThenClose: answer = ByteBuffer()
        }
        // Close once everything is written (closing the output of a half-closed channel would
        // close it fully and drop what is still queued).
        context.writeAndFlush(wrapOutboundOut(answer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
