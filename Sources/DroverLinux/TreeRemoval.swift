import Glibc

/// `rm -rf` for trees a sandbox can write into (its state directory): no step ever follows a
/// symbolic link. Every call is relative to an open directory: a name is unlinked, or, if it
/// is a directory, opened with O_NOFOLLOW and emptied through that descriptor, then removed
/// from its parent. A subdirectory swapped for a link while the removal runs is unlinked as
/// the link it has become, never entered (runc's and Go's `RemoveAll`, systemd's
/// `rm_rf_children`, by the same means). A directory refilled meanwhile is emptied again, a
/// few times, then the removal fails with ENOTEMPTY.
///
/// The last component of `path` is not followed either (a link there is unlinked); the
/// directories above it are the caller's own and are resolved as usual. Nothing at `path` is
/// success: what was asked for, nothing there, holds. The walk keeps its directories on the
/// heap, one descriptor each, so a deep tree costs descriptors, never the stack.
public func removeTree(atPath path: String) throws(SystemError) {
    try removeTree(atPath: path, beforeOpening: nil)
}

/// `beforeOpening`: called with a directory's path between finding that it is a directory and
/// opening it, the moment a swap for a link would do harm, for tests to swap it then.
func removeTree(atPath path: String, beforeOpening: ((String) -> Void)?) throws(SystemError) {
    let (parentPath, name) = splitLastComponent(path)
    guard !name.isEmpty, name != ".", name != ".." else { throw SystemError("remove", path, errno: EINVAL) }
    let parent = open(parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if parent < 0 {
        if errno == ENOENT { return }
        throw SystemError("open", parentPath)
    }
    defer { close(parent) }

    var stack: [DirectoryBeingEmptied] = []
    defer { for directory in stack { closedir(directory.stream) } }
    guard let top = try unlinkOrOpen(name, in: parent, path: path, beforeOpening) else { return }
    stack.append(DirectoryBeingEmptied(stream: top, path: path, name: name, passes: 1))

    while let current = stack.last {
        if let entry = try nextEntry(current) {
            let childPath = current.path + "/" + entry
            if let child = try unlinkOrOpen(entry, in: dirfd(current.stream), path: childPath, beforeOpening) {
                stack.append(DirectoryBeingEmptied(stream: child, path: childPath, name: entry, passes: 1))
            }
            continue
        }
        // Emptied as far as its listing went: remove it from its parent.
        stack.removeLast()
        closedir(current.stream)
        let parentFD = stack.last.map { dirfd($0.stream) } ?? parent
        if unlinkat(parentFD, current.name, AT_REMOVEDIR) == 0 || errno == ENOENT { continue }
        let failure = errno
        // ENOTEMPTY/EEXIST: refilled while it was emptied; ENOTDIR: swapped for a link or a file.
        guard [ENOTEMPTY, EEXIST, ENOTDIR].contains(failure), current.passes < maximumPasses else {
            throw SystemError("unlinkat", current.path, errno: failure)
        }
        if let again = try unlinkOrOpen(current.name, in: parentFD, path: current.path, beforeOpening) {
            stack.append(DirectoryBeingEmptied(stream: again, path: current.path, name: current.name, passes: current.passes + 1))
        }
    }
}

/// How often one directory is emptied again when something keeps refilling it.
private let maximumPasses = 5

private struct DirectoryBeingEmptied {
    /// Owns the directory's descriptor.
    let stream: OpaquePointer
    /// For messages only: every call goes through descriptors.
    let path: String
    /// Its name in its parent.
    let name: String
    let passes: Int
}

/// Unlinks `name` in `directory` if it is anything but a directory (a link is unlinked, not
/// followed) and returns nil; returns it opened if it is a directory, to be emptied. Nil too
/// when it is already gone.
private func unlinkOrOpen(_ name: String, in directory: Int32, path: String,
                          _ beforeOpening: ((String) -> Void)?) throws(SystemError) -> OpaquePointer? {
    // Each round sees a different kind of entry at `name`; a sandbox swapping a directory and
    // a link back and forth can make it go round, never follow the link.
    for _ in 0..<100 {
        if unlinkat(directory, name, 0) == 0 || errno == ENOENT { return nil }
        guard errno == EISDIR else { throw SystemError("unlinkat", path) }
        beforeOpening?(path)
        let fd = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            guard let stream = fdopendir(fd) else {
                let failure = errno
                close(fd)
                throw SystemError("fdopendir", path, errno: failure)
            }
            return stream
        }
        switch errno {
        case ENOENT: return nil
        case ENOTDIR, ELOOP: continue // no longer a directory (a link or a file): unlink it
        default: throw SystemError("openat", path)
        }
    }
    throw SystemError("unlinkat", path, errno: ELOOP)
}

/// The next name in the directory's listing other than `.` and `..`; nil at its end.
private func nextEntry(_ directory: DirectoryBeingEmptied) throws(SystemError) -> String? {
    while true {
        errno = 0
        guard let entry = readdir(directory.stream) else {
            if errno != 0 { throw SystemError("readdir", directory.path) }
            return nil
        }
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { return name }
    }
}

/// `/a/b/c` → (`/a/b`, `c`); `c` → (`.`, `c`); trailing slashes ignored.
func splitLastComponent(_ path: String) -> (parent: String, name: String) {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return (".", String(trimmed)) }
    let parent = trimmed[..<slash]
    return (parent.isEmpty ? "/" : String(parent), String(trimmed[trimmed.index(after: slash)...]))
}
