import DroverCore
import DroverWire
import Hummingbird
import NIOCore

/// Names (SPEC §6): `web` (ready replicas), `web/2` or `2.web`; `?watch=VERSION&timeout=30s`
/// answers when the set has changed since VERSION (at once if it already has).
extension APIServer {
    func addNamesRoutes(to router: APIRouter) {
        read(Routes.jobNames, in: router) { request, context in
            let (job, index) = try RequestParsing.replicaName(context.parameters.require("job")) // web or 2.web
            return try await resolve(request, context.channel, job, index)
        }
        read(Routes.replicaNames, in: router) { request, context in
            let key = try RequestParsing.replicaKey(context)
            return try await resolve(request, context.channel, key.job, key.index)
        }
    }

    private func resolve(_ request: Request, _ channel: any Channel, _ job: String, _ index: Int?) async throws -> NameAnswer {
        if let watched = request.uri.queryParameters["watch"].flatMap({ UInt64($0) }) {
            let timeout = (request.uri.queryParameters["timeout"].flatMap { try? Quantity.duration(String($0)) }) ?? .seconds(30)
            // In short waits: a client that went away, or droverd shutting down, ends it.
            let deadline = ContinuousClock.now + min(timeout, .seconds(300))
            while following(channel), names.resolve(job: job, index: index).version == watched, ContinuousClock.now < deadline {
                await names.wait(untilNot: watched, timeout: min(deadline - ContinuousClock.now, .milliseconds(250)))
            }
        }
        return names.resolve(job: job, index: index)
    }
}
