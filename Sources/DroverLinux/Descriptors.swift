import Glibc

/// Closes a descriptor the caller owns. EINTR still closes it on Linux, and no other error
/// leaves anything to do: nothing is reported.
public func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// /dev/null open for reading and writing (close-on-exec): stdio for what should neither read
/// input nor keep output.
public func openNullDevice() throws(SystemError) -> Int32 {
    let fd = open("/dev/null", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { throw SystemError("open", "/dev/null") }
    return fd
}

/// The inode of what `fd` refers to (for a socket, the number /proc/net/tcp shows).
public func inode(ofDescriptor fd: Int32) throws(SystemError) -> UInt64 {
    var status = stat()
    guard fstat(fd, &status) == 0 else { throw SystemError("fstat", "fd \(fd)") }
    return UInt64(status.st_ino)
}
