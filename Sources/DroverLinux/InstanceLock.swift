import Glibc

/// One droverd per state directory and per socket: an exclusive `flock` on a lock file, held
/// for the process's life (the kernel drops it when the process dies, even by SIGKILL, so a
/// crashed droverd never blocks the next). The file holds the holder's pid, for the message.
public final class InstanceLock: @unchecked Sendable {
    public let path: String
    private let fd: Int32

    public enum Failure: Error, CustomStringConvertible {
        case held(path: String, by: Int32?)
        case system(SystemError)

        public var description: String {
            switch self {
            case .held(let path, let pid):
                return "another droverd\(pid.map { " (pid \($0))" } ?? "") holds \(path): one droverd per state directory and socket"
            case .system(let error): return error.description
            }
        }
    }

    public init(path: String) throws(Failure) {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 { throw .system(SystemError("open", path)) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = Self.readPID(fd)
            close(fd)
            throw .held(path: path, by: holder)
        }
        let text = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit { close(fd) }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<count], as: UTF8.self).trimmingWhitespace())
    }
}
