import DroverTestSupport
import Foundation
import Glibc

/// What `make test-chaos` sets: the test runs only with DROVER_CHAOS=1 (it takes minutes).
enum ChaosSettings {
    static let environment = ProcessInfo.processInfo.environment
    static var enabled: Bool { environment["DROVER_CHAOS"] == "1" }
    /// Seconds of random chaos (the targeted races come on top).
    static var seconds: Double { environment["DROVER_CHAOS_SECONDS"].flatMap(Double.init) ?? 130 }
    /// How many times the "SIGKILL droverd right after a replacement's leaf appears" race runs.
    static var races: Int { environment["DROVER_CHAOS_RACES"].flatMap { Int($0) } ?? 20 }
    /// The seed of every random choice; printed, so that a failing run's choices can be replayed.
    static let seed: UInt64 = environment["DROVER_CHAOS_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(1) << 53)
}

/// SplitMix64: the same choices for the same seed (the system generator cannot be seeded).
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Scans for duplicate sandboxes on a thread of its own, every `interval`, for as long as the
/// chaos runs; keeps every confirmed violation (the test reports them at the end).
final class DuplicateSampler: @unchecked Sendable {
    private let belongs: @Sendable (String) -> Bool
    private let interval: useconds_t
    private let lock = NSLock()
    private var running = true
    private var finished = false
    private var seen: [String] = []
    private var samples = 0

    init(interval: useconds_t = 100_000, belongs: @escaping @Sendable (String) -> Bool) {
        self.interval = interval
        self.belongs = belongs
    }

    func start() {
        Thread { [self] in
            while lock.withLock({ running }) {
                let (violations, _) = SandboxCensus.check(belongs: belongs)
                lock.withLock {
                    samples += 1
                    for violation in violations where !seen.contains(violation.description) {
                        seen.append(violation.description)
                    }
                }
                usleep(interval)
            }
            lock.withLock { finished = true }
        }.start()
    }

    /// Stops the thread (idempotent) and returns what it saw: how many scans, and violations.
    @discardableResult
    func stop() -> (samples: Int, violations: [String]) {
        lock.withLock { running = false }
        while !lock.withLock({ finished }) { usleep(5_000) }
        return lock.withLock { (samples, seen) }
    }

    var violationsSoFar: [String] { lock.withLock { seen } }
}

/// A YAML double-quoted scalar.
func yamlQuoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// The inode of a path (a cgroup directory made again gets a new one), nil when absent.
func inode(_ path: String) -> UInt64? {
    var info = stat()
    return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
}
