import DroverProxy
import Glibc

/// A 127.0.0.1 port held by the test where no replica answers, so no other program can take
/// it while the test runs.
final class DeadPort: Sendable {
    enum Kind: Sendable, CustomStringConvertible {
        /// Bound, not listening: a connect is refused at once (ECONNREFUSED).
        case refusing
        /// Listening with a full accept queue: the kernel drops the SYN, so a connect hangs
        /// until the client's timeout.
        case unresponsive

        var description: String { self == .refusing ? "refusing" : "unresponsive" }
    }

    let port: Int
    private let descriptors: [Int32]

    var backend: ServiceProxy.Backend { ServiceProxy.Backend(id: "dead", host: "127.0.0.1", port: port) }

    init(_ kind: Kind) throws {
        let server = try Self.socketBoundToLoopback()
        var descriptors = [server.fd]
        do {
            if kind == .unresponsive {
                // A backlog of 0 holds one connection; the filler takes it, and no one accepts.
                guard listen(server.fd, 0) == 0 else { throw Self.failure("listen") }
                let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard filler >= 0 else { throw Self.failure("socket") }
                descriptors.append(filler)
                var address = Self.loopback(port: server.port)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard connected == 0 else { throw Self.failure("connect") }
            }
        } catch {
            for fd in descriptors { Glibc.close(fd) }
            throw error
        }
        self.port = server.port
        self.descriptors = descriptors
    }

    func close() {
        for fd in descriptors { Glibc.close(fd) }
    }

    private static func socketBoundToLoopback() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw failure("socket") }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            Glibc.close(fd)
            throw failure("bind")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    private static func failure(_ call: String) -> TestFailure {
        TestFailure(description: "\(call): \(String(cString: strerror(errno)))")
    }
}
