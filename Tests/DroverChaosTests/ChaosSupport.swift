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
    private var started = false
    private var seen: [String] = []
    private var samples = 0

    init(interval: useconds_t = 100_000, belongs: @escaping @Sendable (String) -> Bool) {
        self.interval = interval
        self.belongs = belongs
    }

    func start() {
        lock.withLock { started = true }
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
        // Never started (the test failed before the chaos began): nothing to wait for.
        while lock.withLock({ started && !finished }) { usleep(5_000) }
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

/// Watches for the first answer droverd gives to `drover ps`'s request (GET /v1/jobs) on its
/// socket, asking every 5 ms from a thread of its own: when droverd could answer, without the
/// CLI's own start-up (a debug binary on a loaded machine) in the figure.
final class FirstAnswerWatch: @unchecked Sendable {
    private let socketPath: String
    private let lock = NSLock()
    private var answeredAt: Double?
    private var running = true
    private var finished = false

    init(socket: String) { socketPath = socket }

    func start() {
        Thread { [self] in
            while lock.withLock({ running && answeredAt == nil }) {
                if jobsRequestAnswered(socket: socketPath) {
                    let now = monotonicSeconds()
                    lock.withLock { answeredAt = now }
                    break
                }
                usleep(5_000)
            }
            lock.withLock { finished = true }
        }.start()
    }

    /// When droverd first answered 200, waiting up to `timeout` more for it; nil if it never did.
    func stop(timeout: Double) -> Double? {
        let deadline = monotonicSeconds() + timeout
        while !lock.withLock({ finished }) && monotonicSeconds() < deadline { usleep(2_000) }
        lock.withLock { running = false }
        while !lock.withLock({ finished }) { usleep(2_000) }
        return lock.withLock { answeredAt }
    }
}

/// GET /v1/jobs over a Unix socket: whether an `HTTP/1.1 200` status line came back within 1 s.
func jobsRequestAnswered(socket path: String) -> Bool {
    let fd = sendRequest(socket: path, method: "GET", path: "/v1/jobs")
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return readStatusLine(fd, timeout: 1).hasPrefix("HTTP/1.1 200")
}

/// Connects to droverd's socket and sends one whole request (as the CLI would: JSON,
/// closing after the answer); the connected descriptor, or -1.
func sendRequest(socket path: String, method: String, path target: String, body: [UInt8] = []) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
        close(fd)
        return -1
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (offset, byte) in bytes.enumerated() { raw[offset] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    let head = "\(method) \(target) HTTP/1.1\r\nHost: droverd\r\nConnection: close\r\n"
        + (body.isEmpty ? "" : "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n") + "\r\n"
    let request = Array(head.utf8) + body
    var sent = 0
    while connected == 0 && sent < request.count {
        let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        sent += n
    }
    guard connected == 0, sent == request.count else {
        close(fd)
        return -1
    }
    return fd
}

/// The status line that comes back on `fd` within `timeout` seconds ("" when none).
func readStatusLine(_ fd: Int32, timeout: Double) -> String {
    var received: [UInt8] = []
    let deadline = monotonicSeconds() + timeout
    while !received.contains(UInt8(ascii: "\n")) {
        let left = deadline - monotonicSeconds()
        if left <= 0 { break }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(min(left, 0.1) * 1000) + 1) >= 0 else { break }
        if pfd.revents == 0 { continue }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        received += buffer[0..<n]
    }
    return String(decoding: received, as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
}
