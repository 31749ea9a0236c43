import DroverLinux

/// What went wrong with a job's service proxy, said to the person who configured it.
public enum ProxyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The listening socket could not be set up: `errno` when the kernel refused (EADDRINUSE:
    /// another program, or another job's service, holds the port), `detail` says why.
    case cannotListen(service: String, address: String, port: Int, errno: Int32?, detail: String)
    /// `start()` was called twice, or after `stop()`.
    case alreadyStarted(service: String)

    public var description: String {
        switch self {
        case .cannotListen(let service, let address, let port, let errno, let detail):
            let hint = errno == Errno.addressInUse ? "; another program (or another job's service) is using the port" : ""
            return "service `\(service)`: cannot listen on \(hostPort(address, port)): \(detail)\(hint)"
        case .alreadyStarted(let service):
            return "service `\(service)`: the proxy was already started (a stopped proxy is not restarted; make a new one)"
        }
    }
}

/// `127.0.0.1:8080`, `[::1]:8080`.
func hostPort(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}
