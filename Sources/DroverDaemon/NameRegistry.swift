import DroverLinux
import DroverWire
import Foundation
import NIOConcurrencyHelpers

/// Names (SPEC §6): `web/2` is one replica, `web` the set of ready ones. The supervisor
/// publishes a replica when it becomes ready and unpublishes it before anything tells it to
/// go; both take effect before they return: the registry, the published files and the service
/// proxies (through `onChange`) all see the new set at once. Readers can wait for the next
/// change (`watch`), for clients that follow a name.
final class NameRegistry: Sendable {
    struct State {
        var version: UInt64 = 1
        /// job → index → endpoint
        var published: [String: [Int: NameEndpoint]] = [:]
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// Where the `host:port` files go: `<runtime>/names/<job>`, for programs that cannot speak
    /// HTTP (atomically replaced).
    let directory: String
    /// Called with a job and its ready endpoints after every change (the service proxy).
    let onChange: @Sendable (String, [NameEndpoint]) -> Void

    init(directory: String, onChange: @escaping @Sendable (String, [NameEndpoint]) -> Void) {
        self.directory = directory
        self.onChange = onChange
        // Readable by every replica (bound read-only into sandboxes) and host program, whatever
        // droverd's umask: names are not secrets.
        do {
            try FileManager.default.createDirectory(atPath: (directory as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try makeDirectory(atPath: directory, mode: StatePermissions.sharedDirectory)
        } catch {
            // Only the files are lost: names still resolve through the API.
        }
    }

    func publish(_ endpoint: NameEndpoint, job: String, index: Int) {
        change(job) { $0[index] = endpoint }
    }

    func unpublish(job: String, index: Int) {
        change(job) { $0[index] = nil }
    }

    private func change(_ job: String, _ body: (inout [Int: NameEndpoint]) -> Void) {
        let (endpoints, waiters): ([NameEndpoint], [CheckedContinuation<Void, Never>]) = state.withLockedValue { state in
            var set = state.published[job] ?? [:]
            let before = set
            body(&set)
            guard set != before else { return (set.keys.sorted().map { set[$0]! }, []) }
            state.published[job] = set.isEmpty ? nil : set
            state.version += 1
            let waiting = Array(state.waiters.values)
            state.waiters.removeAll()
            return (set.keys.sorted().map { set[$0]! }, waiting)
        }
        onChange(job, endpoints)
        writeFile(job, endpoints)
        for waiter in waiters { waiter.resume() }
    }

    /// `web` → its ready replicas; `web/2` → that replica if it is published.
    func resolve(job: String, index: Int?) -> NameAnswer {
        state.withLockedValue { state in
            let set = state.published[job] ?? [:]
            let endpoints: [NameEndpoint]
            if let index { endpoints = set[index].map { [$0] } ?? [] } else { endpoints = set.keys.sorted().map { set[$0]! } }
            return NameAnswer(name: index.map { "\(job)/\($0)" } ?? job, version: state.version, endpoints: endpoints)
        }
    }

    /// Returns when the registry's version differs from `version` (at once if it already
    /// does), or after `timeout`.
    func wait(untilNot version: UInt64, timeout: Duration) async {
        let id = UUID()
        let deadline = Task {
            try? await Task.sleep(for: timeout)
            self.wake(id)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.version != version { return true }
                state.waiters[id] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        deadline.cancel()
    }

    private func wake(_ id: UUID) {
        state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
    }

    private func writeFile(_ job: String, _ endpoints: [NameEndpoint]) {
        let text = endpoints.map { "\($0.host):\($0.port)\n" }.joined()
        do {
            try writeFileAtomically(atPath: directory + "/" + job, contents: Array(text.utf8), mode: StatePermissions.sharedFile)
        } catch {
            // Only the file is stale: names still resolve through the API.
        }
    }

    func removeFile(_ job: String) {
        do { try DroverLinux.removeFile(atPath: directory + "/" + job) } catch {
            // Left behind it names a job that is gone; the next publish of that name replaces it.
        }
    }
}
