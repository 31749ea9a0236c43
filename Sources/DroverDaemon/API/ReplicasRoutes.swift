import DroverWire
import Hummingbird
import NIOCore

/// Replicas: read one, its logs (`follow=1`: a stream), evict one or each of a job's.
extension APIServer {
    func addReplicasRoutes(to router: APIRouter) {
        read(Routes.replica, in: router) { _, context in
            let key = try RequestParsing.replicaKey(context)
            guard let replica = await supervisor.replicaStatus(key) else {
                throw APIError(.notFound, ErrorBody(error: "not found", detail: "no replica \(key)"))
            }
            return replica
        }
        on(Routes.logs, in: router) { request, context in
            let key = try RequestParsing.replicaKey(context)
            guard let logs = await supervisor.logs(key) else {
                throw APIError(.notFound, ErrorBody(error: "not found", detail: "no replica \(key)"))
            }
            let tail = request.uri.queryParameters["tail"].flatMap { Int($0) }
            let follow = request.uri.queryParameters["follow"] == "1"
            let initial = logs.tail(lines: tail)
            guard follow else {
                return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(bytes: initial)))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init { writer in
                try await writer.write(ByteBuffer(bytes: initial))
                // Follows the current file across restarts (same path) and rotations (it
                // shrinks: start again from its beginning).
                var offset = logs.size
                while following(context.channel) {
                    let (data, next) = logs.read(from: offset)
                    offset = next
                    if !data.isEmpty { try await writer.write(ByteBuffer(bytes: data)) }
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await writer.finish(nil)
            })
        }
        mutate(Routes.evict, in: router) { body, _ in
            let evict = try RequestParsing.decode(EvictRequest.self, body)
            let grace = try RequestParsing.grace(evict.grace)
            let (job, index) = try RequestParsing.replicaName(evict.name)
            return EvictResponse(evicted: try await supervisor.evict(job: job, index: index, grace: grace, note: evict.reason))
        }
    }
}
