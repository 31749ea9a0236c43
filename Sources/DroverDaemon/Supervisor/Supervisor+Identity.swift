import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Each job's own host uid and gid (SPEC §10).
extension Supervisor {
    /// The job's own host uid and gid (SPEC §10), allocated on first use: the lowest of the
    /// range that no job holds and no account or group of this host uses.
    func identity(of job: String) throws -> HostIdentity {
        if let uid = identities[job] { return HostIdentity(uid: uid, gid: uid) }
        let taken = Set(identities.values)
        guard let uid = uidRange.first(where: { !taken.contains($0) && !isHostAccountOrGroup($0) }) else {
            throw IdentityError.exhausted(uidRange)
        }
        try store.setIdentity(job: job, uid: uid)
        identities[job] = uid
        event(subject: job, kind: "identity", message: "uid and gid \(uid)")
        return HostIdentity(uid: uid, gid: uid)
    }

    enum IdentityError: Error, CustomStringConvertible {
        case exhausted(ClosedRange<UInt32>)
        var description: String {
            switch self {
            case .exhausted(let range):
                return "no free uid in \(range.lowerBound)-\(range.upperBound) (droverd --uid-range): every one is a job's or an account's"
            }
        }
    }

    /// The host uid and gid a job's processes run as, for `ps` and `inspect` (cached per spec:
    /// a user name is looked up once, not per replica and request).
    func hostIDs(of job: String, _ spec: JobSpec) -> HostIdentity? {
        if let cached = resolvedHostIDs[job], cached.spec == spec { return cached.ids }
        let own = identities[job].map { HostIdentity(uid: $0, gid: $0) }
        var ids = own
        if let userSpec = try? spec.userSpec(), let user = try? ResolvedUser.resolve(userSpec) {
            ids = spec.hostRoot ? HostIdentity(uid: user.uid, gid: user.gid)
                : HostIdentity(uid: user.uid == 0 ? own?.uid ?? 0 : user.uid, gid: user.gid == 0 ? own?.gid ?? 0 : user.gid)
        }
        if ids != nil { resolvedHostIDs[job] = (spec, ids!) }
        return ids
    }
}
