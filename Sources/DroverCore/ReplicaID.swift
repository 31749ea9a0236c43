/// One replica: a job and an index (`web/2`). The one place a replica's name is parsed and
/// printed in each of its forms: `web/2` (the name users and the API write), `web.2` (its
/// cgroup leaf), `2.web` (its hostname, DNS order).
public struct ReplicaID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var job: String
    public var index: Int

    public init(job: String, index: Int) {
        self.job = job
        self.index = index
    }

    /// `web/2`.
    public var description: String { "\(job)/\(index)" }
    /// The replica's cgroup leaf under the daemon's tree: `web.2`.
    public var leafName: String { "\(job).\(index)" }
    /// The replica's hostname inside its sandbox, in DNS order: `2.web`.
    public var hostname: String { "\(index).\(job)" }

    /// `web/2` (the printed form); nil for anything else.
    public init?(_ text: String) {
        guard let slash = text.firstIndex(of: "/"), slash != text.startIndex,
              let index = Int(text[text.index(after: slash)...]), index >= 0 else { return nil }
        self.init(job: String(text[..<slash]), index: index)
    }

    /// `web.2` (a cgroup leaf's name); nil for anything else. Job names have no dots, so the
    /// last dot splits.
    public init?(leafName: String) {
        guard let dot = leafName.lastIndex(of: "."), dot != leafName.startIndex,
              let index = Int(leafName[leafName.index(after: dot)...]), index >= 0 else { return nil }
        self.init(job: String(leafName[..<dot]), index: index)
    }

    public static func < (a: ReplicaID, b: ReplicaID) -> Bool { (a.job, a.index) < (b.job, b.index) }
}
