import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// How the test HTTP server answers a request (it reads the whole request head first).
enum Answer: Sendable {
    /// `HTTP/1.1 <code>` with a two-byte body, left open for the client to close.
    case status(Int)
    /// `200`, but only after `delay`.
    case slow(Duration)
    /// Not HTTP at all: an SSH greeting, and the connection left open.
    case garbage
    /// Closes the connection without a word.
    case close
}

/// A real HTTP-ish server on 127.0.0.1 and a free port, answering every connection the same
/// way, and keeping each request head it received for the test to look at.
final class TestHTTPServer: Sendable {
    let port: Int
    private let listener: any Channel
    private let connections: NIOLockedValueBox<[any Channel]>
    private let received: NIOLockedValueBox<[String]>

    private init(listener: any Channel, connections: NIOLockedValueBox<[any Channel]>,
                 received: NIOLockedValueBox<[String]>) {
        self.listener = listener
        self.port = listener.localAddress!.port!
        self.connections = connections
        self.received = received
    }

    /// The request heads received so far, in order.
    var requests: [String] { received.withLockedValue { $0 } }

    static func start(_ answer: Answer) async throws -> TestHTTPServer {
        let connections = NIOLockedValueBox<[any Channel]>([])
        let received = NIOLockedValueBox<[String]>([])
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.withLockedValue { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AnswerHandler(answer: answer, received: received))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestHTTPServer(listener: listener, connections: connections, received: received)
    }

    /// Stops listening and closes every connection it accepted.
    func stop() async {
        try? await listener.close()
        for connection in connections.withLockedValue({ $0 }) {
            try? await connection.close()
        }
    }
}

/// Runs `body` with a server answering `answer`, and stops the server whatever happens.
func withServer<T>(_ answer: Answer, _ body: (TestHTTPServer) async throws -> T) async throws -> T {
    let server = try await TestHTTPServer.start(answer)
    do {
        let value = try await body(server)
        await server.stop()
        return value
    } catch {
        await server.stop()
        throw error
    }
}

private final class AnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answer: Answer
    private let received: NIOLockedValueBox<[String]>
    private var head = ""
    private var answered = false

    init(answer: Answer, received: NIOLockedValueBox<[String]>) {
        self.answer = answer
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        head += buffer.readString(length: buffer.readableBytes) ?? ""
        guard !answered, head.contains("\r\n\r\n") else { return }
        answered = true
        let request = head
        received.withLockedValue { $0.append(request) }
        switch answer {
        case .status(let code):
            write(status: code, context: context)
        case .slow(let delay):
            context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                self.write(status: 200, context: context)
            }
        case .garbage:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")), promise: nil)
        case .close:
            context.close(promise: nil)
        }
    }

    private func write(status code: Int, context: ChannelHandlerContext) {
        let response = "HTTP/1.1 \(code) Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
    }
}

/// A socket on 127.0.0.1 at a port the kernel picks, held while the value lives:
/// - `.closed`: bound, never listening: a connect is refused, and no test running in
///   parallel can take the port meanwhile (a port merely closed again could be handed to the
///   next bind(0));
/// - `.fullBacklog`: listening with a backlog of 0 and never accepting: once one connection
///   is queued, Linux drops further SYNs, so a connect neither succeeds nor is refused, and
///   only a timeout ends it.
final class HeldPort {
    enum Kind { case closed, fullBacklog }
    let port: Int
    private let descriptor: Int32

    init(_ kind: Kind) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && (kind == .closed || listen(descriptor, 0) == 0)
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            let error = IOError(errnoCode: errno, reason: "bind/listen")
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
