import NIOCore
import NIOHTTP1

/// Sends the request once connected and decides on the response's status line.
final class HTTPStatusHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let outcome: EventLoopPromise<ProbeResult>

    init(request: HTTPRequestHead, outcome: EventLoopPromise<ProbeResult>) {
        self.request = request
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let response) = unwrapInboundIn(data) else { return }
        let code = Int(response.status.code)
        outcome.succeed(ProbeResult(passed: (200..<400).contains(code), message: "HTTP \(code)"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        outcome.succeed(ProbeFailure.exchangeFailed(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        outcome.succeed(.failed("connection closed before a response"))
        context.fireChannelInactive()
    }
}

/// Passes as soon as the connection is established.
final class ConnectedHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let outcome: EventLoopPromise<ProbeResult>

    init(outcome: EventLoopPromise<ProbeResult>) {
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        outcome.succeed(ProbeResult(passed: true, message: "connected"))
        context.fireChannelActive()
    }
}
