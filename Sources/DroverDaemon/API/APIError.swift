import DroverWire
import Foundation
import Hummingbird
import Logging
import NIOCore

/// An error that becomes a JSON response: `{error, detail}` with its status (docs/API.md,
/// "Errors").
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var body: ErrorBody
    /// A 405's `Allow`: the methods the path has.
    var allow: String?
    /// A 500 for an error nothing expected: not an answer to remember for a request id (the
    /// same id may try again).
    var isUnexpected = false

    init(_ status: HTTPResponse.Status, _ body: ErrorBody) {
        self.status = status
        self.body = body
    }

    var headers: HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let allow { headers[.allow] = allow }
        return headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.sorted.encode(body))))
    }

    static let payloadTooLarge = APIError(.contentTooLarge, ErrorBody(error: "payload too large",
                                                                      detail: "the request body exceeds \(APILimits.maxBodyBytes >> 20) MiB"))

    /// The one mapping from whatever a route threw to the API's answer: our own refusals as
    /// they are, the daemon's errors by kind, Hummingbird's own (an unknown route is 404, a
    /// known path with another method 405), a body over the limit 413, anything else a short
    /// 500 (the error itself goes to droverd's log).
    init(_ error: any Error, answering request: Request) {
        switch error {
        case let error as APIError:
            self = error
        case let error as DaemonError:
            self.init(error.status, ErrorBody(error: error.status.reasonPhrase.lowercased(), detail: error.description))
        case let error as HTTPError:
            let allowed = error.status == .notFound ? Self.methods(for: request.uri.path) : []
            if !allowed.isEmpty && !allowed.contains(request.method) {
                let list = allowed.map(\.rawValue).joined(separator: ", ")
                self.init(.methodNotAllowed, ErrorBody(error: "method not allowed", detail: "\(request.uri.path) takes \(list), not \(request.method)"))
                allow = list
            } else {
                let detail = error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
                self.init(error.status, ErrorBody(error: error.status.reasonPhrase.lowercased(), detail: detail))
            }
        case is NIOTooManyBytesError:
            self = .payloadTooLarge
        default:
            Logger(label: "droverd.api").error("\(request.method) \(request.uri.path): \(String(reflecting: error))")
            self.init(.internalServerError, ErrorBody(error: "internal error",
                                                      detail: "droverd could not answer \(request.method) \(request.uri.path); its log has the cause"))
            isUnexpected = true
        }
    }

    /// The methods `path` has routes for (`Routes.all`), to tell 405 from 404.
    static func methods(for path: String) -> [HTTPRequest.Method] {
        Routes.all.filter { $0.matches(path: path) }.map(\.method.hummingbird)
    }
}

extension HTTPVerb {
    var hummingbird: HTTPRequest.Method {
        switch self {
        case .GET: return .get
        case .POST: return .post
        case .DELETE: return .delete
        }
    }
}

extension DaemonError {
    var status: HTTPResponse.Status {
        switch self {
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .badRequest: return .badRequest
        case .system: return .internalServerError
        }
    }
}

/// Every failure as JSON (`APIError.init(_:answering:)`), whatever threw it.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = DroverRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try APIError(error, answering: request).response(from: request, context: context)
        }
    }
}
