import DroverLinux
import Testing

/// The host's memory for `--capacity` when it is not given: /proc/meminfo's MemTotal.
struct HostCapacityTests {
    @Test(arguments: [
        ("MemTotal:       16318412 kB\nMemFree:         1034676 kB\n", UInt64(16_318_412) * 1024 as UInt64?),
        ("MemFree:         1034676 kB\nMemTotal:        2048 kB\n", 2048 * 1024),
        ("MemTotal:\t1 kB\n", 1024),
        ("MemFree:         1034676 kB\n", nil),
        ("MemTotal: lots kB\n", nil),
        ("", nil),
    ])
    func readsMemTotal(meminfo: String, bytes: UInt64?) {
        #expect(HostCapacity.memoryTotal(meminfo: meminfo) == bytes)
    }

    @Test func thisHostHasCPUsAndMemory() {
        #expect(HostCapacity.onlineCPUs() >= 1)
        #expect(HostCapacity.totalMemory() > 0)
    }
}
