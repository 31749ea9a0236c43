import DroverLinux
import DroverWire
import Hummingbird
import NIOCore

/// The request context: the connection's channel, to ask the kernel who the peer is.
struct DroverRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The group allowed to mutate besides root (SPEC §8).
    static let mutatingGroup = "drover"

    /// Refuses with 403 unless the peer is root or in the `drover` group, and outside every
    /// sandbox (`SandboxPeers.swift`).
    func requireMutationRights(sandboxes: CgroupTree) async throws {
        guard let credentials: PeerCredentials = try await socketOption(PeerCredentials.socketOption) else {
            throw APIError(.forbidden, ErrorBody(error: "forbidden", detail: "cannot tell who is connected (no SO_PEERCRED)"))
        }
        // Before the uid: root inside a sandbox is refused too.
        try await requireOutsideSandboxes(sandboxes, pid: credentials.pid)
        if credentials.uid == 0 || credentials.isMember(ofGroup: Self.mutatingGroup) { return }
        throw APIError(.forbidden, ErrorBody(
            error: "forbidden",
            detail: "uid \(credentials.uid) may read but not change state: mutations need root or the \"\(Self.mutatingGroup)\" group"))
    }

    /// A SOL_SOCKET option of the connection as the kernel gives it, nil when the channel is
    /// no socket.
    func socketOption<Value: Sendable>(_ option: CInt) async throws -> Value? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let value: Value = try await provider.unsafeGetSocketOption(level: .socket, name: .init(rawValue: option)).get()
        return value
    }
}
