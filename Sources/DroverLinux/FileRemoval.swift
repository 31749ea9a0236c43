import Glibc

/// Removes the file (or link, or socket) at `path`; nothing there is success. Directories:
/// `removeTree`.
public func removeFile(atPath path: String) throws(SystemError) {
    if unlink(path) != 0 && errno != ENOENT { throw SystemError("unlink", path) }
}
