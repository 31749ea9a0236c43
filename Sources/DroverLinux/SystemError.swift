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
        return "\(call)\(target): \(errnoName(errno)) (\(String(cString: strerror(errno))))"
    }
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
    ]
    return names[code] ?? "errno \(code)"
}
