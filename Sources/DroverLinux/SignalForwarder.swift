import CDroverShim
import DroverCore
import Glibc

/// Receives signals sent to this process through a signalfd and passes them to a sandbox,
/// for a foreground `drover run` that must behave like the workload it wraps.
public final class SignalForwarder: @unchecked Sendable {
    /// What drover-init forwards to the workload.
    public static let forwardedByInit: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH]

    private let signalFD: Int32

    /// Blocks `signals` in this thread (and threads created after) from now on.
    public init(signals: [Int32]) throws(SystemError) {
        let fd = signals.withUnsafeBufferPointer { drover_signalfd_block($0.baseAddress, Int32($0.count)) }
        if fd < 0 { throw SystemError("signalfd", errno: -fd) }
        signalFD = fd
    }

    deinit { close(signalFD) }

    /// Waits for the sandbox to exit, forwarding every signal received meanwhile.
    public func wait(for sandbox: Sandbox) -> ExitStatus {
        while true {
            var fds = [pollfd(fd: sandbox.pidfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 && errno != EINTR { return sandbox.wait() }
            if fds[0].revents != 0 { return sandbox.wait() }
            if fds[1].revents != 0 {
                let signal = drover_signalfd_read(signalFD)
                if signal > 0 { try? sandbox.signal(signal) }
            }
        }
    }
}
