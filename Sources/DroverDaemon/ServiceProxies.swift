import DroverProxy
import DroverWire
import NIOConcurrencyHelpers
import NIOPosix

/// The service proxies (SPEC §6): one per job with `service: {port: N}`, listening on
/// `address:N` and forwarding to the job's ready replicas. Names feed them: every publish
/// and unpublish reaches `setEndpoints` synchronously, so an unpublished replica gets no new
/// connection from the moment unpublish returns.
final class ServiceProxies: Sendable {
    struct Running {
        var port: Int
        var proxy: ServiceProxy
    }

    private let address: String
    private let running = NIOLockedValueBox<[String: Running]>([:])
    private let backends = NIOLockedValueBox<[String: [ServiceProxy.Backend]]>([:])

    init(address: String) {
        self.address = address
    }

    /// The job's ready replicas changed.
    func setEndpoints(job: String, _ endpoints: [NameEndpoint]) {
        let list = endpoints.filter { $0.port > 0 }.map { ServiceProxy.Backend(id: $0.name, host: $0.host, port: $0.port) }
        // Under the same lock as `reconcile`'s start, so a proxy never misses an update.
        running.withLockedValue { running in
            backends.withLockedValue { $0[job] = list }
            running[job]?.proxy.setBackends(list)
        }
    }

    /// Makes the proxies match `services` (job → port): starts new ones, stops removed or
    /// moved ones. Returns one message per proxy that could not start.
    func reconcile(_ services: [String: Int]) async -> [(job: String, message: String)] {
        let (stale, wanted) = running.withLockedValue { running -> ([ServiceProxy], [(String, Int)]) in
            var stale: [ServiceProxy] = []
            for (job, current) in running where services[job] != current.port {
                stale.append(current.proxy)
                running[job] = nil
            }
            let wanted = services.filter { running[$0.key] == nil }.map { ($0.key, $0.value) }
            return (stale, wanted)
        }
        for proxy in stale { await proxy.stop() }
        var failures: [(job: String, message: String)] = []
        for (job, port) in wanted.sorted(by: { $0.0 < $1.0 }) {
            // A backend whose listen queue is full drops the SYN, and the kernel resends it
            // after 1 s: a connect timeout of 1 s would give up just before that.
            let proxy = ServiceProxy(name: job, address: address, port: port, group: MultiThreadedEventLoopGroup.singleton,
                                     options: .init(connectTimeout: .seconds(3)))
            do {
                try await proxy.start()
            } catch {
                failures.append((job, "\(error)"))
                continue
            }
            running.withLockedValue { running in
                running[job] = Running(port: port, proxy: proxy)
                proxy.setBackends(backends.withLockedValue { $0[job] ?? [] })
            }
        }
        return failures
    }

    func stopAll() async {
        let all = running.withLockedValue { running -> [ServiceProxy] in
            defer { running.removeAll() }
            return running.values.map(\.proxy)
        }
        for proxy in all { await proxy.stop() }
    }
}
