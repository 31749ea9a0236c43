import Glibc

/// Replaces the file at `path` with `contents` in one step, for files others poll (a
/// replica's lameduck notice, the names files): written to `<path>.new` with exactly `mode`
/// (whatever the umask), then renamed over `path`, so a reader sees the old file or the new
/// one, never half of one. Not synced: these files matter while the host is up.
public func writeFileAtomically(atPath path: String, contents: [UInt8], mode: mode_t) throws(SystemError) {
    let temporary = path + ".new"
    // O_NOFOLLOW: a link planted at the temporary's path is refused, not written through.
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode)
    guard fd >= 0 else { throw SystemError("open", temporary) }
    var failure: SystemError?
    if fchmod(fd, mode) != 0 { failure = SystemError("fchmod", temporary) }
    var offset = 0
    while failure == nil && offset < contents.count {
        let written = contents.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written < 0 {
            if errno == EINTR { continue }
            failure = SystemError("write", temporary)
        } else {
            offset += written
        }
    }
    close(fd)
    if failure == nil && rename(temporary, path) != 0 { failure = SystemError("rename", path) }
    if let failure {
        unlink(temporary) // the half-written temporary: nobody reads it
        throw failure
    }
}
