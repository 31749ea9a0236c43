import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// SPEC §10, issue 11 Done-when 3: droverd's files are its own. The store and its WAL are
/// 0600, the state root and every state directory 0700 (each owned by the uid its replica
/// runs as), the logs 0600 in 0700 directories, after a fresh start and after starting on
/// what an earlier version left (0755 directories, a 0644 store). The socket stays 0660.
/// Part of DaemonTests: one daemon at a time.
extension DaemonTests {
    func attributes(_ path: String) -> (mode: mode_t, uid: uid_t)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (info.st_mode & 0o7777, info.st_uid)
    }

    /// A job whose replicas each write a file into their state directory, then pause.
    func startWriters(_ daemon: TestDaemon, _ job: String) throws -> [ReplicaStatus] {
        let applied = try daemon.apply("""
            jobs:
              \(job):
                replicas: 2
                command: ["/bin/sh", "-c", "echo $DROVER_REPLICA > $DROVER_STATE_DIR/mine && echo started && exec \(testload) pause"]
            """)
        try #require(applied.code == 0, "\(applied.stderr)")
        try #require(try eventually(timeout: 30) { try replicas(daemon, job).filter { $0.state == "ready" }.count == 2 })
        return try replicas(daemon, job)
    }

    /// Every path SPEC §10 names, with what it must be; nil where any owner will do.
    func expectedModes(_ daemon: TestDaemon, _ job: String, _ running: [ReplicaStatus]) -> [(path: String, mode: mode_t, uid: uid_t?)] {
        let root = daemon.stateDirectory
        var expected: [(String, mode_t, uid_t?)] = [(root, 0o700, 0)]
        // droverd is running: in WAL mode, the WAL and its index exist.
        expected += ["drover.db", "drover.db-wal", "drover.db-shm"].map { (root + "/" + $0, 0o600, 0) }
        expected += [(root + "/state", 0o700, 0), (root + "/state/\(job)", 0o700, 0)]
        expected += running.map { ($0.stateDirectory, 0o700, $0.uid) }
        expected += [(root + "/logs", 0o700, 0), (root + "/logs/\(job)", 0o700, 0)]
        expected += running.map { ($0.logFile, 0o600, 0) }
        return expected
    }

    func expectPrivate(_ daemon: TestDaemon, _ job: String, _ running: [ReplicaStatus], _ when: String) {
        for (path, mode, uid) in expectedModes(daemon, job, running) {
            let found = attributes(path)
            #expect(found?.mode == mode, "\(when): \(path) is \(found.map { String($0.mode, radix: 8) } ?? "missing"), not \(String(mode, radix: 8))")
            if let uid { #expect(found?.uid == uid, "\(when): \(path) is owned by \(found?.uid ?? 0), not \(uid)") }
        }
        // Every state directory, not only the running replicas'.
        for entry in listDirectory(daemon.stateDirectory + "/state/\(job)") {
            let path = daemon.stateDirectory + "/state/\(job)/\(entry)"
            #expect(attributes(path)?.mode == 0o700, "\(when): \(path)")
        }
        #expect(attributes(daemon.socket)?.mode == 0o660, "\(when): the API socket stays 0660 (SPEC §8)")
    }

    /// What the replicas are shown of droverd's files still works with the parents 0700: the
    /// state directory (written from inside) and the names files (read from inside).
    func expectReplicasReachTheirOwn(_ daemon: TestDaemon, _ job: String, _ running: [ReplicaStatus], _ when: String) throws {
        for replica in running {
            let mine = replica.stateDirectory + "/mine"
            #expect((try? String(contentsOfFile: mine, encoding: .utf8)) == "\(replica.index)\n", "\(when): \(replica.name) wrote its state")
            #expect(attributes(mine)?.uid == replica.uid, "\(when): as its own uid")
            let write = try daemon.drover(["exec", replica.name, "--", "/bin/sh", "-c", "echo \(when) > $DROVER_STATE_DIR/again && cat $DROVER_STATE_DIR/again"])
            #expect(write.code == 0 && write.stdout == "\(when)\n", "\(when): \(replica.name) writes its state directory: \(write.stderr)")
        }
        let names = daemon.directory + "/names/\(job)"
        let read = try daemon.drover(["exec", running[0].name, "--", "/bin/cat", names])
        #expect(read.code == 0 && read.stdout.split(separator: "\n").count == 2, "\(when): the names files are readable inside: \(read.stdout) \(read.stderr)")
        #expect(attributes(daemon.directory + "/names")?.mode == 0o755 && attributes(names)?.mode == 0o644)
    }

    // MARK: permissions (SPEC §10)

    @Test func afterAFreshStartTheStoreAndStateDirectoriesAreOnlyDroverdsAndEachReplicas() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("private")
        let running = try startWriters(daemon, job)
        expectPrivate(daemon, job, running, "fresh start")
        try expectReplicasReachTheirOwn(daemon, job, running, "fresh")
    }

    @Test func startingOnWhatAnEarlierVersionLeftTightensIt() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("upgraded")
        let running = try startWriters(daemon, job)
        daemon.kill(SIGKILL) // replicas keep running, as across an upgrade
        // What the previous version wrote: umask 022 modes everywhere.
        let root = daemon.stateDirectory
        for path in [root, root + "/state", root + "/state/\(job)", root + "/logs", root + "/logs/\(job)", root + "/run", root + "/run/\(job)"]
            + running.map(\.stateDirectory) {
            chmod(path, 0o755)
        }
        for path in ["drover.db", "drover.db-wal", "drover.db-shm"].map({ root + "/" + $0 }) + running.map(\.logFile) {
            chmod(path, 0o644)
        }
        try #require(attributes(root + "/drover.db-wal")?.mode == 0o644, "the old modes are in place")

        try daemon.start()
        try #require(try eventually(timeout: 30) { try replicas(daemon, job).filter { $0.state == "ready" }.count == 2 })
        #expect(try replicas(daemon, job).map(\.pid) == running.map(\.pid), "re-adopted, not restarted")
        expectPrivate(daemon, job, running, "after the upgrade")
        #expect(attributes(root + "/run")?.mode == 0o700 && attributes(root + "/run/\(job)")?.mode == 0o700)
        try expectReplicasReachTheirOwn(daemon, job, running, "upgraded")
    }
}
