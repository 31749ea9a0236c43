import DroverWire
import Hummingbird
import NIOCore

/// The host: whether it is drained, drain and undrain, Prometheus metrics.
extension APIServer {
    func addHostRoutes(to router: APIRouter) {
        read(Routes.host, in: router) { _, _ in
            HostStatus(drained: await supervisor.drained)
        }
        mutate(Routes.drain, in: router) { body, _ in
            // The body is optional.
            let drain = body.isEmpty ? DrainRequest() : try RequestParsing.decode(DrainRequest.self, body)
            return EvictResponse(evicted: try await supervisor.drain(grace: try RequestParsing.grace(drain.grace)))
        }
        mutate(Routes.undrain, in: router) { _, _ in
            try await supervisor.undrain()
            return HostStatus(drained: false)
        }
        on(Routes.metrics, in: router) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await metrics.render(supervisor))))
        }
    }
}
