import DroverCore
import DroverLinux
import DroverProxy
import Foundation
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
    /// The cgroup directory replicas' leaves are in: kernel steering finds a replica's
    /// listening socket among the processes of its leaf.
    private let cgroupRoot: String
    private let kernelSteering: Bool
    /// A bpf file system where each service's steering link is pinned as `<job>_<port>` (bpf
    /// file systems refuse dots in names; they keep those for their own `*.debug` files), so
    /// that steering outlives droverd; nil: not pinned.
    private let pinDirectory: String?
    private let pruned = NIOLockedValueBox(false)
    private let running = NIOLockedValueBox<[String: Running]>([:])
    private let backends = NIOLockedValueBox<[String: [ServiceProxy.Backend]]>([:])

    init(address: String, cgroupRoot: String, kernelSteering: Bool, pinDirectory: String?) {
        self.pinDirectory = pinDirectory
        self.address = address
        self.cgroupRoot = cgroupRoot
        self.kernelSteering = kernelSteering
    }

    /// The job's ready replicas changed.
    func setEndpoints(job: String, _ endpoints: [NameEndpoint]) {
        let list = endpoints.filter { $0.port > 0 }.map { endpoint in
            // The supervisor names each endpoint by its replica (`web/2`).
            let leaf = ReplicaID(endpoint.name).map { cgroupRoot + "/" + $0.leafName }
            return ServiceProxy.Backend(id: endpoint.name, host: endpoint.host, port: endpoint.port, cgroup: leaf)
        }
        // Under the same lock as `reconcile`'s start, so a proxy never misses an update.
        running.withLockedValue { running in
            backends.withLockedValue { $0[job] = list }
            running[job]?.proxy.setBackends(list)
        }
    }

    /// Makes the proxies match `services` (job → port): starts new ones, stops removed or
    /// moved ones. Returns one message per proxy that could not start, and how each started
    /// one reaches replicas (kernel steering or the user-space relay, and why).
    func reconcile(_ services: [String: Int]) async -> (failures: [(job: String, message: String)], started: [(job: String, path: String)]) {
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
        var started: [(job: String, path: String)] = []
        for (job, port) in wanted.sorted(by: { $0.0 < $1.0 }) {
            // A backend whose listen queue is full drops the SYN, and the kernel resends it
            // after 1 s: a connect timeout of 1 s would give up just before that.
            let pin = pinDirectory.map { $0 + "/" + Self.pinName(job, port) }
            let proxy = ServiceProxy(name: job, address: address, port: port, group: MultiThreadedEventLoopGroup.singleton,
                                     options: .init(connectTimeout: .seconds(3), kernelSteering: kernelSteering, steeringPin: pin))
            // Known before it starts, so that its steering program (which may replace a pinned
            // one that is steering now) starts with the ready replicas in its map.
            proxy.setBackends(backends.withLockedValue { $0[job] ?? [] })
            do {
                try await proxy.start()
            } catch {
                // A program an earlier droverd pinned for this port would steer on, unmanaged.
                if let pin { try? removeFile(atPath: pin) }
                failures.append((job, "\(error)"))
                continue
            }
            running.withLockedValue { running in
                running[job] = Running(port: port, proxy: proxy)
                proxy.setBackends(backends.withLockedValue { $0[job] ?? [] })
            }
            started.append((job, proxy.steeringStatus))
        }
        // Pins an earlier droverd left for services that are gone (changed while it was down).
        if let pinDirectory, !pruned.withLockedValue({ $0 }) {
            pruned.withLockedValue { $0 = true }
            let kept = Set(services.map { Self.pinName($0.key, $0.value) })
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: pinDirectory)) ?? []
            for entry in entries where !entry.contains(".") && !kept.contains(entry) {
                try? removeFile(atPath: pinDirectory + "/" + entry)
            }
        }
        return (failures, started)
    }

    /// Each running proxy's counters and whether it steers in the kernel now.
    func snapshot() -> [(job: String, stats: ServiceProxy.Stats, steering: Bool)] {
        running.withLockedValue { running in
            running.keys.sorted().map { job in
                let proxy = running[job]!.proxy
                return (job, proxy.stats, proxy.isSteering)
            }
        }
    }

    static func pinName(_ job: String, _ port: Int) -> String { "\(job)_\(port)" }

    /// `keepSteering`: pinned steering programs stay, so the service ports keep reaching the
    /// replicas while droverd is away.
    func stopAll(keepSteering: Bool) async {
        let all = running.withLockedValue { running -> [ServiceProxy] in
            defer { running.removeAll() }
            return running.values.map(\.proxy)
        }
        for proxy in all { await proxy.stop(keepSteering: keepSteering) }
    }
}
