import DroverLinux
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A job's stable service port (SPEC §6, `service: {port: N}`): listens on `address:port` and
/// relays each TCP connection to one of the job's ready replicas, so clients never see a
/// replica come or go.
///
/// - Fast path (Linux, IPv4 address, `options.kernelSteering`): a BPF sk_lookup program hands
///   each new connection straight to a ready replica's own listening socket, found in the
///   replica's cgroup (`Backend.cgroup`), round robin; no byte passes through droverd. See
///   `KernelSteering`. Everything below is the user-space relay, which takes the connections
///   steering cannot (no socket found yet, every slot tried was empty, steering unavailable).
/// - Balancing: least open connections, ties broken round robin.
/// - A backend that refuses or does not answer within `connectTimeout` is skipped for another
///   (each at most once per client). When no untried backend is published, the client waits
///   until `backendWait` after it was accepted for one to appear, then is closed.
/// - `setBackends` takes effect before it returns: from then on no new connection goes to a
///   removed backend (SPEC §4 step 1: the replica is unpublished before its notice is sent).
///   Connections already relayed to it carry on until either side closes them.
/// - `stop` closes the listening socket at once, lets relayed connections finish for up to
///   `drainTimeout`, then closes what remains; it returns when every connection is closed.
///
/// Thread-safe: every method may be called from any thread or task.
public final class ServiceProxy: Sendable {
    /// One ready replica to relay to.
    public struct Backend: Hashable, Sendable, CustomStringConvertible {
        /// The replica's name, `web/2`: what `stats.active` is keyed by.
        public var id: String
        public var host: String
        public var port: Int
        /// The replica's cgroup directory, where kernel steering looks for the process holding
        /// its listening socket; nil: relayed in user space only.
        public var cgroup: String?

        public init(id: String, host: String, port: Int, cgroup: String? = nil) {
            self.id = id
            self.host = host
            self.port = port
            self.cgroup = cgroup
        }

        public var description: String { "\(id) (\(hostPort(host, port)))" }
    }

    public struct Options: Sendable, Equatable {
        /// How long a backend may take to accept a connection before another is tried.
        public var connectTimeout: Duration
        /// How long after it was accepted a client may wait for a backend to be published when
        /// none (or none it has not tried) is. Zero closes such a client at once.
        public var backendWait: Duration
        /// How long `stop()` lets relayed connections finish before closing them.
        public var drainTimeout: Duration
        /// Steer connections to replicas' own sockets in the kernel when possible.
        public var kernelSteering: Bool
        /// How often steering looks again for sockets it has not found (a replica published
        /// before it listens); every 25th time it also looks for sockets the kernel dropped.
        public var steeringRefresh: Duration
        /// Where to pin the steering program's link (a path in a bpf file system), so that it
        /// keeps steering while droverd is down; nil: it ends with the proxy.
        public var steeringPin: String?

        public init(connectTimeout: Duration = .seconds(1), backendWait: Duration = .seconds(1),
                    drainTimeout: Duration = .seconds(2), kernelSteering: Bool = true,
                    steeringRefresh: Duration = .milliseconds(200), steeringPin: String? = nil) {
            self.steeringPin = steeringPin
            self.connectTimeout = connectTimeout
            self.backendWait = backendWait
            self.drainTimeout = drainTimeout
            self.kernelSteering = kernelSteering
            self.steeringRefresh = steeringRefresh
        }
    }

    public struct Stats: Sendable, Equatable {
        /// Connections the kernel handed straight to a replica (never seen by the relay).
        public var steered = 0
        /// Client connections accepted by the user-space relay since start.
        public var connectionsAccepted = 0
        /// Client connections relayed to a backend.
        public var forwarded = 0
        /// Attempts on another backend after one refused, timed out, or was unpublished while
        /// being connected to.
        public var retried = 0
        /// Client connections closed because no backend could take them.
        public var failed = 0
        /// Clients waiting now for a backend to be published.
        public var waiting = 0
        /// Open (or opening) connections per backend id, including backends unpublished while
        /// connections to them are still open.
        public var active: [String: Int] = [:]

        public init() {}
    }

    public let name: String
    public let address: String
    public let port: Int
    public let options: Options
    private let group: EventLoopGroup
    private let state = NIOLockedValueBox(State())

    public init(name: String, address: String = "127.0.0.1", port: Int, group: EventLoopGroup,
                options: Options = Options()) {
        self.name = name
        self.address = address
        self.port = port
        self.group = group
        self.options = options
    }

    struct State {
        enum Phase {
            case idle
            case starting
            case listening(Channel)
            case stopped
        }

        var phase = Phase.idle
        var boundPort: Int?

        /// Clients are taken from the moment the socket is bound (which is before `start`
        /// hears of it) until `stop`.
        var isAccepting: Bool {
            switch phase {
            case .starting, .listening: return true
            case .idle, .stopped: return false
            }
        }
        var balancer = BackendBalancer()
        var steering: KernelSteering?
        var steeringStatus = "not started"
        var steeringTimer: RepeatedTask?
        /// Published backends whose host is an IP address, parsed once per publish.
        var addresses: [Backend: SocketAddress] = [:]
        var counters = Stats()
        /// Clients waiting for a backend: what wakes each.
        var waiters: [UInt64: @Sendable () -> Void] = [:]
        var nextWaiterID: UInt64 = 0
        /// Every open client and backend channel, for stop's drain.
        var open: [ObjectIdentifier: Channel] = [:]
        /// Clients not yet relayed to a backend: stop closes these at once.
        var unforwarded: Set<ObjectIdentifier> = []
        /// Completed by the last channel to close once stop has begun.
        var drained: EventLoopPromise<Void>?
        var drainCompleted = false

        /// The drain promise, once, when stop has begun and nothing is open any more.
        mutating func takeDrainedIfDone() -> EventLoopPromise<Void>? {
            guard open.isEmpty, !drainCompleted, let drained else { return nil }
            drainCompleted = true
            return drained
        }
    }

    // MARK: public API

    /// Binds the listening socket and starts accepting. Throws `ProxyError.cannotListen`
    /// naming the address, port and errno (EADDRINUSE, EACCES, ...) when the bind fails.
    public func start() async throws {
        try state.withLockedValue { state in
            guard case .idle = state.phase else { throw ProxyError.alreadyStarted(service: name) }
            state.phase = .starting
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            // Rebinding right after a restart must not fail over connections in TIME_WAIT.
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nothing is read from a client until its backend is connected.
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: RelayTuning.readAllocator)
            .childChannelOption(.writeBufferWaterMark, value: RelayTuning.writeWaterMark)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.accept(channel)
                }
            }
        let listener: Channel
        do {
            listener = try await bootstrap.bind(host: address, port: port).get()
        } catch {
            state.withLockedValue { state in
                if case .starting = state.phase { state.phase = .idle }
            }
            throw listenError(error)
        }
        let stoppedMeanwhile = state.withLockedValue { state -> Bool in
            guard case .starting = state.phase else { return true }
            state.phase = .listening(listener)
            state.boundPort = listener.localAddress?.port
            startSteering(&state, port: state.boundPort ?? port)
            return false
        }
        if stoppedMeanwhile { try? await listener.close() }
    }

    /// How connections reach replicas: `kernel (sk_lookup)` or why only the user-space relay.
    public var steeringStatus: String {
        state.withLockedValue { $0.steeringStatus }
    }

    /// Whether new connections are steered in the kernel now: steering is attached and the
    /// listening socket of every published replica is in its map.
    public var isSteering: Bool {
        state.withLockedValue { $0.steering?.isSteering ?? false }
    }

    private func startSteering(_ state: inout State, port: Int) {
        guard options.kernelSteering else {
            state.steeringStatus = "user-space relay (kernel steering turned off)"
            return
        }
        switch KernelSteering.attach(address: address, port: port, pin: options.steeringPin) {
        case .failure(let why):
            state.steeringStatus = "user-space relay: \(why)"
        case .success(var steering):
            steering.update(published: state.balancer.backends)
            state.steering = steering
            state.steeringStatus = "kernel (sk_lookup)" + (steering.pin.map { ", pinned at \($0)" } ?? "")
            let period = TimeAmount(options.steeringRefresh)
            let ticks = NIOLockedValueBox(0)
            state.steeringTimer = group.next().scheduleRepeatedTask(initialDelay: period, delay: period) { [self] _ in
                let checkSlots = ticks.withLockedValue { tick in
                    tick += 1
                    return tick % 25 == 0
                }
                self.state.withLockedValue { state in state.steering?.refresh(checkSlots: checkSlots) }
            }
        }
    }

    /// The port actually listened on (differs from `port` when that was 0), nil when not
    /// listening.
    public var listeningPort: Int? {
        state.withLockedValue { state in
            if case .listening = state.phase { return state.boundPort }
            return nil
        }
    }

    /// Stops accepting (the port is free when this returns), closes clients not yet relayed,
    /// gives relayed connections up to `options.drainTimeout` to finish, then closes the rest.
    /// Returns when every connection is closed. Safe to call more than once.
    /// `keepSteering`: a pinned steering program stays (droverd going away while its replicas
    /// stay); otherwise it is unpinned and detached.
    public func stop(keepSteering: Bool = false) async {
        let loop = group.next()
        let (listener, unforwarded, drained, drainedNow) = state.withLockedValue { state in
            var listener: Channel?
            if case .listening(let channel) = state.phase { listener = channel }
            state.phase = .stopped
            state.steeringTimer?.cancel()
            state.steeringTimer = nil
            state.steering?.detach(keepPinned: keepSteering)
            state.steering = nil
            // Their clients are among the unforwarded, closed below.
            state.waiters.removeAll()
            let unforwarded = state.unforwarded.compactMap { state.open[$0] }
            let drained = state.drained ?? loop.makePromise(of: Void.self)
            state.drained = drained
            return (listener, unforwarded, drained, state.takeDrainedIfDone())
        }
        drainedNow?.succeed(())
        try? await listener?.close()
        for client in unforwarded { client.close(promise: nil) }
        let deadline = loop.scheduleTask(in: TimeAmount(options.drainTimeout)) { [self] in
            for channel in state.withLockedValue({ Array($0.open.values) }) { channel.close(promise: nil) }
        }
        try? await drained.futureResult.get()
        deadline.cancel()
    }

    /// Replaces the set of backends. Takes effect before it returns: no client accepted or
    /// retried from then on is relayed to a backend missing from `backends`. A connect to a
    /// removed backend already under way is dropped when it completes and its client goes
    /// elsewhere (so the replica may see a connection open and close without a byte).
    /// Connections already relayed to a removed backend are left alone.
    public func setBackends(_ backends: [Backend]) {
        var addresses: [Backend: SocketAddress] = [:]
        for backend in backends {
            addresses[backend] = try? SocketAddress(ipAddress: backend.host, port: backend.port)
        }
        let wake = state.withLockedValue { state -> [@Sendable () -> Void] in
            state.addresses = addresses
            let appeared = state.balancer.publish(backends)
            state.steering?.update(published: state.balancer.backends)
            guard appeared, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in wake { waiter() }
    }

    public var stats: Stats {
        state.withLockedValue { state in
            var stats = state.counters
            stats.steered = state.steering?.steered ?? 0
            stats.waiting = state.waiters.count
            for (backend, count) in state.balancer.active { stats.active[backend.id, default: 0] += count }
            return stats
        }
    }

    // MARK: for BackendConnector (on the client's event loop)

    enum Reservation {
        /// Connect here; release the backend if that fails.
        case connect(Backend, SocketAddress?)
        /// Nothing to try yet; the waiter registered under this id runs when backends change.
        case wait(UInt64)
        case giveUp
    }

    /// Picks an untried backend, or registers `waiter` when none is published and the client
    /// may still wait, or says to give up. One lock, so a backend published meanwhile is
    /// never missed.
    func reserve(excluding tried: Set<Backend>, mayWait: Bool, waiter: @escaping @Sendable () -> Void) -> Reservation {
        state.withLockedValue { state in
            guard state.isAccepting else { return .giveUp }
            if let backend = state.balancer.pick(excluding: tried) {
                if !tried.isEmpty { state.counters.retried += 1 }
                return .connect(backend, state.addresses[backend])
            }
            guard mayWait else {
                state.counters.failed += 1
                return .giveUp
            }
            state.nextWaiterID += 1
            state.waiters[state.nextWaiterID] = waiter
            return .wait(state.nextWaiterID)
        }
    }

    func cancelWait(_ id: UInt64) {
        _ = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
    }

    func release(_ backend: Backend) {
        state.withLockedValue { $0.balancer.release(backend) }
    }

    /// A connection to `backend` was established. True when it may carry the client: the
    /// backend is still published and the proxy still running. Otherwise the caller closes it
    /// (and the reservation is released here).
    func commit(_ backend: Backend, channel: Channel, client: Channel) -> Bool {
        let committed = state.withLockedValue { state -> Bool in
            guard state.isAccepting, state.balancer.isPublished(backend) else {
                state.balancer.release(backend)
                return false
            }
            state.counters.forwarded += 1
            state.open[ObjectIdentifier(channel)] = channel
            state.unforwarded.remove(ObjectIdentifier(client))
            return true
        }
        if committed {
            // Outside the lock: an already complete closeFuture runs the callback at once.
            channel.closeFuture.whenComplete { [self] _ in relayEnded(backend, channel) }
        }
        return committed
    }

    // MARK: private

    private func accept(_ client: Channel) throws {
        let accepted = state.withLockedValue { state -> Bool in
            guard state.isAccepting else { return false }
            state.counters.connectionsAccepted += 1
            state.open[ObjectIdentifier(client)] = client
            state.unforwarded.insert(ObjectIdentifier(client))
            return true
        }
        guard accepted else {
            // Accepted just as stop began.
            client.close(promise: nil)
            return
        }
        client.closeFuture.whenComplete { [self] _ in forget(client) }
        let glue = GlueHandler()
        let waitUntil = NIODeadline.now() + TimeAmount(options.backendWait)
        try client.pipeline.syncOperations.addHandlers(
            BackendConnector(proxy: self, glue: glue, waitUntil: waitUntil,
                             connectTimeout: TimeAmount(options.connectTimeout)),
            glue
        )
    }

    private func relayEnded(_ backend: Backend, _ channel: Channel) {
        state.withLockedValue { $0.balancer.release(backend) }
        forget(channel)
    }

    private func forget(_ channel: Channel) {
        let drained = state.withLockedValue { state -> EventLoopPromise<Void>? in
            state.open.removeValue(forKey: ObjectIdentifier(channel))
            state.unforwarded.remove(ObjectIdentifier(channel))
            return state.takeDrainedIfDone()
        }
        drained?.succeed(())
    }

    private func listenError(_ error: Error) -> ProxyError {
        if let ioError = error as? IOError {
            return .cannotListen(service: name, address: address, port: port, errno: ioError.errnoCode,
                                 detail: errnoDescription(ioError.errnoCode))
        }
        if let addressError = error as? SocketAddressError, case .unknown = addressError {
            return .cannotListen(service: name, address: address, port: port, errno: nil,
                                 detail: "`\(address)` is not an address of this host")
        }
        return .cannotListen(service: name, address: address, port: port, errno: nil, detail: "\(error)")
    }
}
