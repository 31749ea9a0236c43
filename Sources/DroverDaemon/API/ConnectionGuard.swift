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

/// Connections open now, shared by every connection's guard. At the limit a new connection
/// takes the place of the oldest one that has not sent a whole request head yet (it asked
/// nothing: closing it loses no answer); only when every connection is busy is it refused.
final class ConnectionCount: Sendable {
    let limit: Int
    private struct State {
        var count = 0
        var next: UInt64 = 0
        /// Connections still waiting for their first request head, by admission order.
        var idle: [UInt64: any Channel] = [:]
    }
    private let state = NIOLockedValueBox(State())

    init(limit: Int) { self.limit = limit }

    /// Counts one more and returns its ticket; nil (not counted) when every connection is busy.
    func admit(_ channel: any Channel) -> UInt64? {
        let (ticket, displaced): (UInt64?, (any Channel)?) = state.withLockedValue { state in
            var displaced: (any Channel)?
            if state.count >= limit {
                guard let oldest = state.idle.keys.min() else { return (nil, nil) }
                displaced = state.idle.removeValue(forKey: oldest)
            }
            state.count += 1
            state.next += 1
            state.idle[state.next] = channel
            return (state.next, displaced)
        }
        displaced?.close(promise: nil)
        return ticket
    }

    /// Its first request head arrived: no longer displaceable.
    func busy(_ ticket: UInt64) { _ = state.withLockedValue { $0.idle.removeValue(forKey: ticket) } }

    func release(_ ticket: UInt64) {
        state.withLockedValue { state in
            state.idle.removeValue(forKey: ticket)
            state.count -= 1
        }
    }

    var current: Int { state.withLockedValue { $0.count } }
}

/// First in the pipeline, on raw bytes: counts the connection (refusing it over the cap),
/// closes it if no whole request head arrives in time, and writes refusals straight to the
/// socket (the HTTP encoder's state does not matter: the connection closes after).
/// Only used on its channel's event loop.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connections: ConnectionCount
    private var ticket: UInt64?
    private var headSeen = false
    private var refused = false
    private var context: ChannelHandlerContext?
    private var headerDeadline: Scheduled<Void>?

    init(connections: ConnectionCount) { self.connections = connections }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard let ticket = connections.admit(context.channel) else {
            refuse(.serviceUnavailable, ErrorBody(error: "service unavailable",
                                                  detail: "droverd already serves \(connections.limit) connections, each with a request in progress; try again"))
            return
        }
        self.ticket = ticket
        headerDeadline = context.eventLoop.scheduleTask(in: .seconds(APILimits.headerTimeout)) { [weak self] in
            guard let self, !self.headSeen else { return }
            // Nothing to answer: the client has not asked anything yet.
            self.context?.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
        if let ticket { connections.release(ticket) }
        ticket = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return } // what follows a refusal is not read
        context.fireChannelRead(data)
    }

    /// A whole request head was parsed.
    func requestStarted() {
        if !headSeen, let ticket { connections.busy(ticket) }
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
