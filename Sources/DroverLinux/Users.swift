import DroverCore
import Glibc

/// A user as the sandbox runs it: ids from the passwd database, supplementary groups cleared.
public struct ResolvedUser: Equatable, Sendable {
    public var name: String?
    public var uid: UInt32
    public var gid: UInt32
    public var home: String?

    public static func resolve(_ spec: UserSpec) throws(InputError) -> ResolvedUser {
        let user = try lookup(spec)
        for id in [user.uid, user.gid] where UserSpec.reservedIDs.contains(id) {
            throw InputError("user \"\(spec)\"", "resolves to id \(id), which is reserved ((uid_t)-1 and (uint16_t)-1 mean \"no change\" to the kernel)")
        }
        return user
    }

    private static func lookup(_ spec: UserSpec) throws(InputError) -> ResolvedUser {
        switch spec {
        case .name(let name):
            guard let entry = passwdEntry(name: name) else {
                throw InputError("user \"\(name)\"", "does not exist in the passwd database (give a name that does, or a numeric uid:gid)")
            }
            return entry
        case .id(let uid, let gid):
            var user = passwdEntry(uid: uid) ?? ResolvedUser(name: nil, uid: uid, gid: uid, home: nil)
            if let gid { user.gid = gid }
            return user
        }
    }

    private static func passwdEntry(name: String) -> ResolvedUser? {
        lookup { entry, buffer, size, result in getpwnam_r(name, entry, buffer, size, result) }
    }

    private static func passwdEntry(uid: UInt32) -> ResolvedUser? {
        lookup { entry, buffer, size, result in getpwuid_r(uid, entry, buffer, size, result) }
    }

    private static func lookup(_ call: (UnsafeMutablePointer<passwd>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<passwd>?>) -> Int32) -> ResolvedUser? {
        databaseEntry(call) { found in
            ResolvedUser(name: String(cString: found.pw_name), uid: found.pw_uid, gid: found.pw_gid, home: String(cString: found.pw_dir))
        }
    }
}

/// The id of the group named `name` in the group database, nil if there is none.
public func groupID(named name: String) -> UInt32? {
    databaseEntry({ getgrnam_r(name, $0, $1, $2, $3) }, read: \.gr_gid)
}

/// Whether an account (passwd) or a group of this host has the id: droverd gives such an id
/// to no job (SPEC §10).
public func isHostAccountOrGroup(_ id: UInt32) -> Bool {
    databaseEntry({ getpwuid_r(id, $0, $1, $2, $3) }, read: \.pw_uid) != nil
        || databaseEntry({ getgrgid_r(id, $0, $1, $2, $3) }, read: \.gr_gid) != nil
}

/// One entry of the passwd or group database through its `get*_r` call, as `read` makes of it
/// (while the strings it points to are still there), nil if there is none. ERANGE (a group
/// with many members) is tried again with a larger buffer.
private func databaseEntry<Entry, Value>(
    _ call: (UnsafeMutablePointer<Entry>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>) -> Int32,
    read: (Entry) -> Value
) -> Value? {
    let entry = UnsafeMutablePointer<Entry>.allocate(capacity: 1)
    defer { entry.deallocate() }
    var size = 4096
    while true {
        var result: UnsafeMutablePointer<Entry>?
        var buffer = [CChar](repeating: 0, count: size)
        let (status, value) = buffer.withUnsafeMutableBufferPointer { bytes -> (Int32, Value?) in
            let status = call(entry, bytes.baseAddress!, bytes.count, &result)
            return (status, status == 0 ? result.map { read($0.pointee) } : nil)
        }
        guard status == ERANGE, size < 1 << 20 else { return value }
        size *= 4
    }
}
