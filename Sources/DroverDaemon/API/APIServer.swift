import DroverCore
import DroverLinux
import DroverWire
import Foundation
import Glibc
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The API (SPEC §8): HTTP/1.1 + JSON on a Unix socket, mode 0660, group `drover`. Reads are
/// open to whoever may connect; mutations need root or the `drover` group, checked on the
/// peer's credentials (SO_PEERCRED), not on anything the client says, and a peer that is in
/// no sandbox (its cgroup: `SandboxPeers.swift`). Errors are `{error, detail}` with a 4xx/5xx
/// status, whatever failed (`ConnectionGuard` for what never reaches a route). Mutations with
/// a `Drover-Request-Id` header are idempotent: a repeated id gets the first answer
/// (`RequestIDs`).
struct APIServer {
    let supervisor: Supervisor
    let store: Store
    let requestIDs: RequestIDs
    let names: NameRegistry
    let metrics: DaemonMetrics
    /// droverd's cgroup tree: a peer inside it is a sandbox's process, refused any mutation.
    let sandboxes: CgroupTree
    let parse: @Sendable ([ApplyFile]) -> Result<[JobSpec], ConfigRejection>

    struct ConfigRejection: Error {
        var errors: [String]
    }

    func router() -> Router<DroverRequestContext> {
        let router = Router(context: DroverRequestContext.self)
        router.middlewares.add(ErrorMiddleware())
        let v1 = router.group("v1")
        v1.post("apply") { request, context in
            try await mutation(request, context) { body in
                let apply = try decode(ApplyRequest.self, body)
                // No file is not "no jobs": it would delete every job.
                guard !apply.files.isEmpty else {
                    throw APIError(.badRequest, ErrorBody(error: "invalid config", detail: "no jobs file given"))
                }
                switch parse(apply.files) {
                case .failure(let rejection):
                    throw APIError(.badRequest, ErrorBody(error: "invalid config",
                                                          detail: rejection.errors.joined(separator: "\n"),
                                                          errors: rejection.errors))
                case .success(let specs):
                    let result = try await supervisor.apply(specs, dryRun: apply.dryRun)
                    return try encode(ApplyResponse(created: result.created, changed: result.changed, unchanged: result.unchanged,
                                                    deleted: result.deleted, dryRun: apply.dryRun))
                }
            }
        }
        v1.get("jobs") { _, _ in
            try json(await supervisor.status())
        }
        v1.get("jobs/:job") { _, context in
            let name = try context.parameters.require("job")
            guard let job = await supervisor.status(job: name).first else {
                throw APIError(.notFound, ErrorBody(error: "not found", detail: "no job named \"\(name)\""))
            }
            return try json(job)
        }
        for action in ["stop", "start"] {
            v1.post("jobs/:job/\(action)") { request, context in
                let name = try context.parameters.require("job")
                return try await mutation(request, context) { _ in
                    try await supervisor.setStopped(name, action == "stop")
                    return try encode(ActionResponse(job: name, action: action, message: "job \(name) \(action == "stop" ? "stopped" : "started")"))
                }
            }
        }
        v1.delete("jobs/:job") { request, context in
            let name = try context.parameters.require("job")
            return try await mutation(request, context) { _ in
                try await supervisor.delete(name)
                return try encode(ActionResponse(job: name, action: "delete", message: "job \(name) deleted"))
            }
        }
        v1.post("evict") { request, context in
            try await mutation(request, context) { body in
                let evict = try decode(EvictRequest.self, body)
                let grace = try evict.grace.map { text throws -> Duration in
                    do { return try Quantity.duration(text) } catch {
                        throw APIError(.badRequest, ErrorBody(error: "bad grace", detail: "grace \(error)"))
                    }
                }
                let (job, index) = try parseReplicaName(evict.name)
                return try encode(EvictResponse(evicted: try await supervisor.evict(job: job, index: index, grace: grace, note: evict.reason)))
            }
        }
        v1.post("drain") { request, context in
            try await mutation(request, context) { body in
                let drain = body.isEmpty ? DrainRequest() : try decode(DrainRequest.self, body)
                let grace = try drain.grace.map { text throws -> Duration in
                    do { return try Quantity.duration(text) } catch {
                        throw APIError(.badRequest, ErrorBody(error: "bad grace", detail: "grace \(error)"))
                    }
                }
                return try encode(EvictResponse(evicted: try await supervisor.drain(grace: grace)))
            }
        }
        v1.post("undrain") { request, context in
            try await mutation(request, context) { _ in
                try await supervisor.undrain()
                return try encode(HostStatus(drained: false))
            }
        }
        v1.get("host") { _, _ in
            try json(HostStatus(drained: await supervisor.drained))
        }
        v1.get("replicas/:job/:index") { _, context in
            let key = try replicaKey(context)
            guard let replica = await supervisor.replicaStatus(key) else {
                throw APIError(.notFound, ErrorBody(error: "not found", detail: "no replica \(key)"))
            }
            return try json(replica)
        }
        v1.get("logs/:job/:index") { request, context in
            let key = try replicaKey(context)
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
        v1.get("events") { request, context in
            let since = request.uri.queryParameters["since"].flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0) }
            let subject = request.uri.queryParameters["subject"].map(String.init)
            let follow = request.uri.queryParameters["follow"] == "1"
            await supervisor.syncWrites()
            let first = try store.events(after: 0, since: since, subject: subject)
            guard follow else { return try json(first) }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init { writer in
                var last: Int64 = 0
                var batch = first
                while following(context.channel) {
                    for event in batch {
                        var line = try JSONEncoder.sorted.encode(event)
                        line.append(UInt8(ascii: "\n"))
                        try await writer.write(ByteBuffer(bytes: line))
                        last = event.id
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    batch = try store.events(after: last, since: nil, subject: subject)
                }
                try await writer.finish(nil)
            })
        }
        // Names (SPEC §6): `web` (ready replicas) or `web/2`; `?watch=VERSION&timeout=30s`
        // answers when the set has changed since VERSION (at once if it already has).
        let resolve: @Sendable (Request, any Channel, String, Int?) async throws -> Response = { request, channel, job, index in
            if let watched = request.uri.queryParameters["watch"].flatMap({ UInt64($0) }) {
                let timeout = (request.uri.queryParameters["timeout"].flatMap { try? Quantity.duration(String($0)) }) ?? .seconds(30)
                // In short waits: a client that went away, or droverd shutting down, ends it.
                let deadline = ContinuousClock.now + min(timeout, .seconds(300))
                while following(channel), names.resolve(job: job, index: index).version == watched, ContinuousClock.now < deadline {
                    await names.wait(untilNot: watched, timeout: min(deadline - ContinuousClock.now, .milliseconds(250)))
                }
            }
            return try json(names.resolve(job: job, index: index))
        }
        v1.get("names/:job") { request, context in
            let (job, index) = try parseReplicaName(context.parameters.require("job")) // web or 2.web
            return try await resolve(request, context.channel, job, index)
        }
        v1.get("names/:job/:index") { request, context in
            let key = try replicaKey(context)
            return try await resolve(request, context.channel, key.job, key.index)
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await metrics.render(supervisor))))
        }
        return router
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
        let answer: (HTTPResponse.Status, Data)
        var remember = true
        do {
            answer = (.ok, try await body(data))
        } catch let error as APIError {
            answer = (error.status, try JSONEncoder.sorted.encode(error.body))
        } catch let error as DaemonError {
            let status = error.status
            answer = (status, try JSONEncoder.sorted.encode(ErrorBody(error: status.reasonPhrase.lowercased(), detail: error.description)))
        } catch {
            // Not an answer to remember: the same id may try again.
            remember = false
            answer = (.internalServerError, try JSONEncoder.sorted.encode(internalErrorBody(error, request)))
        }
        if let requestID {
            await requestIDs.finish(requestID, fingerprint: fingerprint, answer: .init(status: answer.0.code, body: answer.1), remember: remember)
        }
        return Response(status: answer.0, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer.1)))
    }
}

/// Whether a streaming answer goes on: its client is still connected and droverd is not
/// shutting down (docs/API.md: streams end when droverd stops).
private func following(_ channel: any Channel) -> Bool {
    channel.isActive && !Task.isCancelled && !Task.isShuttingDownGracefully
}

/// The whole body, refused with 413 past `APILimits.maxBodyBytes` (by its Content-Length
/// before reading any of it, else while reading).
private func collectBody(_ request: Request) async throws -> Data {
    let tooLarge = APIError(.contentTooLarge, ErrorBody(error: "payload too large",
                                                        detail: "the request body exceeds \(APILimits.maxBodyBytes >> 20) MiB"))
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > APILimits.maxBodyBytes { throw tooLarge }
    do {
        let bytes = try await request.body.collect(upTo: APILimits.maxBodyBytes)
        return Data(bytes.readableBytesView)
    } catch is NIOTooManyBytesError {
        throw tooLarge
    }
}

/// A 500's body: short, no Swift type dump (the error itself goes to droverd's log).
private func internalErrorBody(_ error: any Error, _ request: Request) -> ErrorBody {
    Logger(label: "droverd.api").error("\(request.method) \(request.uri.path): \(String(reflecting: error))")
    return ErrorBody(error: "internal error", detail: "droverd could not answer \(request.method) \(request.uri.path); its log has the cause")
}

extension DaemonError {
    var status: HTTPResponse.Status {
        switch self {
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .system: return .internalServerError
        }
    }
}

private func replicaKey(_ context: DroverRequestContext) throws -> Supervisor.Key {
    let job = try context.parameters.require("job")
    let indexText = try context.parameters.require("index")
    guard let index = Int(indexText), index >= 0 else {
        throw APIError(.badRequest, ErrorBody(error: "bad replica name", detail: "\"\(job)/\(indexText)\": the index must be a number"))
    }
    return Supervisor.Key(job: job, index: index)
}

/// `web/2`, `2.web` or `web`.
private func parseReplicaName(_ text: String) throws -> (job: String, index: Int?) {
    guard let name = ReplicaName.parse(text) else {
        throw APIError(.badRequest, ErrorBody(error: "bad replica name", detail: "\"\(text)\": \(ReplicaName.expected)"))
    }
    return (name.job, name.index)
}

private func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: body)
    } catch {
        throw APIError(.badRequest, ErrorBody(error: "malformed request", detail: "the body is not a valid \(T.self) JSON document: \(describeDecoding(error))"))
    }
}

private func describeDecoding(_ error: Error) -> String {
    func path(_ context: DecodingError.Context) -> String { context.codingPath.map(\.stringValue).joined(separator: ".") }
    switch error as? DecodingError {
    case .keyNotFound(let key, _)?: return "missing field \"\(key.stringValue)\""
    case .typeMismatch(let type, let context)?, .valueNotFound(let type, let context)?:
        if context.codingPath.isEmpty { return "expected a JSON object at the top level" }
        return "field \"\(path(context))\": expected \(jsonTypeName(type))"
    case .dataCorrupted(let context)?:
        return context.codingPath.isEmpty ? "not JSON" : "field \"\(path(context))\": invalid value"
    default: return "unreadable"
    }
}

private func jsonTypeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Bool.Type: return "true or false"
    case is Int.Type, is Int64.Type, is Double.Type, is UInt64.Type: return "a number"
    default: return "\(type)".hasPrefix("Array") ? "a JSON array" : "a JSON object"
    }
}

private func encode<T: Encodable>(_ value: T) throws -> Data {
    try JSONEncoder.sorted.encode(value)
}

private func json<T: Encodable>(_ value: T) throws -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encode(value))))
}

/// An error that becomes a JSON response.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var body: ErrorBody

    init(_ status: HTTPResponse.Status, _ body: ErrorBody) {
        self.status = status
        self.body = body
    }

    var headers: HTTPFields { [.contentType: "application/json"] }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encode(body))))
    }
}

/// Every failure as JSON: unknown routes (404), a known path with another method (405),
/// Hummingbird's own errors, bodies over the limit (413), anything thrown (500, short).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = DroverRequestContext

    /// Every route, to tell 405 from 404 (kept beside `APIServer.router`).
    static let routes: [(method: HTTPRequest.Method, path: String)] = [
        (.post, "/v1/apply"), (.get, "/v1/jobs"), (.get, "/v1/jobs/:"), (.post, "/v1/jobs/:/stop"), (.post, "/v1/jobs/:/start"),
        (.delete, "/v1/jobs/:"), (.post, "/v1/evict"), (.post, "/v1/drain"), (.post, "/v1/undrain"), (.get, "/v1/host"),
        (.get, "/v1/replicas/:/:"), (.get, "/v1/logs/:/:"), (.get, "/v1/events"), (.get, "/v1/names/:"), (.get, "/v1/names/:/:"),
        (.get, "/metrics"),
    ]

    /// The methods a path has routes for.
    static func methods(for path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.filter { route in
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
            return pattern.count == parts.count && zip(pattern, parts).allSatisfy { $0 == ":" || $0 == $1 }
        }.map(\.method)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as DaemonError {
            let status = error.status
            return try APIError(status, ErrorBody(error: status.reasonPhrase.lowercased(), detail: error.description)).response(from: request, context: context)
        } catch let error as HTTPError {
            if error.status == .notFound {
                let allowed = Self.methods(for: request.uri.path)
                if !allowed.isEmpty && !allowed.contains(request.method) {
                    let list = allowed.map(\.rawValue).joined(separator: ", ")
                    var response = try APIError(.methodNotAllowed, ErrorBody(error: "method not allowed",
                                                                             detail: "\(request.uri.path) takes \(list), not \(request.method)"))
                        .response(from: request, context: context)
                    response.headers[.allow] = list
                    return response
                }
            }
            let detail = error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            return try APIError(error.status, ErrorBody(error: error.status.reasonPhrase.lowercased(), detail: detail)).response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError(.contentTooLarge, ErrorBody(error: "payload too large", detail: "the request body exceeds \(APILimits.maxBodyBytes >> 20) MiB"))
                .response(from: request, context: context)
        } catch {
            return try APIError(.internalServerError, internalErrorBody(error, request)).response(from: request, context: context)
        }
    }
}

/// The request context: the connection's channel, to ask the kernel who the peer is.
struct DroverRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The group allowed to mutate besides root (SPEC §8).
    static let mutatingGroup = "drover"

    func requireMutationRights(sandboxes: CgroupTree) async throws {
        guard let credentials = try await peerCredentials() else {
            throw APIError(.forbidden, ErrorBody(error: "forbidden", detail: "cannot tell who is connected (no SO_PEERCRED)"))
        }
        // Before the uid: root inside a sandbox is refused too.
        try await requireOutsideSandboxes(sandboxes, pid: credentials.pid)
        if credentials.uid == 0 { return }
        if let group = groupID(Self.mutatingGroup), credentials.gid == group || userGroups(credentials.uid).contains(group) {
            return
        }
        throw APIError(.forbidden, ErrorBody(
            error: "forbidden",
            detail: "uid \(credentials.uid) may read but not change state: mutations need root or the \"\(Self.mutatingGroup)\" group"))
    }

    /// `struct ucred` (pid, uid, gid), which Glibc's module does not export.
    struct PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    private func peerCredentials() async throws -> PeerCredentials? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let credentials: PeerCredentials = try await provider.unsafeGetSocketOption(level: .socket, name: .init(rawValue: SO_PEERCRED)).get()
        return credentials
    }
}

private func groupID(_ name: String) -> gid_t? {
    var entry = group()
    var result: UnsafeMutablePointer<group>?
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
    return entry.gr_gid
}

private func userGroups(_ uid: uid_t) -> [gid_t] {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return [] }
    var count: Int32 = 64
    var groups = [gid_t](repeating: 0, count: 64)
    guard getgrouplist(entry.pw_name, entry.pw_gid, &groups, &count) >= 0 else { return [] }
    return Array(groups.prefix(Int(count)))
}
