import DroverLinux
import DroverTestSupport
import Foundation
import Glibc

/// One hostile action (`drover-testload probe NAME ARGS...`) and what a sandboxed workload
/// must get for it. Each probe also runs as real root outside drover (the control): where the
/// control cannot do it either, the probe proves nothing on this host and is left out (say, a
/// kernel without /proc/kcore), so no probe passes by being broken.
struct EscapeProbe: CustomStringConvertible, Sendable {
    var label: String
    var arguments: [String]
    /// What the control runs, when the sandbox's target differs (its own drover-init vs a
    /// process of the test's).
    var controlArguments: [String]?
    /// Results that count as refused (errno names, EMPTY for a masked file).
    var refusals: Set<String> = ["EACCES", "EPERM", "EROFS", "ENOENT"]
    /// Only for these identities (`root` inside is root: setuid binaries prove nothing there).
    var onlyFor: Set<EscapeIdentity>? = nil

    var description: String { label }
}

enum EscapeIdentity: String, CaseIterable, Sendable {
    /// No user: the run's (or the job's) own uid.
    case own
    /// `user: nobody`, the first wave's default.
    case nobody
    /// `user: root` / `--user root`.
    case root
}

/// Everything the probes aim at on this host, made by the test and removed after it.
final class EscapeFixture {
    let directory: String
    let setuidCopy: String
    let target: TestProcess
    let cgroupRoot: String

    init() throws {
        mkdir("/var/lib/drover-test", 0o755)
        directory = "/var/lib/drover-test/escape-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o777)
        chmod(directory, 0o777) // writable by anyone on the host: only the read-only view refuses
        setuidCopy = directory + "/setuid-testload"
        try copyFile(TestEnvironment.testload, to: setuidCopy)
        chown(setuidCopy, 0, 0)
        chmod(setuidCopy, 0o4755)
        target = try TestProcess(["/bin/sleep", "300"])
        cgroupRoot = try CgroupTree.prepare().root
    }

    func destroy() {
        target.signal(SIGKILL)
        _ = target.finish(timeout: 10)
        removeTree(directory)
    }

    /// A host block device, if this host shows one.
    static let blockDevice: String? = listDirectory("/sys/block").sorted().first.map { "/dev/" + $0 }

    var probes: [EscapeProbe] {
        let unique = "drover-escape-\(getpid())"
        var probes: [EscapeProbe] = [
            // The kernel's knobs: core_pattern runs a program as real root on the next crash.
            .init(label: "core_pattern", arguments: ["open-write", "/proc/sys/kernel/core_pattern"]),
            .init(label: "sysrq-trigger", arguments: ["open-write", "/proc/sysrq-trigger"]),
            .init(label: "modprobe path", arguments: ["open-write", "/proc/sys/kernel/modprobe"]),
            .init(label: "hostname sysctl", arguments: ["open-write", "/proc/sys/kernel/hostname"]),
            .init(label: "drop_caches", arguments: ["open-write", "/proc/sys/vm/drop_caches"]),
            .init(label: "ip_forward", arguments: ["open-write", "/proc/sys/net/ipv4/ip_forward"]),
            .init(label: "binfmt_misc register", arguments: ["open-write", "/proc/sys/fs/binfmt_misc/register"]),
            .init(label: "/proc/irq", arguments: ["open-write", "/proc/irq/default_smp_affinity"]),
            // The host's files.
            .init(label: "/etc/passwd", arguments: ["open-write", "/etc/passwd"]),
            .init(label: "/etc/shadow", arguments: ["open-write", "/etc/shadow"]),
            .init(label: "new file in /etc", arguments: ["create", "/etc/\(unique)"]),
            .init(label: "new file in /usr/bin", arguments: ["create", "/usr/bin/\(unique)"]),
            .init(label: "new file in /root", arguments: ["create", "/root/\(unique)"]),
            .init(label: "world-writable host directory", arguments: ["create", directory + "/\(unique)"]),
            .init(label: "chown a host file", arguments: ["chown", setuidCopy, "0", "0"]),
            // cgroupfs: the tree above the sandbox, and its own limits.
            .init(label: "cgroup.kill of drover's tree", arguments: ["open-write", cgroupRoot + "/cgroup.kill"]),
            .init(label: "cgroup.procs of drover's tree", arguments: ["open-write", cgroupRoot + "/cgroup.procs"]),
            .init(label: "subtree_control of drover's tree", arguments: ["open-write", cgroupRoot + "/cgroup.subtree_control"]),
            // Inside, /sys/fs/cgroup is the sandbox's own leaf (its cgroup namespace); the
            // control writes the same file of a cgroup on the host.
            .init(label: "own cgroup.procs", arguments: ["open-write", "/sys/fs/cgroup/cgroup.procs"],
                  controlArguments: ["open-write", cgroupRoot + "/cgroup.procs"]),
            .init(label: "own cgroup.kill", arguments: ["open-write", "/sys/fs/cgroup/cgroup.kill"],
                  controlArguments: ["open-write", cgroupRoot + "/cgroup.kill"]),
            .init(label: "own memory.max", arguments: ["open-write", "/sys/fs/cgroup/memory.max"],
                  controlArguments: ["open-write", cgroupRoot + "/memory.max"]),
            .init(label: "own pids.max", arguments: ["open-write", "/sys/fs/cgroup/pids.max"],
                  controlArguments: ["open-write", cgroupRoot + "/pids.max"]),
            // /sys and /dev.
            .init(label: "sysfs knob", arguments: ["open-write", "/sys/kernel/mm/transparent_hugepage/enabled"]),
            .init(label: "sysfs uevent", arguments: ["open-write", "/sys/kernel/uevent_helper"]),
            .init(label: "/dev/kmsg write", arguments: ["open-write", "/dev/kmsg"]),
            .init(label: "/dev/kmsg read", arguments: ["read", "/dev/kmsg"]),
            .init(label: "/dev/mem", arguments: ["read", "/dev/mem"]),
            .init(label: "/dev/kvm", arguments: ["open-write", "/dev/kvm"]),
            .init(label: "/dev/fuse", arguments: ["open-write", "/dev/fuse"]),
            .init(label: "/dev/net/tun", arguments: ["open-write", "/dev/net/tun"]),
            .init(label: "/dev/loop-control", arguments: ["open-write", "/dev/loop-control"]),
            // Masked kernel files.
            .init(label: "/proc/kcore", arguments: ["read", "/proc/kcore"], refusals: ["EACCES", "EPERM", "ENOENT", "EMPTY"]),
            .init(label: "/proc/keys", arguments: ["read", "/proc/keys"], refusals: ["EACCES", "EPERM", "ENOENT", "EMPTY"]),
            .init(label: "/proc/timer_list", arguments: ["read", "/proc/timer_list"], refusals: ["EACCES", "EPERM", "ENOENT", "EMPTY"]),
            .init(label: "/proc/sched_debug", arguments: ["read", "/proc/sched_debug"], refusals: ["EACCES", "EPERM", "ENOENT", "EMPTY"]),
            // Calls that leave the sandbox or reach past it.
            .init(label: "mount", arguments: ["mount-tmpfs", "/tmp"], controlArguments: ["mount-tmpfs", directory]),
            .init(label: "unshare user", arguments: ["unshare", "user"]),
            .init(label: "unshare mnt", arguments: ["unshare", "mnt"]),
            .init(label: "unshare net", arguments: ["unshare", "net"]),
            .init(label: "unshare cgroup", arguments: ["unshare", "cgroup"]),
            .init(label: "setns mnt", arguments: ["setns", "/proc/1/ns/mnt"], controlArguments: ["setns", "/proc/\(target.pid)/ns/net"]),
            .init(label: "io_uring", arguments: ["io-uring"]),
            .init(label: "ptrace drover-init", arguments: ["ptrace", "1"], controlArguments: ["ptrace", "\(target.pid)"]),
            .init(label: "pidfd_getfd of drover-init's status fd", arguments: ["pidfd-getfd", "1", "4"],
                  controlArguments: ["pidfd-getfd", "\(target.pid)", "1"], refusals: ["EACCES", "EPERM", "EBADF"]),
            .init(label: "drover-init's fds via /proc", arguments: ["open-write", "/proc/1/fd/4"],
                  controlArguments: ["open-write", "/proc/\(target.pid)/fd/1"]),
            .init(label: "mknod", arguments: ["mknod", "/tmp/\(unique)-node"], controlArguments: ["mknod", directory + "/node"]),
            .init(label: "sethostname", arguments: ["sethostname", "escaped"], controlArguments: ["sethostname", hostname()]),
            .init(label: "settime", arguments: ["settime"]),
            .init(label: "setuid 0", arguments: ["setuid", "0"], refusals: ["EPERM", "EINVAL"], onlyFor: [.own, .nobody]),
            .init(label: "setuid-root binary", arguments: ["exec", setuidCopy, "euid"],
                  refusals: ["EXIT1", "EACCES", "EPERM"], onlyFor: [.own, .nobody]),
        ]
        if let device = Self.blockDevice {
            probes.append(.init(label: "block device", arguments: ["read", device]))
        }
        return probes
    }

    private func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}

/// `probe=NAME result=X` → X.
func probeResult(_ output: String) -> String? {
    output.split(separator: "\n").last { $0.hasPrefix("probe=") }?
        .split(separator: " ").first { $0.hasPrefix("result=") }.map { String($0.dropFirst("result=".count)) }
}

/// The control: the probe as real root on the host, outside any sandbox.
func controlResult(_ probe: EscapeProbe) throws -> String {
    let process = try TestProcess([TestEnvironment.testload, "probe"] + (probe.controlArguments ?? probe.arguments))
    _ = process.finish(timeout: 20)
    return probeResult(process.stdout.text) ?? "no answer: \(process.stdout.text) \(process.stderr.text)"
}

/// A shell script running every probe in turn, each line `case=N probe=... result=...`.
func probeScript(_ probes: [(Int, EscapeProbe)], testload: String) -> String {
    probes.map { index, probe in
        // The result is the probe's last line (a program it execs may print before it).
        "printf 'case=\(index) %s\\n' \"$(\(([testload, "probe"] + probe.arguments).map(shellQuote).joined(separator: " ")) 2>&1 | tail -n 1)\""
    }.joined(separator: "; ") + "; exit 0" // refusals exit 1: the script itself succeeds
}

/// case number → result, from the script's output.
func scriptResults(_ output: String) -> [Int: String] {
    var results: [Int: String] = [:]
    for line in output.split(separator: "\n") where line.hasPrefix("case=") {
        let fields = line.split(separator: " ")
        guard let index = Int(fields[0].dropFirst(5)),
              let result = fields.first(where: { $0.hasPrefix("result=") }) else { continue }
        results[index] = String(result.dropFirst(7))
    }
    return results
}

func shellQuote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

func copyFile(_ source: String, to target: String) throws {
    let input = open(source, O_RDONLY | O_CLOEXEC)
    let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    defer {
        close(input)
        close(output)
    }
    guard input >= 0, output >= 0 else { throw EscapeTestError("copy \(source) to \(target): errno \(errno)") }
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = read(input, &buffer, buffer.count)
        if count <= 0 { break }
        _ = write(output, buffer, count)
    }
}

struct EscapeTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
