import DroverCore
import DroverLinux
import DroverWire
import Foundation
import GRDB

/// droverd's durable state: desired jobs, what it knows of each replica (enough to re-adopt it
/// after a crash), events, and answers to mutating requests (idempotency). SQLite in WAL mode
/// with synchronous=FULL: a transaction that returned survives power loss, and one cut short
/// by SIGKILL leaves the previous state, never a mix.
final class Store: @unchecked Sendable {
    private let database: DatabasePool

    init(path: String) throws {
        var configuration = Configuration()
        // A reader connection opening the WAL (or checkpointing) holds a lock for a moment:
        // wait for it rather than fail the write (GRDB's default is to fail at once).
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabasePool(path: path, configuration: configuration)
        // GRDB switches a pool to WAL with synchronous=NORMAL after prepareDatabase (synced
        // only at checkpoints); the writer must sync every commit: SPEC §8, power loss.
        try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try migrator.migrate(database)
    }

    private var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "job") { t in
                t.primaryKey("name", .text)
                t.column("spec", .text).notNull()
                t.column("stopped", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "replica") { t in
                t.column("job", .text).notNull()
                t.column("idx", .integer).notNull()
                t.column("record", .text).notNull()
                t.primaryKey(["job", "idx"])
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .double).notNull()
                t.column("subject", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("message", .text).notNull()
            }
            try db.create(table: "request") { t in
                t.primaryKey("id", .text)
                t.column("status", .integer).notNull()
                t.column("body", .blob).notNull()
            }
        }
        migrator.registerMigration("v2: settings") { db in
            try db.create(table: "setting") { t in
                t.primaryKey("name", .text)
                t.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v3: identities") { db in
            // SPEC §10: each job's own uid (and gid), kept for the job's life.
            try db.create(table: "identity") { t in
                t.primaryKey("job", .text)
                t.column("uid", .integer).notNull().unique()
            }
        }
        migrator.registerMigration("v4: request fingerprints") { db in
            // An id is scoped to its request (method, path, body): RequestIDs.
            try db.alter(table: "request") { t in t.add(column: "fingerprint", .text) }
        }
        migrator.registerMigration("v5: job sources") { db in
            // Where each job was applied from (issue 14): `apply --prune` and `droverd
            // --config DIR` delete only jobs of their own source. Jobs stored before have none.
            try db.alter(table: "job") { t in t.add(column: "source", .text) }
        }
        return migrator
    }

    // MARK: identities

    func identities() throws -> [String: UInt32] {
        try database.read { db in
            var result: [String: UInt32] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT job, uid FROM identity") { result[row["job"]] = UInt32(row["uid"] as Int64) }
            return result
        }
    }

    /// Synchronous: a replica writes files as this uid, so it must be durable before one runs.
    func setIdentity(job: String, uid: UInt32) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO identity (job, uid) VALUES (?, ?)", arguments: [job, Int64(uid)])
        }
    }

    func releaseIdentity(job: String) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM identity WHERE job = ?", arguments: [job]) }
    }

    // MARK: jobs

    struct StoredJob: Equatable {
        var spec: JobSpec
        var stopped: Bool
        /// Where it was applied from: `config:DIR` (droverd --config), `file:PATH` (drover
        /// apply PATH), nil (an API client that named none, or a job stored before sources).
        var source: String? = nil
    }

    /// The stored jobs, and the ones that cannot be run as stored (written by a droverd that
    /// checked less, or edited by hand), each with why: droverd starts with the rest instead
    /// of crashing on its own store at every start.
    func jobs() throws -> (jobs: [String: StoredJob], refused: [String: String]) {
        try database.read { db in
            var result: [String: StoredJob] = [:]
            var refused: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, spec, stopped, source FROM job") {
                let name: String = row["name"]
                let spec: JobSpec
                do { spec = try JSONDecoder().decode(JobSpec.self, from: Data((row["spec"] as String).utf8)) } catch {
                    refused[name] = "its stored spec cannot be read: \(error)"
                    continue
                }
                let problems = spec.valuesOutsideLimits
                guard problems.isEmpty else {
                    refused[name] = problems.map(\.description).joined(separator: "; ")
                    continue
                }
                result[name] = StoredJob(spec: spec, stopped: row["stopped"], source: row["source"])
            }
            return (result, refused)
        }
    }

    /// Replaces the whole desired state in one transaction (apply is all-or-nothing), with
    /// each job's source.
    func replaceJobs(_ specs: [JobSpec], sources: [String: String] = [:], event: (subject: String, kind: String, message: String)) throws {
        try database.write { db in
            let names = specs.map(\.name)
            let existing = try String.fetchAll(db, sql: "SELECT name FROM job")
            for name in existing where !names.contains(name) {
                try db.execute(sql: "DELETE FROM job WHERE name = ?", arguments: [name])
            }
            for spec in specs {
                let json = String(decoding: try JSONEncoder.sorted.encode(spec), as: UTF8.self)
                try db.execute(sql: """
                    INSERT INTO job (name, spec, stopped, source) VALUES (?, ?, 0, ?)
                    ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, source = excluded.source
                    """, arguments: [spec.name, json, sources[spec.name]])
            }
            try insertEvent(db, subject: event.subject, kind: event.kind, message: event.message)
        }
    }

    func setStopped(_ job: String, _ stopped: Bool) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE job SET stopped = ? WHERE name = ?", arguments: [stopped, job])
        }
    }

    func deleteJob(_ job: String) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM job WHERE name = ?", arguments: [job])
        }
    }

    func drained() throws -> Bool {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'drained'") == "1"
        }
    }

    func setDrained(_ drained: Bool) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO setting (name, value) VALUES ('drained', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                           arguments: [drained ? "1" : "0"])
        }
    }

    // MARK: replicas

    func replicas() throws -> [ReplicaRecord] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT record FROM replica").map {
                try JSONDecoder().decode(ReplicaRecord.self, from: Data($0.utf8))
            }
        }
    }

    /// A batch of replica saves, removals and events in one transaction: one fsync for all
    /// that one turn of the supervisor changed.
    func commit(saves: [ReplicaRecord], removals: [(job: String, index: Int)], events: [(time: Date, subject: String, kind: String, message: String)]) throws {
        let encoded = try saves.map { ($0, String(decoding: try JSONEncoder.sorted.encode($0), as: UTF8.self)) }
        try database.write { db in
            for (job, index) in removals {
                try db.execute(sql: "DELETE FROM replica WHERE job = ? AND idx = ?", arguments: [job, index])
            }
            for (record, json) in encoded {
                try db.execute(sql: """
                    INSERT INTO replica (job, idx, record) VALUES (?, ?, ?)
                    ON CONFLICT(job, idx) DO UPDATE SET record = excluded.record
                    """, arguments: [record.job, record.index, json])
            }
            for event in events {
                try db.execute(sql: "INSERT INTO event (time, subject, kind, message) VALUES (?, ?, ?, ?)",
                               arguments: [event.time.timeIntervalSince1970, event.subject, event.kind, event.message])
            }
        }
    }

    func synchronousMode() throws -> Int {
        try database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    // MARK: events

    private func insertEvent(_ db: Database, subject: String, kind: String, message: String) throws {
        try db.execute(sql: "INSERT INTO event (time, subject, kind, message) VALUES (?, ?, ?, ?)",
                       arguments: [Date().timeIntervalSince1970, subject, kind, message])
    }

    func events(after id: Int64, since: Date?, subject: String?) throws -> [Event] {
        try database.read { db in
            var sql = "SELECT id, time, subject, kind, message FROM event WHERE id > ?"
            var arguments: StatementArguments = [id]
            if let since {
                sql += " AND time >= ?"
                _ = arguments.append(contentsOf: [since.timeIntervalSince1970])
            }
            if let subject {
                sql += " AND (subject = ? OR subject LIKE ?)"
                _ = arguments.append(contentsOf: [subject, subject + "/%"])
            }
            sql += " ORDER BY id LIMIT 10000"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                Event(id: row["id"], time: rfc3339(Date(timeIntervalSince1970: row["time"])),
                      subject: row["subject"], kind: row["kind"], message: row["message"])
            }
        }
    }

    // MARK: idempotent requests

    func answer(forRequest id: String) throws -> (status: Int, body: Data, fingerprint: String?)? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT status, body, fingerprint FROM request WHERE id = ?", arguments: [id]) else {
                return nil
            }
            return (row["status"], row["body"], row["fingerprint"])
        }
    }

    func remember(request id: String, fingerprint: String, status: Int, body: Data) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO request (id, status, body, fingerprint) VALUES (?, ?, ?, ?)",
                           arguments: [id, status, body, fingerprint])
        }
    }
}

/// What droverd remembers of a replica across its own restarts: its whole lifecycle (state,
/// deadlines, counters, spec) and the ports it holds.
struct ReplicaRecord: Codable, Equatable, Sendable {
    var job: String
    var index: Int
    var lifecycle: ReplicaLifecycle
    var ports: [String: Int]
    var unenforced: [String]
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// `2026-11-30T02:11:57.765Z` (SystemClock.rfc3339).
func rfc3339(_ date: Date) -> String {
    SystemClock.rfc3339(secondsSinceEpoch: date.timeIntervalSince1970)
}
