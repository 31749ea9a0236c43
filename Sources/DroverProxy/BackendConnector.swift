import NIOCore
import NIOPosix

/// One client's way to a backend, at the front of the client's pipeline: once the client is
/// active, pick a backend, connect, on failure try another (each at most once), wait for one
/// to be published while the client may, or give up and close the client. On success the
/// client and backend are glued together and this handler leaves the pipeline.
///
/// The backend channel is created on the client's event loop, so the glued pair never hop
/// threads.
final class BackendConnector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias Backend = ServiceProxy.Backend

    private let proxy: ServiceProxy
    private let glue: GlueHandler
    private let waitUntil: NIODeadline
    private let connectTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var tried: Set<Backend> = []
    private var started = false
    private var clientGone = false
    private var waiting: (id: UInt64, timeout: Scheduled<Void>)?

    init(proxy: ServiceProxy, glue: GlueHandler, waitUntil: NIODeadline, connectTimeout: TimeAmount) {
        self.proxy = proxy
        self.glue = glue
        self.waitUntil = waitUntil
        self.connectTimeout = connectTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start() }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start()
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientGone = true
        stopWaiting()
        context.fireChannelInactive()
    }

    private func start() {
        guard !started else { return }
        started = true
        attempt()
    }

    private func attempt() {
        guard !clientGone, let context else { return }
        let eventLoop = context.eventLoop
        let mayWait = NIODeadline.now() < waitUntil
        let wake = NIOLoopBound(self, eventLoop: eventLoop)
        let reservation = proxy.reserve(excluding: tried, mayWait: mayWait) {
            eventLoop.execute { wake.value.backendsChanged() }
        }
        switch reservation {
        case .connect(let backend, let address):
            tried.insert(backend)
            connect(to: backend, at: address, context: context)
        case .wait(let id):
            let timeout = eventLoop.assumeIsolated().scheduleTask(deadline: waitUntil) { [self] in
                proxy.cancelWait(id)
                waiting = nil
                attempt()
            }
            waiting = (id, timeout)
        case .giveUp:
            context.close(promise: nil)
        }
    }

    private func backendsChanged() {
        guard waiting != nil else { return }
        stopWaiting()
        attempt()
    }

    private func stopWaiting() {
        guard let waiting else { return }
        self.waiting = nil
        waiting.timeout.cancel()
        proxy.cancelWait(waiting.id)
    }

    private func connect(to backend: Backend, at address: SocketAddress?, context: ChannelHandlerContext) {
        let bootstrap = ClientBootstrap(group: context.eventLoop)
            .connectTimeout(connectTimeout)
            // Nothing is read from the backend before it is glued to the client.
            .channelOption(.autoRead, value: false)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: RelayTuning.readAllocator)
            .channelOption(.writeBufferWaterMark, value: RelayTuning.writeWaterMark)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GlueHandler())
                }
            }
        let connecting = address.map { bootstrap.connect(to: $0) }
            ?? bootstrap.connect(host: backend.host, port: backend.port)
        connecting.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .failure:
                proxy.release(backend)
                attempt()
            case .success(let channel):
                connected(channel, to: backend)
            }
        }
    }

    private func connected(_ backendChannel: Channel, to backend: Backend) {
        guard let context, !clientGone else {
            proxy.release(backend)
            backendChannel.close(promise: nil)
            return
        }
        guard proxy.commit(backend, channel: backendChannel, client: context.channel) else {
            // Unpublished (or the proxy stopped) while connecting: the client goes elsewhere.
            backendChannel.close(promise: nil)
            attempt()
            return
        }
        let client = context.channel
        do {
            let backendGlue = try backendChannel.pipeline.syncOperations.handler(type: GlueHandler.self)
            GlueHandler.pair(glue, backendGlue)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            try client.syncOptions?.setOption(.autoRead, value: true)
            try backendChannel.syncOptions?.setOption(.autoRead, value: true)
        } catch {
            client.close(promise: nil)
            backendChannel.close(promise: nil)
        }
    }
}
