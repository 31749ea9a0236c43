import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Starting a replica's process: its files, its sandbox (SPEC §2, §10).
extension Supervisor {
    func spawn(_ key: Key, _ replica: Replica) {
        let spec = replica.lifecycle.job
        do {
            let ports = try allocatePorts(key, for: spec, previous: replica.ports)
            replica.ports = ports
            let sandboxSpec = try sandboxSpec(key, spec: spec, ports: ports)
            try FileManager.default.createDirectory(atPath: (paths.runDirectory(key) as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            // The replica reads its lameduck notice here (bound read-only into its sandbox).
            try makeDirectory(atPath: paths.runDirectory(key), mode: StatePermissions.sharedDirectory)
            // Left from the last run (best effort, as before: the directory is droverd's own).
            try? removeFile(atPath: paths.lameduckFile(key))
            try? removeFile(atPath: paths.statusFile(key))
            let logFD = try ReplicaLogs(path: paths.logFile(key)).openForWriting()
            defer { closeDescriptor(logFD) }
            // Without it the exit status comes from waitid (droverd spawned it).
            let statusFD = (try? InitStatusFile.create(atPath: paths.statusFile(key))) ?? -1
            defer { if statusFD >= 0 { closeDescriptor(statusFD) } }
            destroyLeaf(key) // a leftover of a crash must not block the new leaf
            let sandbox = try launcher.launch(sandboxSpec, name: key.leafName, stdio: (devNull, logFD, logFD), statusFD: statusFD)
            replica.sandbox = sandbox
            replica.adopted = false
            replica.generation += 1
            replica.unenforced = sandbox.unenforced.map(\.limit)
            watch(key, replica)
            event(subject: key.description, kind: "started", message: "pid \(sandbox.pid)")
            perform(replica.lifecycle.handle(.spawned(pid: sandbox.pid, now: .now)), for: key)
            startHealthChecks(key, replica)
        } catch {
            let message = (error as? LaunchError)?.description ?? "\(error)"
            event(subject: key.description, kind: "start-failed", message: message)
            logger.warning("\(key): \(message)")
            perform(replica.lifecycle.handle(.spawnFailed(message: message, now: .now)), for: key)
        }
    }

    func sandboxSpec(_ key: Key, spec: JobSpec, ports: [String: Int]) throws -> SandboxSpec {
        let environment = spec.replicaEnvironment(index: key.index, ports: ports, stateDirectory: paths.stateDirectory(key),
                                                  lameduckFile: paths.lameduckFile(key))
        let command = try spec.command.map { try Expansion.expand($0, environment: environment) }
        var sandbox = try isolation(key, spec: spec, command: command, environment: environment)
        let stateDirectory = paths.stateDirectory(key)
        try FileManager.default.createDirectory(atPath: (stateDirectory as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        // Owned by the uid the replica is on the host (root inside maps onto the job's own),
        // 0700 (SPEC §10); set through a descriptor, never through a link planted at its path.
        let user = try ResolvedUser.resolve(sandbox.user)
        let owner = spec.hostRoot ? (user.uid, user.gid)
            : (user.uid == 0 ? sandbox.rootMapsTo!.uid : user.uid, user.gid == 0 ? sandbox.rootMapsTo!.gid : user.gid)
        try makeDirectory(atPath: stateDirectory, mode: StatePermissions.privateDirectory, owner: owner)
        var limits = ResourceLimits(memory: spec.resources.memory, cpu: spec.resources.cpu, pids: spec.resources.pids)
        if spec.priority != .production {
            // SPEC §2: batch and best-effort use only idle CPU.
            limits.cpuWeight = spec.priority == .batch ? 10 : 1
            limits.cpuIdle = true
        }
        sandbox.hostname = key.hostname
        sandbox.stateDirectory = stateDirectory
        // SPEC §10: its own ports and its job's service port, nothing else.
        sandbox.bindablePorts = ports.values.sorted() + (spec.service.map { [$0.port] } ?? [])
        sandbox.network = spec.network
        sandbox.limits = limits
        sandbox.strictLimits = strictLimits
        return sandbox
    }

    /// Who a replica's processes (or an exec probe's) are and what of the host they see
    /// (SPEC §10): the job's user or its own uid, root mapped onto that uid, the job's
    /// writable paths, droverd's own files hidden but for the replica's lameduck notice and
    /// the names files.
    func isolation(_ key: Key, spec: JobSpec, command: [String], environment: [String: String]) throws -> SandboxSpec {
        let identity = try identity(of: key.job)
        let hidden = [paths.root] + (paths.runtime == "/" ? [] : [paths.runtime])
        return try spec.sandboxSpec(
            command: command, environment: environment, ownUser: .id(uid: identity.uid, gid: identity.gid), rootMapsTo: identity,
            readOnlyPaths: [paths.runDirectory(key)] + (FileManager.default.fileExists(atPath: paths.namesDirectory) ? [paths.namesDirectory] : []),
            hiddenPaths: hidden)
    }
}
