import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// Health checks (SPEC §1 `health`): one loop per replica process.
extension Supervisor {
    func startHealthChecks(_ key: Key, _ replica: Replica) {
        replica.healthTask?.cancel()
        let health = replica.lifecycle.job.health
        guard health.ready != nil || health.live != nil else {
            replica.health = nil
            return
        }
        replica.health = HealthTracker(health)
        let generation = replica.generation
        let started = Timestamp.now
        replica.healthTask = Task { [weak self, eventSink] in
            var lastStart: [HealthTracker.Check: Timestamp] = [:]
            while !Task.isCancelled {
                guard let self, let due = await self.nextProbe(key, generation, lastStart, started) else { return }
                let delay = due.time - .now
                if delay > .zero { try? await Task.sleep(for: delay) }
                if Task.isCancelled { return }
                lastStart[due.check] = .now
                guard let result = await self.probe(key, generation, due.check) else { return }
                eventSink.yield(.probed(key, generation: generation, check: due.check, result: result))
            }
        }
    }

    func nextProbe(_ key: Key, _ generation: UInt64, _ lastStart: [HealthTracker.Check: Timestamp],
                           _ started: Timestamp) -> (check: HealthTracker.Check, time: Timestamp)? {
        guard let replica = replicas[key], replica.generation == generation, let tracker = replica.health else { return nil }
        var best: (check: HealthTracker.Check, time: Timestamp)?
        for check in HealthTracker.Check.allCases {
            // The first probe of a check comes one period after the start.
            guard let time = tracker.nextProbe(check, after: lastStart[check] ?? started) else { continue }
            if best == nil || time < best!.time { best = (check, time) }
        }
        return best
    }

    /// Runs one probe. The network probes await off the actor; an exec probe runs inside the
    /// replica like `drover exec`.
    func probe(_ key: Key, _ generation: UInt64, _ check: HealthTracker.Check) async -> ProbeResult? {
        guard let replica = replicas[key], replica.generation == generation, let sandbox = replica.sandbox,
              let spec = check == .ready ? replica.lifecycle.job.health.ready : replica.lifecycle.job.health.live
        else { return nil }
        switch spec.probe {
        case .http(let path, let port):
            guard let number = replica.ports[port] else { return ProbeResult(passed: false, message: "no port \(port)") }
            return await HealthProbe.http(port: number, path: path, timeout: spec.timeout)
        case .tcp(let port):
            guard let number = replica.ports[port] else { return ProbeResult(passed: false, message: "no port \(port)") }
            return await HealthProbe.tcp(port: number, timeout: spec.timeout)
        case .exec(let command):
            return await execProbe(key, replica, sandbox: sandbox, command: command, timeout: spec.timeout)
        }
    }

    func execProbe(_ key: Key, _ replica: Replica, sandbox: Sandbox, command: [String], timeout: Duration) async -> ProbeResult {
        let job = replica.lifecycle.job
        let environment = job.replicaEnvironment(index: key.index, ports: replica.ports, stateDirectory: paths.stateDirectory(key),
                                                 lameduckFile: paths.lameduckFile(key))
        let checker: Sandbox
        do {
            let spec = try isolation(key, spec: job, command: command, environment: environment)
            checker = try launcher.exec(spec, inside: sandbox.pid, cgroupPath: leafPath(key), stdio: (devNull, devNull, devNull))
        } catch {
            return ProbeResult(passed: false, message: "exec: \(error)")
        }
        // Waiting blocks in poll(2): off the actor, on a thread of its own.
        let status = await Task.detached { checker.wait(timeout: timeout) }.value
        guard let status else {
            try? checker.kill()
            _ = checker.wait()
            return ProbeResult(passed: false, message: "timeout after \(formatDuration(timeout))")
        }
        return ProbeResult(passed: status == .exited(0), message: status.description)
    }

    func record(_ key: Key, _ generation: UInt64, _ check: HealthTracker.Check, _ result: ProbeResult) {
        guard let replica = replicas[key], replica.generation == generation, replica.health != nil else { return }
        let change = replica.health!.record(check, passed: result.passed, message: result.message, at: .now)
        switch change {
        case .becameReady?:
            event(subject: key.description, kind: "ready", message: "\(check) check passed: \(result.message)")
            perform(replica.lifecycle.handle(.becameReady(now: .now)), for: key)
        case .becameUnready?:
            event(subject: key.description, kind: "unready", message: "\(check) check failing: \(result.message)")
            perform(replica.lifecycle.handle(.becameUnready(now: .now)), for: key)
        case .livenessFailed?:
            event(subject: key.description, kind: "unhealthy", message: "live check failed: \(result.message)")
            replica.healthTask?.cancel()
            perform(replica.lifecycle.handle(.evictRequested(.unhealthy, grace: replica.lifecycle.job.lameduck.grace, now: .now)), for: key)
        case nil:
            break
        }
        endTurn()
    }
}
