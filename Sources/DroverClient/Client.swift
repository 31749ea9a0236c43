import DroverWire
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A client of droverd's API: HTTP/1.1 over its Unix socket, one connection per request.
public struct DroverClient: Sendable {
    public let socketPath: String

    public init(socketPath: String = API.defaultSocketPath) {
        self.socketPath = socketPath
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: Data

        /// The body decoded as `T`, or the API's `{error, detail}` as a thrown `ErrorBody`.
        public func decode<T: Decodable>(_ type: T.Type) throws -> T {
            guard (200..<300).contains(status) else { throw apiError }
            return try JSONDecoder().decode(T.self, from: body)
        }

        public var apiError: ErrorBody {
            (try? JSONDecoder().decode(ErrorBody.self, from: body))
                ?? ErrorBody(error: "HTTP \(status)", detail: String(decoding: body, as: UTF8.self))
        }
    }

    /// Sends one request and collects the whole response.
    public func request(_ method: HTTPMethod, _ path: String, body: Data? = nil, requestID: String? = nil) async throws -> Response {
        var collected = Data()
        let status = try await stream(method, path, body: body, requestID: requestID) { _, chunk in collected.append(chunk) }
        return Response(status: status, body: collected)
    }

    public func request<Body: Encodable>(_ method: HTTPMethod, _ path: String, json: Body, requestID: String? = nil) async throws -> Response {
        // Sorted: the same request encodes to the same bytes (request ids are scoped to the body).
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try await request(method, path, body: try encoder.encode(json), requestID: requestID)
    }

    /// Sends one request and hands each body chunk, with the response status, to `onChunk` as
    /// it arrives (for `logs -f` and `events -f`). Returns the status.
    public func stream(_ method: HTTPMethod, _ path: String, body: Data? = nil, requestID: String? = nil,
                       onChunk: (Int, Data) throws -> Void) async throws -> Int {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ClientError.unreachable(socketPath: socketPath, reason: ClientError.reason(error))
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "droverd")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if let requestID { headers.add(name: "Drover-Request-Id", value: requestID) }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        var status = 0
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(.head(head))
            if let body, !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            for try await part in inbound {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                case .body(let buffer):
                    try onChunk(status, Data(buffer.readableBytesView))
                case .end:
                    return
                }
            }
        }
        if status == 0 { throw ClientError.protocolError("droverd closed the connection without answering") }
        return status
    }
}

public enum ClientError: Error, CustomStringConvertible {
    case unreachable(socketPath: String, reason: String)
    case protocolError(String)

    /// `connect: ENOENT (No such file or directory)`, not NIO's description of its call.
    static func reason(_ error: Error) -> String {
        guard let io = error as? IOError else { return "\(error)" }
        let names: [Int32: String] = [ENOENT: "ENOENT", ECONNREFUSED: "ECONNREFUSED", EACCES: "EACCES", ENOTSOCK: "ENOTSOCK", EPERM: "EPERM"]
        return "connect: \(names[io.errnoCode] ?? "errno \(io.errnoCode)") (\(String(cString: strerror(io.errnoCode))))"
    }

    public var description: String {
        switch self {
        case .unreachable(let path, let reason):
            return "cannot reach droverd at \(path): \(reason); is it running? Start it with `droverd --config DIR` (or `make run`), or point --socket (or DROVER_SOCKET) at its socket"
        case .protocolError(let message):
            return message
        }
    }
}
