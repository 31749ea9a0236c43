/// Which backend gets the next client: the one with the fewest open connections, ties broken
/// round robin. A value with no I/O; `ServiceProxy` keeps one under its lock, so a pick and
/// the set it picks from never disagree.
struct BackendBalancer {
    typealias Backend = ServiceProxy.Backend

    /// The published set, in the order it was given (the round-robin order).
    private(set) var backends: [Backend] = []
    private var published: Set<Backend> = []
    /// Open (or being opened) connections per backend. Unpublished backends stay here until
    /// their last connection closes: they are still serving it.
    private(set) var active: [Backend: Int] = [:]
    /// Where the next tie-break scan starts.
    private var cursor = 0

    /// Replaces the published set. Returns whether a backend appeared that was not published
    /// before (clients waiting for one should look again).
    @discardableResult
    mutating func publish(_ newBackends: [Backend]) -> Bool {
        var seen = Set<Backend>()
        let ordered = newBackends.filter { seen.insert($0).inserted }
        let appeared = !seen.isSubset(of: published)
        backends = ordered
        published = seen
        cursor = ordered.isEmpty ? 0 : cursor % ordered.count
        return appeared
    }

    func isPublished(_ backend: Backend) -> Bool {
        published.contains(backend)
    }

    /// Picks a published backend not in `tried` and counts a connection to it (the caller
    /// `release`s it when that connection fails or ends). Nil when every one was tried.
    mutating func pick(excluding tried: Set<Backend>) -> Backend? {
        var best: (index: Int, load: Int)?
        for offset in 0..<backends.count {
            let index = (cursor + offset) % backends.count
            let backend = backends[index]
            if tried.contains(backend) { continue }
            let load = active[backend, default: 0]
            if best == nil || load < best!.load { best = (index, load) }
        }
        guard let best else { return nil }
        let backend = backends[best.index]
        cursor = (best.index + 1) % backends.count
        active[backend, default: 0] += 1
        return backend
    }

    mutating func release(_ backend: Backend) {
        guard let count = active[backend] else { return }
        active[backend] = count > 1 ? count - 1 : nil
    }
}
