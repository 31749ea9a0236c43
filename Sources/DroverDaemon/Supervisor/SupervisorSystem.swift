import DroverCore
import Foundation
import Glibc

/// Every libc call the supervisor makes, in one place (for the Linux layer to take over).
enum SupervisorSystem {
    /// `open("/dev/null", O_RDWR | O_CLOEXEC)`: replicas' and probes' stdin.
    static func openDevNull() -> Int32 { open("/dev/null", O_RDWR | O_CLOEXEC) }

    /// drover-init's status file, created empty for the new process (-1 when it cannot be).
    static func createStatusFile(_ path: String) -> Int32 { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }

    static func close(_ descriptor: Int32) { _ = Glibc.close(descriptor) }

    /// `unlink`: a file that is not there is already removed.
    static func removeFile(_ path: String) { _ = unlink(path) }

    /// `rmdir`: fails, and leaves it, while the directory is not empty.
    static func removeEmptyDirectory(_ path: String) { _ = rmdir(path) }

    /// `rename`: atomically replaces `path` with `temporary`.
    static func replace(_ path: String, with temporary: String) { _ = rename(temporary, path) }

    /// Whether an account or a group of this host has the id (`getpwuid`, `getgrgid`).
    static func isHostAccountOrGroup(_ id: UInt32) -> Bool { getpwuid(id) != nil || getgrgid(id) != nil }

    static let killSignal = SIGKILL

    /// Blocks up to `milliseconds` until `descriptor` is readable (a pidfd: its process ended).
    static func waitReadable(_ descriptor: Int32, milliseconds: Int64) {
        var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, Int32(min(milliseconds, 1000)))
    }

    /// drover-init's status file (`status=N`, N a raw wait status) as an exit reason.
    static func exitReason(statusFileText text: String) -> ExitReason? {
        guard let raw = Int32(text.replacingOccurrences(of: "status=", with: "").trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return nil
        }
        let signal = raw & 0x7f
        return signal == 0 ? .exited(code: (raw >> 8) & 0xff) : .signaled(signal: signal)
    }
}

extension Capacity {
    static func detect() -> Capacity {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var memory: UInt64 = 0
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kilobytes = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({ UInt64($0) }) {
            memory = kilobytes * 1024
        }
        return Capacity(millicores: cores * 1000, memory: memory)
    }
}

func monotonicMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}

extension Timestamp {
    static var now: Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(sinceEpoch: .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec))
    }

    var date: Date {
        let (seconds, attoseconds) = sinceEpoch.components
        return Date(timeIntervalSince1970: Double(seconds) + Double(attoseconds) / 1e18)
    }
}
