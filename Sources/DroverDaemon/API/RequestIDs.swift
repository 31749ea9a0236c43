import DroverWire
import Foundation
import Hummingbird

/// `Drover-Request-Id` (SPEC §8, docs/API.md): a mutation sent again with the same id gets the
/// first answer and does nothing again. An id belongs to one request: its method, path and
/// body (a fingerprint); the same id on another request is refused (409), never answered
/// with the other request's answer. While the first request with an id runs, a second one
/// with that id waits for its answer here, so concurrent repeats run it once.
actor RequestIDs {
    /// An answer as stored and replayed.
    struct Answer: Sendable {
        var status: Int
        var body: Data
    }

    enum Claim: Sendable {
        /// Run the request, then `finish` the id.
        case run
        /// Already answered: replay this.
        case replay(Answer)
    }

    static let maxLength = 200

    private let store: Store
    private var running: [String: (fingerprint: String, waiters: [CheckedContinuation<Answer, Never>])] = [:]

    init(store: Store) { self.store = store }

    /// The id's fingerprint: `POST /v1/evict` and a 128-bit FNV-1a of the body, a JSON body
    /// taken with sorted keys and no spacing (a retry that encodes its keys in another order
    /// is the same request).
    static func fingerprint(method: String, path: String, body: Data) -> String {
        let canonical = (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]))
            .flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) } ?? body
        var hash: UInt128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d
        let prime: UInt128 = 0x0000_0000_0100_0000_0000_0000_0000_013B
        for byte in canonical {
            hash ^= UInt128(byte)
            hash = hash &* prime
        }
        return "\(method) \(path) \(String(hash, radix: 16))"
    }

    /// Refuses a malformed id: empty, too long, or with bytes other than printable ASCII.
    static func validate(_ id: String) throws {
        guard !id.isEmpty else {
            throw APIError(.badRequest, ErrorBody(error: "bad request id", detail: "Drover-Request-Id is empty: send a unique id or none"))
        }
        guard id.utf8.count <= maxLength, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw APIError(.badRequest, ErrorBody(error: "bad request id",
                                                  detail: "Drover-Request-Id must be 1 to \(maxLength) printable ASCII characters without spaces"))
        }
    }

    func claim(_ id: String, fingerprint: String) async throws -> Claim {
        if let first = running[id] {
            guard first.fingerprint == fingerprint else { throw Self.conflict(id) }
            let answer = await withCheckedContinuation { running[id]?.waiters.append($0) }
            return .replay(answer)
        }
        if let stored = try store.answer(forRequest: id) {
            // Ids stored before fingerprints were (nil) are replayed as before.
            if let storedFingerprint = stored.fingerprint, storedFingerprint != fingerprint { throw Self.conflict(id) }
            return .replay(Answer(status: stored.status, body: stored.body))
        }
        running[id] = (fingerprint, [])
        return .run
    }

    /// Stores the answer to a claimed id and hands it to whoever waited. Always called after
    /// `.run`, whatever happened.
    func finish(_ id: String, fingerprint: String, answer: Answer, remember: Bool) {
        if remember { try? store.remember(request: id, fingerprint: fingerprint, status: answer.status, body: answer.body) }
        let waiters = running.removeValue(forKey: id)?.waiters ?? []
        for waiter in waiters { waiter.resume(returning: answer) }
    }

    private static func conflict(_ id: String) -> APIError {
        APIError(.conflict, ErrorBody(error: "request id reused",
                                      detail: "Drover-Request-Id \"\(id)\" was already used for a different request (method, path or body): use a fresh id per request"))
    }
}
