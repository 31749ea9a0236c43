import Glibc

/// Removes the file (or link, or socket) at `path`; nothing there is success. Directories:
/// `removeTree`, or `removeEmptyDirectory`.
public func removeFile(atPath path: String) throws(SystemError) {
    if unlink(path) != 0 && errno != ENOENT { throw SystemError("unlink", path) }
}

/// Removes the directory at `path` if it is empty (`rmdir`). One that still holds something,
/// or is not there, is left as it is: false. Other failures (EACCES, ENOTDIR, ...) throw.
@discardableResult
public func removeEmptyDirectory(atPath path: String) throws(SystemError) -> Bool {
    if rmdir(path) == 0 { return true }
    switch errno {
    case ENOTEMPTY, EEXIST, ENOENT: return false
    default: throw SystemError("rmdir", path)
    }
}
