import DroverWire
import Foundation
import NIOHTTP1

/// droverd's API as typed calls, each built on its route in `Routes` (DroverWire): the path,
/// the method and the body types come from there, never written out here. Every call throws
/// `ClientError` when droverd cannot be reached and the API's `ErrorBody` when it refuses.
/// Mutations carry a request id (a fresh one unless given: SPEC §8, a repeated id gets the
/// first answer).
extension DroverClient {
    /// POST /v1/apply: jobs files, all-or-nothing.
    public func apply(_ request: ApplyRequest, requestID: String? = UUID().uuidString) async throws -> ApplyResponse {
        try await send(Routes.apply, Routes.apply.path(), json: request, requestID: requestID)
    }

    /// Every job with its replicas, or only `job`'s (`drover ps [JOB]`).
    public func ps(job: String? = nil) async throws -> [JobStatus] {
        guard let job else { return try await send(Routes.jobs, Routes.jobs.path()) }
        return [try await self.job(job)]
    }

    public func job(_ name: String) async throws -> JobStatus {
        try await send(Routes.job, Routes.job.path(name))
    }

    public func replica(job: String, index: Int) async throws -> ReplicaStatus {
        try await send(Routes.replica, Routes.replica.path(job, String(index)))
    }

    public func stop(job: String, requestID: String? = UUID().uuidString) async throws -> ActionResponse {
        try await send(Routes.stopJob, Routes.stopJob.path(job), requestID: requestID)
    }

    public func start(job: String, requestID: String? = UUID().uuidString) async throws -> ActionResponse {
        try await send(Routes.startJob, Routes.startJob.path(job), requestID: requestID)
    }

    public func delete(job: String, requestID: String? = UUID().uuidString) async throws -> ActionResponse {
        try await send(Routes.deleteJob, Routes.deleteJob.path(job), requestID: requestID)
    }

    public func scale(job: String, replicas: Int, requestID: String? = UUID().uuidString) async throws -> ApplyResponse {
        try await send(Routes.scaleJob, Routes.scaleJob.path(job), json: ScaleRequest(replicas: replicas), requestID: requestID)
    }

    /// A rolling restart of the job's replicas, or of one (`index`).
    public func restart(job: String, index: Int?, requestID: String? = UUID().uuidString) async throws -> EvictResponse {
        try await send(Routes.restartJob, Routes.restartJob.path(job), json: RestartRequest(index: index), requestID: requestID)
    }

    /// `droverd --config DIR` read and applied again.
    public func reload(requestID: String? = UUID().uuidString) async throws -> ApplyResponse {
        try await send(Routes.reload, Routes.reload.path(), requestID: requestID)
    }

    /// The lameduck protocol for one replica or each of a job's.
    public func evict(_ request: EvictRequest, requestID: String? = UUID().uuidString) async throws -> EvictResponse {
        try await send(Routes.evict, Routes.evict.path(), json: request, requestID: requestID)
    }

    public func drain(_ request: DrainRequest, requestID: String? = UUID().uuidString) async throws -> EvictResponse {
        try await send(Routes.drain, Routes.drain.path(), json: request, requestID: requestID)
    }

    public func undrain(requestID: String? = UUID().uuidString) async throws -> HostStatus {
        try await send(Routes.undrain, Routes.undrain.path(), requestID: requestID)
    }

    public func host() async throws -> HostStatus {
        try await send(Routes.host, Routes.host.path())
    }

    /// Where a job's ready replicas are (`index` nil) or one replica is. With `changedSince`,
    /// droverd answers once the names differ from that version, or after `timeout`.
    public func names(job: String, index: Int?, changedSince version: UInt64? = nil, timeout: String = "60s") async throws -> NameAnswer {
        let query = version.map { [(name: "watch", value: String($0)), (name: "timeout", value: timeout)] } ?? []
        guard let index else { return try await send(Routes.jobNames, Routes.jobNames.path(job, query: query)) }
        return try await send(Routes.replicaNames, Routes.replicaNames.path(job, String(index), query: query))
    }

    /// A replica's output, chunk by chunk as it arrives; with `follow`, until droverd or the
    /// caller ends it.
    public func logs(job: String, index: Int, tail: Int?, follow: Bool, onChunk: (Data) throws -> Void) async throws {
        var query = [(name: "follow", value: follow ? "1" : "0")]
        if let tail { query.append((name: "tail", value: String(tail))) }
        try await streamAnswer(Routes.logs, Routes.logs.path(job, String(index), query: query), onChunk: onChunk)
    }

    /// droverd's events (`since`: seconds since the epoch), each handed to `onEvent`; with
    /// `follow`, as they happen, until droverd or the caller ends it.
    public func events(since: Double?, follow: Bool, onEvent: (Event) throws -> Void) async throws {
        var query = [(name: "follow", value: follow ? "1" : "0")]
        if let since { query.append((name: "since", value: "\(since)")) }
        var buffer = Data()
        try await streamAnswer(Routes.events, Routes.events.path(query: query)) { chunk in
            buffer.append(chunk)
            guard follow else { return }
            // Newline-delimited events: each complete line as it arrives; an unreadable line
            // is skipped, not the end of the stream.
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[buffer.startIndex..<newline])
                buffer = Data(buffer[(newline + 1)...])
                if let event = try? JSONDecoder().decode(Event.self, from: line) { try onEvent(event) }
            }
        }
        if !follow { for event in try JSONDecoder().decode([Event].self, from: buffer) { try onEvent(event) } }
    }

    // MARK: on the routes

    private func send<Answer: Decodable>(_ route: Route<NoBody, Answer>, _ path: String, requestID: String? = nil) async throws -> Answer {
        try await request(route.method.nio, path, requestID: requestID).decode(Answer.self)
    }

    private func send<Body: Encodable, Answer: Decodable>(_ route: Route<Body, Answer>, _ path: String, json body: Body,
                                                          requestID: String?) async throws -> Answer {
        try await request(route.method.nio, path, json: body, requestID: requestID).decode(Answer.self)
    }

    /// Streams a 200 answer's body to `onChunk`; any other status is the API's error, thrown.
    private func streamAnswer<Answer>(_ route: Route<NoBody, Answer>, _ path: String, onChunk: (Data) throws -> Void) async throws {
        var refusal = Data()
        let status = try await stream(route.method.nio, path) { status, chunk in
            if status == 200 { try onChunk(chunk) } else { refusal.append(chunk) }
        }
        if status != 200 { throw Response(status: status, body: refusal).apiError }
    }
}

extension HTTPVerb {
    var nio: HTTPMethod { HTTPMethod(rawValue: rawValue) }
}
