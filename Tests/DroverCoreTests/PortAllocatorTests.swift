import DroverCore
import Testing

@Suite struct PortAllocatorRules {
    @Test func neverHandsOutAHeldPortTwice() throws {
        var allocator = try PortAllocator(range: 20000...20009)
        var seen = Set<Int>()
        for _ in 0..<10 {
            let port = try allocator.allocate { _ in true }
            #expect(seen.insert(port).inserted, "port \(port) handed out twice")
        }
        #expect(seen == Set(20000...20009))
    }

    @Test func skipsPortsOthersAreBoundTo() throws {
        let boundByOthers: Set<Int> = [20000, 20001, 20003]
        var allocator = try PortAllocator(range: 20000...20005)
        let first = try allocator.allocate { !boundByOthers.contains($0) }
        let second = try allocator.allocate { !boundByOthers.contains($0) }
        #expect(first == 20002)
        #expect(second == 20004)
    }

    @Test func exhaustedRangeSaysWhy() throws {
        var allocator = try PortAllocator(range: 20000...20003)
        _ = try allocator.allocate { _ in true }
        _ = try allocator.allocate { _ in true }
        #expect(throws: PortExhausted(range: 20000...20003, heldByDrover: 2, inUseElsewhere: 2)) {
            try allocator.allocate { $0 < 20002 }
        }
        let error = PortExhausted(range: 20000...20003, heldByDrover: 2, inUseElsewhere: 2)
        #expect(error.description == "no free port in 20000-20003: 2 held by drover, 2 in use by other programs")
    }

    @Test func freedPortsAreReusedLast() throws {
        var allocator = try PortAllocator(range: 20000...20003)
        let first = try allocator.allocate { _ in true }
        allocator.release(first)
        let next = try (0..<3).map { _ in try allocator.allocate { _ in true } }
        #expect(next == [20001, 20002, 20003])
        #expect(try allocator.allocate { _ in true } == first, "the freed port comes back only after the others")
    }

    @Test func skipsTheKernelsEphemeralRange() throws {
        var allocator = try PortAllocator(range: 32760...32770, ephemeral: 32768...60999)
        let ports = try (0..<8).map { _ in try allocator.allocate { _ in true } }
        #expect(ports == Array(32760...32767))
        #expect(throws: PortExhausted.self) { try allocator.allocate { _ in true } }
    }

    @Test func rangeInsideEphemeralIsRefused() {
        #expect(throws: InputError("port range 40000-41000", "lies inside the kernel's ephemeral port range 32768-60999 (net.ipv4.ip_local_port_range); choose ports outside it")) {
            try PortAllocator(range: 40000...41000, ephemeral: 32768...60999)
        }
    }

    @Test func claimTakesASpecificFreePortOnce() throws {
        var allocator = try PortAllocator(range: 20000...20009)
        #expect(allocator.claim(20005) { _ in true })
        #expect(!allocator.claim(20005) { _ in true }, "already held")
        #expect(!allocator.claim(20006) { _ in false }, "bound by another program")
        #expect(!allocator.claim(19999) { _ in true }, "outside the range")
        allocator.release(20005)
        #expect(allocator.claim(20005) { _ in true })
    }

    @Test func startOffsetWrapsAround() throws {
        var allocator = try PortAllocator(range: 20000...20002, start: 20002)
        let ports = try (0..<3).map { _ in try allocator.allocate { _ in true } }
        #expect(ports == [20002, 20000, 20001])
    }
}
