import DroverCore
import Glibc

/// drover-init's status file (DROVER_STATUS_FD): where it writes the workload's wait status
/// (`status=N\n`) when the workload ends, so that a daemon that did not spawn the sandbox (it
/// restarted since) still learns how it ended, which waitid cannot tell it.
public enum InitStatusFile {
    /// An empty status file for a sandbox about to be spawned (replacing an earlier one's):
    /// the descriptor to hand to the launcher, which the caller closes after the spawn.
    public static func create(atPath path: String) throws(SystemError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("open", path) }
        return fd
    }

    /// How the workload ended, if drover-init wrote it (nil: no file, or not written yet).
    public static func read(atPath path: String) -> ExitStatus? {
        guard let text = try? Files.read(path) else { return nil }
        return parse(text)
    }

    /// `status=N\n` → the wait status N, decoded.
    public static func parse(_ text: String) -> ExitStatus? {
        var value = Substring(text).trimmingWhitespace()
        if value.hasPrefix("status=") { value = value.dropFirst("status=".count) }
        return Int32(value).map { ExitStatus(waitStatus: $0) }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        var start = startIndex
        var end = endIndex
        while start < end, isSpace(self[start]) { formIndex(after: &start) }
        while end > start, isSpace(self[index(before: end)]) { formIndex(before: &end) }
        return self[start..<end]
    }
}
