import DroverCore
import DroverLinux

/// What replicas may request in all (SPEC §5): detected, or `droverd --capacity`.
struct Capacity: Sendable, Equatable {
    var millicores: Int
    var memory: UInt64

    /// What admission may hand out.
    var resources: Admission.Resources { Admission.Resources(millicores: millicores, memory: memory) }

    /// This host's online CPUs and memory.
    static func detect() -> Capacity {
        Capacity(millicores: HostCapacity.onlineCPUs() * 1000, memory: HostCapacity.totalMemory())
    }

    /// `cpu=2,memory=20Gi` (either may be left out: detected).
    static func parse(_ text: String) throws(InputError) -> Capacity {
        var capacity = detect()
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw InputError("--capacity \"\(text)\"", "expected cpu=CORES,memory=SIZE such as cpu=2,memory=20Gi") }
            switch pair[0] {
            case "cpu": capacity.millicores = try Quantity.cpu(pair[1]).millicores
            case "memory": capacity.memory = try Quantity.size(pair[1])
            default: throw InputError("--capacity \"\(text)\"", "unknown resource \"\(pair[0])\" (cpu and memory can be given)")
            }
        }
        return capacity
    }
}
