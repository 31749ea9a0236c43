import ArgumentParser
import DroverCore
import DroverLinux
import DroverWire
import Foundation
import Glibc

struct Exec: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command inside a replica: its PID, mount, UTS and IPC namespaces and its cgroup.",
        discussion: """
            Like `docker exec`: the command runs as the job's user with the job's capabilities, \
            no_new_privs and the default seccomp filter, under a drover-init of its own, with \
            the replica's environment (DROVER_*, PORT_*, the job's env). Output passes through; \
            the exit code is the command's. Needs root (it joins namespaces).
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2 or 2.web") var name: String
    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        guard try parseName(name).index != nil else { throw ValidationError("exec needs one replica: JOB/INDEX such as web/2") }
        if command.isEmpty { throw ValidationError("missing the command: drover exec NAME -- CMD [ARGS...]") }
    }

    func execute() async throws {
        let (job, index) = try parseName(name)
        var replica: ReplicaStatus?
        var spec: JobSpec?
        try await call {
            replica = try await daemon.client.replica(job: job, index: index!)
            spec = try await daemon.client.job(job).spec
        }
        guard let replica, let spec, let pid = replica.pid, let cgroup = replica.cgroup else {
            throw fail("\(name) has no running process (state \(replica?.state ?? "unknown"))", code: 1)
        }
        guard getuid() == 0 else { throw fail("exec needs root: it joins \(name)'s namespaces", code: 1) }
        var environment = spec.replicaEnvironment(index: index!, ports: replica.ports, stateDirectory: replica.stateDirectory,
                                                  lameduckFile: nil)
        if let term = getenv("TERM") { environment["TERM"] = String(cString: term) }
        let user: UserSpec
        var kept = Set<Capability>()
        do {
            // No user: the job's own uid, which its drover-init runs as (as the host sees it).
            user = try spec.user.map { try UserSpec.parse($0) } ?? Self.hostUser(of: pid)
            for name in spec.capabilities { kept.insert(try Capability.named(name)) }
        } catch {
            throw fail("\(error)", code: 1)
        }
        let sandboxSpec = SandboxSpec(command: command, environment: environment, user: user, workdir: spec.workdir,
                                      capabilities: CapabilityPlan(kept: kept), dieWithParent: true)
        let forwarder: SignalForwarder
        let sandbox: Sandbox
        do {
            forwarder = try SignalForwarder(signals: SignalForwarder.forwardedByInit)
            sandbox = try SandboxLauncher(tree: nil).exec(sandboxSpec, inside: pid, cgroupPath: cgroup)
        } catch let error as LaunchError {
            throw fail(error.description, code: error.exitCode)
        } catch {
            throw fail("\(error)", code: 125)
        }
        let status = forwarder.wait(for: sandbox)
        throw ExitCode(status.exitCode)
    }

    static func hostUser(of pid: Int32) throws -> UserSpec {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func first(_ field: String) -> UInt32? {
            status.split(separator: "\n").first { $0.hasPrefix(field) }?
                .split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { UInt32($0) }
        }
        guard let uid = first("Uid:"), let gid = first("Gid:") else {
            throw InputError("pid \(pid)", "is gone: its uid cannot be read")
        }
        return .id(uid: uid, gid: gid)
    }
}
