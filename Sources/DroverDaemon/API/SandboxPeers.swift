import DroverLinux
import DroverWire
import NIOCore

/// The API takes no orders from inside a sandbox, whoever the peer is there (issue 11, SPEC
/// §10): a replica's root is real root with `host_root: true`, and even root mapped onto a
/// job's uid must not apply, delete or drain. Replicas cannot see the socket at all; this is
/// the wall behind that one, for a descriptor smuggled in. The peer's cgroup decides: every
/// process of a sandbox is in a leaf under droverd's tree, and none can leave it (the
/// cgroupfs it sees is read-only, the host's is real root's).
extension DroverRequestContext {
    /// Refuses with 403 when the peer (`pid`, from SO_PEERCRED) runs in `sandboxes`, or when
    /// where it runs cannot be told (it has exited: its pid may be another process's by now).
    func requireOutsideSandboxes(_ sandboxes: CgroupTree, pid: Int32) async throws {
        // Older kernels have no SO_PEERPIDFD: the pid alone, read at once, is what is left.
        let pidfd: CInt? = try? await peerPidfd()
        let cgroup: String
        do {
            cgroup = try ProcessCgroup.path(ofPeer: pid, pidfd: pidfd)
        } catch {
            throw APIError(.forbidden, ErrorBody(
                error: "forbidden",
                detail: "cannot tell whether the peer (pid \(pid)) runs inside a sandbox (\(error)): mutations are refused"))
        }
        if sandboxes.contains(cgroup: cgroup) {
            throw APIError(.forbidden, ErrorBody(
                error: "forbidden",
                detail: "mutations are not accepted from inside a sandbox: the peer (pid \(pid)) runs in cgroup \(cgroup), below droverd's sandboxes' \(sandboxes.pathInHierarchy) (reads are allowed)"))
        }
    }

    /// SO_PEERPIDFD (Linux 6.5): the peer as a pidfd, so that its pid is not reused under us.
    private func peerPidfd() async throws -> CInt? {
        let fd: CInt? = try await socketOption(PeerCredentials.pidfdSocketOption)
        return fd.flatMap { $0 >= 0 ? $0 : nil }
    }
}
