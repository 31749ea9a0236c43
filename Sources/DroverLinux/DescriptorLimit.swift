import Glibc

/// RLIMIT_NOFILE as it stands: how many descriptors this process may hold open.
public enum DescriptorLimit {
    /// The soft limit (`RLIM_INFINITY` is `UInt64.max`), nil when getrlimit fails.
    public static func current() -> UInt64? {
        var files = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 else { return nil }
        return UInt64(files.rlim_cur)
    }
}
