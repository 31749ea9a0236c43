import ArgumentParser
import DroverWire
import Foundation
import Glibc

struct Ps: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "List replicas: NAME STATE PID PORTS RESTARTS AGE CPU MEM (and why pending). PID is the program's (drover inspect shows drover-init's too).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "Only this job.") var job: String?
    @Flag(help: "Print JSON (a list of jobs with their replicas; see docs/API.md).") var json = false

    func validate() throws {
        if let job { try requireJob(job, for: "ps", instead: "drover inspect \(job)") }
    }

    func execute() async throws {
        try await call {
            let jobs = try await daemon.client.ps(job: job)
            if json { return try printJSON(jobs) }
            printTable(Self.rows(jobs))
            if let host = try? await daemon.client.host(), host.drained {
                print("droverd is drained: nothing starts until `drover undrain`")
            }
            for job in jobs where job.reason != nil {
                print("\(job.name): \(job.state): \(job.reason!)")
            }
        }
    }

    /// The header, then a row per replica (a job without replicas gets one row of its own).
    static func rows(_ jobs: [JobStatus]) -> [[String]] {
        var rows = [["NAME", "STATE", "PID", "PORTS", "RESTARTS", "AGE", "CPU", "MEM", ""]]
        for job in jobs {
            if job.replicas.isEmpty { rows.append([job.name, job.state, "-", "-", "-", "-", "-", "-", job.reason ?? ""]) }
            for replica in job.replicas {
                rows.append([
                    replica.name, replica.state, replica.pid.map(String.init) ?? "-",
                    replica.ports.isEmpty ? "-" : replica.ports.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                    String(replica.restarts), age(replica.startedAt),
                    replica.cpuSeconds.map { String(format: "%.2fs", $0) } ?? "-",
                    replica.memoryBytes.map(humanBytes) ?? "-", why(replica),
                ])
            }
        }
        return rows
    }

    /// The last column: host root first, then the next attempt, why it waits, what is not enforced.
    static func why(_ replica: ReplicaStatus) -> String {
        var why = replica.reason ?? ""
        if let next = replica.nextAttempt { why = "next attempt \(next)" + (why.isEmpty ? "" : "; \(why)") }
        if !replica.unenforced.isEmpty { why += (why.isEmpty ? "" : "; ") + "not enforced: " + replica.unenforced.joined(separator: ",") }
        if replica.hostRoot == true { why = "HOST ROOT" + (why.isEmpty ? "" : "; \(why)") }
        return why
    }

    static func age(_ rfc3339: String?) -> String {
        guard let rfc3339, let date = parseRFC3339(rfc3339) else { return "-" }
        let seconds = Int(Date().timeIntervalSince1970 - date)
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }

    /// droverd's `2026-11-30T02:11:57.765Z` → seconds since the epoch, by hand: `ps` of a
    /// thousand rows spent most of its time in ISO8601DateFormatter.
    static func parseRFC3339(_ text: String) -> Double? {
        let digits = text.utf8.map { Int($0) - 48 }
        guard digits.count >= 20 else { return nil }
        func number(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for index in start..<(start + count) {
                guard (0...9).contains(digits[index]) else { return nil }
                value = value * 10 + digits[index]
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Double(timegm(&parts))
    }

    static func humanBytes(_ bytes: UInt64) -> String {
        if bytes >= 1 << 30 { return String(format: "%.1fGi", Double(bytes) / Double(1 << 30)) }
        if bytes >= 1 << 20 { return String(format: "%.1fMi", Double(bytes) / Double(1 << 20)) }
        return String(format: "%.0fKi", Double(bytes) / 1024)
    }
}
