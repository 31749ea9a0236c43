import Glibc

/// Sets the mode (and the owner) of what is at `path` through a descriptor opened with
/// O_NOFOLLOW: a link planted there is refused (ELOOP; ENOTDIR where a directory is
/// expected), never followed to chmod or chown what it points at. Directories above `path`
/// are the caller's own and are resolved as usual.
public func setAttributes(atPath path: String, mode: mode_t, owner: (uid: uid_t, gid: gid_t)? = nil) throws(SystemError) {
    // O_NONBLOCK: a FIFO planted there opens at once instead of waiting for a writer.
    try setAttributes(opening: path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode: mode, owner: owner)
}

/// A directory with exactly `mode` and `owner`, whatever the umask: created if missing (its
/// parent must exist), then set as `setAttributes` does, so that a link at its path is
/// refused rather than followed.
public func makeDirectory(atPath path: String, mode: mode_t, owner: (uid: uid_t, gid: gid_t)? = nil) throws(SystemError) {
    if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemError("mkdir", path) }
    try setAttributes(opening: path, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, mode: mode, owner: owner)
}

private func setAttributes(opening path: String, flags: Int32, mode: mode_t, owner: (uid: uid_t, gid: gid_t)?) throws(SystemError) {
    let fd = open(path, flags)
    guard fd >= 0 else { throw SystemError("open", path) }
    defer { close(fd) }
    if let owner, fchown(fd, owner.uid, owner.gid) != 0 { throw SystemError("fchown", path) }
    // After the chown: changing the owner clears set-id bits; the mode has the last word.
    if fchmod(fd, mode) != 0 { throw SystemError("fchmod", path) }
}

/// The mode, and with `group` the owner root:`group`, of the Unix socket a server just bound
/// at `path`. A socket cannot be opened, so both go by path (chmod, chown): only for a path
/// no one else can write to.
public func setSocketAttributes(atPath path: String, mode: mode_t, group: gid_t?) throws(SystemError) {
    if chmod(path, mode) != 0 { throw SystemError("chmod", path) }
    if let group, chown(path, 0, group) != 0 { throw SystemError("chown", path) }
}

/// A file's permission bits (mode_t), for callers that do not import Glibc.
public typealias FileMode = mode_t
