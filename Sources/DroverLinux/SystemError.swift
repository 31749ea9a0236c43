import Glibc

/// A failed system call: which call, on what, and the errno (crun's style:
/// ``open `/sys/fs/cgroup/drover/web-0/memory.max`: EACCES (Permission denied)``).
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public var call: String
    public var object: String?
    public var errno: Int32

    public init(_ call: String, _ object: String? = nil, errno: Int32 = Glibc.errno) {
        self.call = call
        self.object = object
        self.errno = errno
    }

    public var description: String {
        let target = object.map { " `\($0)`" } ?? ""
        return "\(call)\(target): \(errnoDescription(errno))"
    }
}

/// `EADDRINUSE (Address already in use)`: the name users search for, then the C library's text.
public func errnoDescription(_ code: Int32) -> String {
    "\(errnoName(code)) (\(String(cString: strerror(code))))"
}

/// errno values callers test for, by name, without importing Glibc.
public enum Errno {
    /// ENOENT
    public static let noSuchFile: Int32 = ENOENT
    /// EADDRINUSE
    public static let addressInUse: Int32 = EADDRINUSE
}

/// `EACCES` for 13: the names users search for.
public func errnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", E2BIG: "E2BIG",
        ENOEXEC: "ENOEXEC", EBADF: "EBADF", ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
        EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", ENOTDIR: "ENOTDIR",
        EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ENOSPC: "ENOSPC",
        EROFS: "EROFS", ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS", ENOTEMPTY: "ENOTEMPTY",
        ELOOP: "ELOOP", EOPNOTSUPP: "EOPNOTSUPP", EADDRINUSE: "EADDRINUSE", ETXTBSY: "ETXTBSY",
        EADDRNOTAVAIL: "EADDRNOTAVAIL", EAFNOSUPPORT: "EAFNOSUPPORT", ENOBUFS: "ENOBUFS",
    ]
    return names[code] ?? "errno \(code)"
}
