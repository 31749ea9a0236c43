import DroverWire
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 channel with droverd's bounds around it (`APILimits`): a cap on
/// connections, a deadline for the first request head, and a JSON answer (400, or 431 for
/// headers over the limit) where the HTTP parser gives up, instead of Hummingbird's empty 400.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let responder: HTTPChannelHandler.Responder
    let connections: ConnectionCount

    static func builder(connections: ConnectionCount) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, connections: connections) }
    }

    private func inner(_ guardHandler: ConnectionGuard?) -> HTTP1Channel {
        let catcher = guardHandler.map { ParserErrorCatcher(guardHandler: $0) }
        return HTTP1Channel(
            responder: responder,
            configuration: .init(additionalChannelHandlers: catcher.map { [$0] } ?? [],
                                 idleTimeout: .seconds(APILimits.idleTimeout),
                                 httpDecoderConfiguration: .init(maxHeaderFieldSize: APILimits.maxHeaderBytes,
                                                                 maxHeaderListSize: APILimits.maxHeaderBytes)))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let guardHandler = ConnectionGuard(connections: connections)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(guardHandler, position: .first)
        }.flatMap {
            inner(guardHandler).setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner(nil).handle(value: value, logger: logger)
    }
}

/// Connections open now, shared by every connection's guard.
final class ConnectionCount: Sendable {
    let limit: Int
    private let count = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    /// Counts one more; false (and not counted) when at the limit.
    func admit() -> Bool {
        count.withLockedValue { value in
            guard value < limit else { return false }
            value += 1
            return true
        }
    }

    func release() { count.withLockedValue { $0 -= 1 } }
    var current: Int { count.withLockedValue { $0 } }
}

/// First in the pipeline, on raw bytes: counts the connection (refusing it over the cap),
/// closes it if no whole request head arrives in time, and writes refusals straight to the
/// socket (the HTTP encoder's state does not matter: the connection closes after).
/// Only used on its channel's event loop.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connections: ConnectionCount
    private var counted = false
    private var headSeen = false
    private var refused = false
    private var context: ChannelHandlerContext?
    private var headerDeadline: Scheduled<Void>?

    init(connections: ConnectionCount) { self.connections = connections }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard connections.admit() else {
            refuse(.serviceUnavailable, ErrorBody(error: "service unavailable",
                                                  detail: "droverd already serves \(connections.limit) connections; try again"))
            return
        }
        counted = true
        headerDeadline = context.eventLoop.scheduleTask(in: .seconds(APILimits.headerTimeout)) { [weak self] in
            guard let self, !self.headSeen else { return }
            // Nothing to answer: the client has not asked anything yet.
            self.context?.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
        if counted { connections.release() }
        counted = false
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return } // what follows a refusal is not read
        context.fireChannelRead(data)
    }

    /// A whole request head was parsed.
    func requestStarted() {
        headSeen = true
        headerDeadline?.cancel()
        headerDeadline = nil
    }

    /// Answers `status` with `body` and closes the connection.
    func refuse(_ status: HTTPResponse.Status, _ body: ErrorBody) {
        guard !refused, let context else { return }
        refused = true
        let json = (try? JSONEncoder.sorted.encode(body)) ?? Data("{}".utf8)
        var buffer = context.channel.allocator.buffer(capacity: json.count + 160)
        buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\ncontent-type: application/json\r\n"
                           + "content-length: \(json.count)\r\nconnection: close\r\n\r\n")
        buffer.writeBytes(json)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
    }

    var hasRefused: Bool { refused }
}

/// After the HTTP decoder: notices the first request head, and turns the parser's errors
/// into a JSON refusal by the guard (431 for headers over `APILimits.maxHeaderBytes`).
final class ParserErrorCatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = Any // passed on untouched
    private let guardHandler: ConnectionGuard

    init(guardHandler: ConnectionGuard) { self.guardHandler = guardHandler }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guardHandler.requestStarted()
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parse = error as? HTTPParserError {
            if case .headerOverflow = parse {
                guardHandler.refuse(.init(code: 431, reasonPhrase: "Request Header Fields Too Large"),
                                    ErrorBody(error: "request header fields too large",
                                              detail: "the request line and headers exceed \(APILimits.maxHeaderBytes / 1024) KiB"))
            } else {
                guardHandler.refuse(.badRequest, ErrorBody(error: "bad request", detail: "malformed HTTP request (\(parse))"))
            }
            return
        }
        // After a refusal the decoder complains about the bytes that follow: not news.
        if guardHandler.hasRefused { return }
        context.fireErrorCaught(error)
    }
}
