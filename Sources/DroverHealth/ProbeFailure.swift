#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DroverCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Turns what went wrong into the short message `drover inspect` shows: the step and the
/// system's words for it (`connect: connection refused`), never a Swift error dump.
enum ProbeFailure {
    /// The connection could not be made.
    static func connectFailed(_ error: any Error, host: String, timedOut: ProbeResult) -> ProbeResult {
        switch error {
        case ChannelError.connectTimeout:
            return timedOut
        case let error as NIOConnectionError:
            // Name resolution worked but every address failed: the first address's reason.
            if let first = error.connectionErrors.first { return connectFailed(first.error, host: host, timedOut: timedOut) }
            if let resolution = error.dnsAError ?? error.dnsAAAAError {
                return .failed("resolve \(host): \(resolution)")
            }
            return .failed("resolve \(host): no addresses")
        default:
            return .failed("connect: \(describe(error))")
        }
    }

    /// The connection was made but the exchange on it failed.
    static func exchangeFailed(_ error: any Error) -> ProbeResult {
        switch error {
        case is HTTPParserError, is NIOHTTPDecoderError, is ByteToMessageDecoderError:
            return .failed("invalid HTTP response")
        default:
            return .failed("read: \(describe(error))")
        }
    }

    /// An errno as the system says it, lowercased as in `connection refused`; other errors as
    /// they describe themselves.
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? IOError else { return "\(error)" }
        guard let text = strerror(error.errnoCode) else { return "errno \(error.errnoCode)" }
        let words = String(cString: text)
        return words.prefix(1).lowercased() + words.dropFirst()
    }

    /// `100ms`, `1s`, `1500ms`, `2m`, as a user writes a duration in the jobs file.
    static func format(_ duration: Duration) -> String { formatDuration(duration) }
}
