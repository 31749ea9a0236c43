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
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = buffer.withUnsafeMutableBufferPointer { call(&entry, $0.baseAddress!, $0.count, &result) }
        guard status == 0, let found = result?.pointee else { return nil }
        return ResolvedUser(name: String(cString: found.pw_name), uid: found.pw_uid, gid: found.pw_gid,
                            home: String(cString: found.pw_dir))
    }
}

/// The id of the group named `name` in the group database, nil if there is none.
public func groupID(named name: String) -> UInt32? {
    var entry = group()
    var result: UnsafeMutablePointer<group>?
    var buffer = [CChar](repeating: 0, count: 4096)
    let status = buffer.withUnsafeMutableBufferPointer { getgrnam_r(name, &entry, $0.baseAddress!, $0.count, &result) }
    guard status == 0, let found = result?.pointee else { return nil }
    return found.gr_gid
}
