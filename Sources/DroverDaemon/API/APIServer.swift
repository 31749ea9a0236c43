import DroverCore
import DroverLinux
import DroverWire
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The API (SPEC §8): HTTP/1.1 + JSON on a Unix socket, mode 0660, group `drover`, on the
/// routes of `Routes` (DroverWire). Reads are open to whoever may connect; mutations need root
/// or the `drover` group, checked on the peer's credentials (SO_PEERCRED), not on anything the
/// client says, and a peer that is in no sandbox (its cgroup: `SandboxPeers.swift`). Errors
/// are `{error, detail}` with a 4xx/5xx status, whatever failed (`APIError`; `ConnectionGuard`
/// for what never reaches a route). Mutations with a `Drover-Request-Id` header are
/// idempotent: a repeated id gets the first answer (`RequestIDs`).
///
/// The handlers, by resource: `JobsRoutes`, `ReplicasRoutes`, `NamesRoutes`, `EventsRoutes`,
/// `HostRoutes`.
struct APIServer {
    let supervisor: Supervisor
    let store: Store
    let requestIDs: RequestIDs
    let names: NameRegistry
    let metrics: DaemonMetrics
    /// droverd's cgroup tree: a peer inside it is a sandbox's process, refused any mutation.
    let sandboxes: CgroupTree
    /// `--config DIR`, reloaded by `POST /v1/reload`; nil without `--config`.
    let config: ConfigSource?
    let parse: @Sendable ([ApplyFile]) -> Result<[JobSpec], ConfigRejection>

    struct ConfigRejection: Error {
        var errors: [String]
    }

    typealias APIRouter = Router<DroverRequestContext>

    func router() -> APIRouter {
        let router = APIRouter(context: DroverRequestContext.self)
        router.middlewares.add(ErrorMiddleware())
        addJobsRoutes(to: router)
        addReplicasRoutes(to: router)
        addNamesRoutes(to: router)
        addEventsRoutes(to: router)
        addHostRoutes(to: router)
        return router
    }

    // MARK: registering handlers on routes

    /// A handler of its own making (streams, text) on `route`.
    func on<Body, Answer>(_ route: Route<Body, Answer>, in router: APIRouter,
                          _ handler: @escaping @Sendable (Request, DroverRequestContext) async throws -> Response) {
        assert(Routes.all.contains(route.erased), "\(route.template) is missing from Routes.all (405 answers list the methods from there)")
        router.on(RouterPath(stringLiteral: route.template), method: route.method.hummingbird, use: handler)
    }

    /// A read: the route's answer as JSON.
    func read<Answer: Encodable & Sendable>(_ route: Route<NoBody, Answer>, in router: APIRouter,
                                 _ answer: @escaping @Sendable (Request, DroverRequestContext) async throws -> Answer) {
        on(route, in: router) { request, context in try json(await answer(request, context)) }
    }

    /// A mutation (`mutation(_:_:_:)`): `perform` gets the request body and the context.
    func mutate<Body, Answer: Encodable & Sendable>(_ route: Route<Body, Answer>, in router: APIRouter,
                                         _ perform: @escaping @Sendable (Data, DroverRequestContext) async throws -> Answer) {
        on(route, in: router) { request, context in
            try await mutation(request, context) { body in try JSONEncoder.sorted.encode(try await perform(body, context)) }
        }
    }

    /// Runs a mutating request: peer must be root or in the `drover` group; a repeated
    /// request id returns the stored first answer (`RequestIDs`).
    private func mutation(_ request: Request, _ context: DroverRequestContext,
                          _ body: @Sendable (Data) async throws -> Data) async throws -> Response {
        try await context.requireMutationRights(sandboxes: sandboxes)
        let requestID = request.headers[.init("Drover-Request-Id")!]
        if let requestID { try RequestIDs.validate(requestID) }
        let data = try await collectBody(request)
        let fingerprint = RequestIDs.fingerprint(method: request.method.rawValue, path: request.uri.path, body: data)
        if let requestID, case .replay(let stored) = try await requestIDs.claim(requestID, fingerprint: fingerprint) {
            return Response(status: .init(code: stored.status), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
        }
        let answer: (status: HTTPResponse.Status, body: Data)
        var remember = true
        do {
            answer = (.ok, try await body(data))
        } catch {
            let refusal = APIError(error, answering: request)
            answer = (refusal.status, try JSONEncoder.sorted.encode(refusal.body))
            remember = !refusal.isUnexpected
        }
        if let requestID {
            await requestIDs.finish(requestID, fingerprint: fingerprint, answer: .init(status: answer.status.code, body: answer.body), remember: remember)
        }
        return Response(status: answer.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}

/// Whether a streaming answer goes on: its client is still connected and droverd is not
/// shutting down (docs/API.md: streams end when droverd stops).
func following(_ channel: any Channel) -> Bool {
    channel.isActive && !Task.isCancelled && !Task.isShuttingDownGracefully
}

func json<T: Encodable>(_ value: T) throws -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.sorted.encode(value))))
}

/// The whole body, refused with 413 past `APILimits.maxBodyBytes` (by its Content-Length
/// before reading any of it, else while reading).
private func collectBody(_ request: Request) async throws -> Data {
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > APILimits.maxBodyBytes { throw APIError.payloadTooLarge }
    do {
        let bytes = try await request.body.collect(upTo: APILimits.maxBodyBytes)
        return Data(bytes.readableBytesView)
    } catch is NIOTooManyBytesError {
        throw APIError.payloadTooLarge
    }
}
