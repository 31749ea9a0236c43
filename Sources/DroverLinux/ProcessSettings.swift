import Glibc

/// Settings of the calling process itself, made once at start.
public enum ProcessSettings {
    /// Sets the file mode creation mask (umask) for everything the process creates from now on.
    public static func setFileCreationMask(_ mask: mode_t) {
        umask(mask)
    }

    /// Raises the soft limit on open descriptors to the hard limit (a daemon holding a pidfd
    /// per child needs more than the usual 1024). Left as it is when it cannot be raised.
    public static func raiseOpenFileLimit() {
        var files = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 && files.rlim_cur < files.rlim_max {
            files.rlim_cur = files.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        }
    }

    /// The soft limit on open descriptors now (RLIMIT_NOFILE; RLIM_INFINITY is UInt64.max),
    /// nil if it cannot be read.
    public static func openFileLimit() -> UInt64? {
        var files = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 else { return nil }
        return UInt64(files.rlim_cur)
    }
}
