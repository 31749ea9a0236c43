// drover-bench: spawn-to-exit latency of a fully isolated sandbox through drover's library,
// in one process (no CLI start-up): namespaces (user and cgroup included), the read-only host
// with private /tmp, /var/tmp, /dev and /proc, the masked kernel paths, cgroup leaf created
// and removed, the port guard, seccomp, no capabilities, user nobody (SPEC §10). Prints one line in
// bench/peers.sh's format so `make bench` can set it beside the peers:
//   drover-inprocess median_ms=<f> p90_ms=<f> cpu_median_ms=<f> n=<N>
// XB_HOSTROOT=1: the same without the user namespace (`host_root: true`), named
// drover-inprocess-hostroot, to show what the user namespace costs.
import DroverCore
import DroverLinux
import Glibc

let arguments = CommandLine.arguments.dropFirst()
let iterations = arguments.first.flatMap { Int($0) } ?? 200
let warmup = 10
let program = arguments.dropFirst().first ?? "/bin/true"

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
}

/// CPU of this process and its reaped children, in ms: the parent's share of a spawn counts.
func cpu() -> Double {
    var mine = rusage()
    var children = rusage()
    getrusage(RUSAGE_SELF.rawValue, &mine)
    getrusage(RUSAGE_CHILDREN.rawValue, &children)
    func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
    return ms(mine.ru_utime) + ms(mine.ru_stime) + ms(children.ru_utime) + ms(children.ru_stime)
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    let rank = max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1)
    return sorted[min(rank, sorted.count - 1)]
}

do {
    let launcher = try SandboxLauncher(tree: getenv("XB_NOCG") != nil ? nil : CgroupTree.prepare())
    var spec = SandboxSpec(command: [program])
    if getenv("XB_NOSECCOMP") != nil { spec.seccomp = nil }
    let hostRoot = getenv("XB_HOSTROOT") != nil
    spec.hostRoot = hostRoot
    // A replica's port guard (SPEC §10): it may bind nothing but an ephemeral port here.
    spec.bindablePorts = []
    var wall: [Double] = []
    var cpuTimes: [Double] = []
    for iteration in 0..<(warmup + iterations) {
        let startWall = now()
        let startCPU = cpu()
        let sandbox = try launcher.launch(spec, name: "bench-\(getpid())-\(iteration)")
        let status = sandbox.wait()
        try sandbox.cleanup()
        let elapsed = now() - startWall
        let used = cpu() - startCPU
        guard status == .exited(0) else {
            FileHandleStandardError.write("drover-bench: \(program) ended with \(status)\n")
            exit(1)
        }
        if iteration >= warmup {
            wall.append(elapsed)
            cpuTimes.append(used)
        }
    }
    print("drover-inprocess\(hostRoot ? "-hostroot" : "") median_ms=\(format(percentile(wall, 0.5))) p90_ms=\(format(percentile(wall, 0.9))) cpu_median_ms=\(format(percentile(cpuTimes, 0.5))) n=\(iterations)")
} catch {
    FileHandleStandardError.write("drover-bench: \(error)\n")
    exit(1)
}

func format(_ value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return "\(scaled)"
}

enum FileHandleStandardError {
    static func write(_ text: String) {
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}
