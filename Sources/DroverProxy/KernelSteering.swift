import CDroverSteer
import DroverLinux

/// The service's fast path: a BPF sk_lookup program (CDroverSteer) hands each new connection
/// to the service port straight to a ready replica's own listening socket, so steered
/// connections cost what direct ones do. The slow path, droverd's listener and user-space
/// relay, takes a connection whenever steering cannot: no published replica, a published
/// replica whose listening socket is not found (yet), or every slot tried for it empty.
///
/// The map mirrors the published set: a published backend's socket is in a slot, an
/// unpublished one's is not (`update` removes it before returning). Slots 0..<count are
/// kept dense: a removed backend's slot is cleared first (it is unreachable from then on) and
/// then refilled with the last slot's socket. Balancing is round robin, with up to
/// DROVER_STEER_ATTEMPTS slots tried per connection (the kernel empties a slot when its
/// socket closes: a replica that died is skipped before droverd hears of its death).
///
/// All or nothing: while any published backend's socket is missing, count is 0 and every
/// connection takes the slow path, so each replica keeps its share. `refresh` (on a timer)
/// looks for missing sockets again and notices slots the kernel emptied.
///
/// Pinned (`pin`, a path in a bpf file system), the program outlives droverd: while droverd is
/// down connections are still steered to the replicas that were published (a replica that
/// dies meanwhile closes its socket and leaves the map by itself), and the next droverd's
/// program replaces it in place.
///
/// Not thread-safe: `ServiceProxy` calls it under its lock.
struct KernelSteering {
    typealias Backend = ServiceProxy.Backend

    static let capacity = 4096

    private var handle: drover_steer
    /// The backend whose socket is in each slot; nil for a slot emptied and not yet refilled.
    private var slots: [Backend?] = []
    private var locations: [Backend: ListenerLocation] = [:]
    /// Published backends whose socket is not in the map.
    private(set) var missing: Set<Backend> = []
    private var countSet: UInt32 = 0
    /// Where the link is pinned, if it is.
    private(set) var pin: String?

    /// Attaches a program for TCP to `address:port` (IPv4; 0.0.0.0 means any local address),
    /// pinned at `pin` if given (replacing the program of a link already pinned there).
    static func attach(address: String, port: Int, pin: String? = nil) -> Result<KernelSteering, SteeringUnavailable> {
        guard let parsed = ipv4Address(address) else {
            return .failure(SteeringUnavailable(reason: "the service address \(address) is not IPv4"))
        }
        var handle = drover_steer(link_fd: -1, config_fd: -1, socks_fd: -1)
        var log = [CChar](repeating: 0, count: 8192)
        var pinned: Int32 = 0
        let result = drover_steer_attach(parsed, UInt16(port), UInt32(capacity), pin, &pinned, &handle, &log, log.count)
        guard result == 0 else {
            let verifier = String(decoding: log.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let detail = errnoDescription(-result)
            return .failure(SteeringUnavailable(reason: "cannot attach a BPF sk_lookup program: \(detail)"
                + (verifier.isEmpty ? "" : "; verifier: \(verifier.suffix(400))")))
        }
        return .success(KernelSteering(handle: handle, pin: pinned != 0 ? pin : nil))
    }

    private init(handle: drover_steer, pin: String?) {
        self.handle = handle
        self.pin = pin
    }

    /// Detaches the program, or with `keepPinned` leaves a pinned one steering to the sockets
    /// in its map; connections already steered are the replicas' own and go on either way.
    mutating func detach(keepPinned: Bool = false) {
        if let pin, !keepPinned {
            // Failing, the program stays pinned (steering to sockets that close with their
            // replicas) until the next droverd's replaces it or clears the pins.
            try? removeFile(atPath: pin)
        }
        pin = nil
        drover_steer_detach(&handle)
        slots = []
        locations = [:]
        missing = []
    }

    /// Connections steered to a replica since attach.
    var steered: Int {
        let value = withUnsafePointer(to: handle) { drover_steer_steered($0) }
        return value < 0 ? 0 : Int(value)
    }

    /// Whether connections are being steered now (every published backend is in the map).
    var isSteering: Bool { countSet > 0 }

    /// Makes the map hold exactly the sockets of `published`. Removals take effect first.
    mutating func update(published: [Backend]) {
        let wanted = Set(published)
        for index in slots.indices {
            if let backend = slots[index], !wanted.contains(backend) { vacate(index) }
        }
        missing = missing.intersection(wanted)
        locations = locations.filter { wanted.contains($0.key) }
        let present = Set(slots.compactMap { $0 })
        for backend in published where !present.contains(backend) { missing.insert(backend) }
        compact()
        fillMissing()
        setCount()
    }

    /// Looks for missing sockets again (a few syscalls when none is missing) and, when
    /// `checkSlots`, takes out of the map backends whose socket the kernel removed (it closed
    /// while the replica stayed published: it stopped listening, or it died and droverd has
    /// not unpublished it yet) to look for anew. The program skips such slots anyway, so this
    /// only restores the balance: one syscall per slot, worth doing every few seconds only.
    mutating func refresh(checkSlots: Bool) {
        for index in slots.indices where checkSlots {
            guard let backend = slots[index], drover_steer_occupied(&handle, UInt32(index)) == 0 else { continue }
            vacate(index)
            locations[backend] = nil
            missing.insert(backend)
        }
        compact()
        fillMissing()
        setCount()
    }

    // MARK: private

    /// Clears a slot: its socket gets no new connection from now on.
    private mutating func vacate(_ index: Int) {
        _ = drover_steer_clear(&handle, UInt32(index))
        slots[index] = nil
    }

    /// Moves sockets from the end into emptied slots until 0..<slots.count has no hole.
    private mutating func compact() {
        while true {
            while let last = slots.last, last == nil { slots.removeLast() }
            guard let hole = slots.firstIndex(where: { $0 == nil }) else { break }
            let lastIndex = slots.count - 1
            let backend = slots[lastIndex]!
            if put(backend, at: hole) {
                slots[hole] = backend
            } else {
                missing.insert(backend)
            }
            // The count must leave the last slot out before it is emptied, or a connection
            // could pick it between the two and find it empty (it then tries the next).
            slots[lastIndex] = nil
            setCount()
            _ = drover_steer_clear(&handle, UInt32(lastIndex))
        }
    }

    private mutating func fillMissing() {
        for backend in missing.sorted(by: { $0.id < $1.id }) {
            guard slots.count < Self.capacity else { break }
            if put(backend, at: slots.count) {
                slots.append(backend)
                missing.remove(backend)
            }
        }
    }

    /// Puts the backend's listening socket in a slot: a copy of the replica's descriptor
    /// (pidfd_getfd), closed again at once so that the map holds the only extra reference
    /// and the socket still closes when the replica does.
    private mutating func put(_ backend: Backend, at slot: Int) -> Bool {
        for attempt in 0..<2 {
            if attempt == 1 || locations[backend] == nil {
                guard let cgroup = backend.cgroup else { return false }
                let inodes = ListeningSockets.inodes(host: backend.host, port: backend.port)
                guard let found = ListeningSockets.locate(inodes: inodes, cgroup: cgroup) else {
                    locations[backend] = nil
                    return false
                }
                locations[backend] = found
            }
            guard let location = locations[backend] else { return false }
            let copy = drover_steer_copy_fd(location.pid, location.fd)
            guard copy >= 0 else { continue }
            defer { closeDescriptor(copy) }
            // The process may have closed that descriptor and reused its number.
            guard (try? inode(ofDescriptor: copy)) == location.inode else { continue }
            if drover_steer_put(&handle, UInt32(slot), copy) == 0 { return true }
            return false
        }
        locations[backend] = nil
        return false
    }

    private mutating func setCount() {
        let dense = (slots.lastIndex(where: { $0 != nil }) ?? -1) + 1
        let count = missing.isEmpty ? UInt32(dense) : 0
        guard count != countSet else { return }
        if drover_steer_set_count(&handle, count) == 0 { countSet = count }
    }
}

/// Why a service is relayed in user space only.
public struct SteeringUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Where services' steering links are pinned: a bpf file system (under droverd's state
/// directory). Pinned there, a link outlives droverd, so service ports keep reaching replicas
/// while droverd is down or restarting. Mounted once; a later droverd finds it mounted.
/// `umount <state>/bpf` ends every pinned program.
public enum SteeringPins {
    public static func mount(at path: String) -> Result<String, SteeringUnavailable> {
        let result = drover_steer_mount_pins(path)
        guard result == 0 else {
            return .failure(SteeringUnavailable(reason: "cannot mount a bpf file system at \(path): \(errnoDescription(-result))"))
        }
        return .success(path)
    }

    /// Ends every program pinned at `path` (an earlier droverd's) by removing its pin.
    /// (Unmounting would not do: every sandbox's mount namespace holds a copy of the mount.)
    public static func clear(at path: String) {
        guard drover_steer_is_pin_fs(path) == 1, let names = try? directoryEntries(atPath: path) else { return }
        // The file system's own files (`maps.debug`, `progs.debug`) have dots; pins do not.
        for name in names where !name.hasPrefix(".") && !name.contains(".") {
            // One left pinned steers to sockets that close with their replicas: harmless.
            try? removeFile(atPath: path + "/" + name)
        }
    }
}
