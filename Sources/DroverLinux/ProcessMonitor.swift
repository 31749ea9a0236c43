import CDroverShim
import Glibc

/// Watches many processes for exit at once: their pidfds in one epoll set, waited on by one
/// thread, which reports each exit by token. A pidfd becomes readable when its process exits,
/// whether or not this process is its parent, which is what lets a restarted daemon follow
/// replicas it re-adopted.
public final class ProcessMonitor: @unchecked Sendable {
    private let epollFD: Int32
    private let wakeFD: Int32
    private let onExit: @Sendable (UInt64) -> Void
    private var thread = pthread_t()
    private static let wakeToken = UInt64.max

    /// `onExit` runs on the monitor's thread with the token given to `watch`.
    public init(onExit: @escaping @Sendable (UInt64) -> Void) throws(SystemError) {
        epollFD = drover_epoll_create()
        if epollFD < 0 { throw SystemError("epoll_create1", errno: -epollFD) }
        wakeFD = drover_eventfd()
        if wakeFD < 0 {
            close(epollFD)
            throw SystemError("eventfd", errno: -wakeFD)
        }
        self.onExit = onExit
        _ = drover_epoll_add(epollFD, wakeFD, Self.wakeToken)
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let monitor = Unmanaged<ProcessMonitor>.fromOpaque(context!).takeRetainedValue()
            monitor.loop()
            return nil
        }, context)
    }

    /// Reports `token` once when the process behind `pidfd` exits (at once if it already
    /// has). One-shot; the caller keeps ownership of the fd and unwatches before closing it.
    public func watch(pidfd: Int32, token: UInt64) throws(SystemError) {
        let result = drover_epoll_add(epollFD, pidfd, token)
        if result < 0 { throw SystemError("epoll_ctl", "pidfd \(pidfd)", errno: -result) }
    }

    public func unwatch(pidfd: Int32) {
        _ = drover_epoll_remove(epollFD, pidfd)
    }

    /// Stops the thread; no report arrives after this returns.
    public func shutdown() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        pthread_join(thread, nil)
        close(wakeFD)
        close(epollFD)
    }

    private func loop() {
        var tokens = [UInt64](repeating: 0, count: 64)
        while true {
            let count = drover_epoll_wait(epollFD, &tokens, Int32(tokens.count), -1)
            if count < 0 {
                if -count == EINTR { continue }
                return
            }
            for token in tokens[0..<Int(count)] {
                if token == Self.wakeToken { return }
                onExit(token)
            }
        }
    }
}
