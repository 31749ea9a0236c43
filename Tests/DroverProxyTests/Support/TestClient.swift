import NIOCore
import NIOPosix

struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

/// A client of the proxy over a real socket: sends, half-closes, and awaits what arrives
/// (every wait bounded by `timeout`).
struct TestClient: Sendable {
    let channel: Channel
    /// Held here, not looked up in the pipeline: a closed channel's pipeline is emptied.
    private let collector: NIOLoopBound<Collector>
    var timeout: TimeAmount = .seconds(60)

    /// `paused`: nothing is read until `resume()` (a slow reader).
    static func connect(port: Int, group: EventLoopGroup, paused: Bool = false) async throws -> TestClient {
        let eventLoop = group.next()
        let collector = try await eventLoop.submit { NIOLoopBound(Collector(eventLoop: eventLoop), eventLoop: eventLoop) }.get()
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: !paused)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(collector.value)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TestClient(channel: channel, collector: collector)
    }

    func send(_ buffer: ByteBuffer) async throws {
        try await channel.writeAndFlush(buffer)
    }

    func send(_ text: String) async throws {
        try await send(ByteBuffer(string: text))
    }

    /// Sends EOF; the other direction stays open.
    func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    func resume() async throws {
        try await channel.setOption(.autoRead, value: true).get()
    }

    func close() async {
        try? await channel.close()
    }

    /// The next `count` bytes; fails if the connection ends first.
    func read(count: Int) async throws -> ByteBuffer {
        try await wait("\(count) bytes") { collector in
            if collector.received.readableBytes >= count { return collector.received.readSlice(length: count) }
            if collector.ended { throw TestFailure(description: "connection ended after \(collector.received.readableBytes) of \(count) bytes") }
            return nil
        }
    }

    /// The next line, without its newline.
    func readLine() async throws -> String {
        try await wait("a line") { collector in
            if let newline = collector.received.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let line = collector.received.readString(length: newline - collector.received.readerIndex)!
                collector.received.moveReaderIndex(forwardBy: 1)
                return line
            }
            if collector.ended { throw TestFailure(description: "connection ended without a line") }
            return nil
        }
    }

    /// Everything until the peer's EOF (or close).
    func readToEnd() async throws -> ByteBuffer {
        try await wait("EOF") { collector in
            guard collector.ended else { return nil }
            defer { collector.received.clear() }
            return collector.received
        }
    }

    /// Evaluates `condition` on the event loop now and after every read or EOF, until it
    /// returns a value, throws, or `timeout` passes.
    private func wait<Value: Sendable>(_ what: String,
                                       _ condition: @escaping @Sendable (Collector) throws -> Value?) async throws -> Value {
        let timeout = self.timeout
        return try await channel.eventLoop.flatSubmit { [collector] in
            collector.value.wait(for: what, timeout: timeout, condition)
        }.get()
    }
}

/// Keeps what the client receives until a test asks for it.
private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    var received = ByteBuffer()
    var ended = false
    private var check: (() -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.writeBuffer(&buffer)
        check?()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            ended = true
            check?()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended = true
        check?()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A reset ends the connection like EOF does, for what the tests observe.
        context.close(promise: nil)
    }

    func wait<Value: Sendable>(for what: String, timeout: TimeAmount,
                               _ condition: @escaping @Sendable (Collector) throws -> Value?) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        let deadline = eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            check = nil
            promise.fail(TestFailure(description: "timed out after \(timeout) waiting for \(what); have \(received.readableBytes) bytes, ended: \(ended)"))
        }
        check = { [self] in
            do {
                guard let value = try condition(self) else { return }
                check = nil
                deadline.cancel()
                promise.succeed(value)
            } catch {
                check = nil
                deadline.cancel()
                promise.fail(error)
            }
        }
        check?()
        return promise.futureResult
    }

    private let eventLoop: EventLoop

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }
}
