import DroverLinux
import Foundation

/// SPEC §10: droverd's files are its own. droverd runs with umask 077, so what it creates is
/// 0600 or 0700 from the start: the store (SQLite gives its WAL and shared-memory files the
/// database's mode), the state root, each replica's state directory (0700, owned by the uid
/// the replica runs as), the logs. What an earlier version left behind (0755 directories, a
/// 0644 store and WAL, 0640 logs) is tightened at start, before the store opens.
///
/// Replicas do not depend on the modes above their own directories: each sees its state
/// directory, its run directory and the names through bind mounts made as root before its
/// sandbox enters its user namespace, at the same paths, under empty directories that hide the
/// rest.
enum StatePermissions {
    /// The state root, the store's files' directories, each replica's state directory.
    static let privateDirectory: FileMode = 0o700
    static let privateFile: FileMode = 0o600
    /// What replicas are shown read-only (a run directory with its lameduck notice, the names)
    /// and the API socket's directory (the `drover` group reaches the socket through it).
    static let sharedDirectory: FileMode = 0o755
    static let sharedFile: FileMode = 0o644

    /// Tightens what an earlier droverd left; returns what could not be, for warnings.
    /// Everything is set through descriptors opened with O_NOFOLLOW: nothing planted in a
    /// state directory is followed. Only droverd's own levels are visited, never what replicas
    /// keep in their state directories.
    static func tighten(_ paths: DaemonPaths) -> [SystemError] {
        var failures: [SystemError] = []
        func set(_ path: String, _ mode: FileMode) {
            do { try setAttributes(atPath: path, mode: mode) } catch where error.errno == Errno.noSuchFile {
                // Not there: nothing to tighten.
            } catch {
                failures.append(error)
            }
        }
        set(paths.root, privateDirectory)
        for suffix in ["", "-wal", "-shm", "-journal"] { set(paths.database + suffix, privateFile) }
        // state/<job>/<index>, run/<job>, logs/<job>/<index>.log[.N]; run/<job>/<index> stays
        // shared (set at each spawn).
        for top in [paths.states, paths.runs, paths.logs] {
            set(top, privateDirectory)
            for job in entries(top) {
                set(top + "/" + job, privateDirectory)
                if top == paths.runs { continue }
                for entry in entries(top + "/" + job) {
                    set(top + "/" + job + "/" + entry, top == paths.states ? privateDirectory : privateFile)
                }
            }
        }
        return failures
    }

    private static func entries(_ directory: String) -> [String] {
        // Unreadable or missing: nothing below it to tighten (its own mode is reported by `set`).
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }
}
