import Glibc

/// What this host has for replicas to request (SPEC §5, when `droverd --capacity` does not
/// say): its online CPUs and its memory.
public enum HostCapacity {
    /// CPUs online now (at least 1).
    public static func onlineCPUs() -> Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Bytes of memory, from /proc/meminfo's `MemTotal:` (0 when it cannot be read).
    public static func totalMemory() -> UInt64 {
        guard let text = try? Files.read("/proc/meminfo") else { return 0 }
        return memoryTotal(meminfo: text) ?? 0
    }

    /// `MemTotal:       16318412 kB` → bytes; nil without a readable MemTotal line.
    public static func memoryTotal(meminfo text: String) -> UInt64? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
              let kilobytes = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({ UInt64($0) })
        else { return nil }
        return kilobytes * 1024
    }
}
