import DroverConfig
import DroverCore
import DroverLinux
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `droverd --config DIR` as one source among others (issue 14): at start and on every reload
/// (SIGHUP, `drover reload`, `systemctl reload`) DIR's jobs are created or updated, and the
/// jobs that came from DIR and are no longer in it are deleted. Jobs applied through the CLI
/// or the API are never touched by it, so they survive droverd's restarts.
final class ConfigSource: Sendable {
    // Immutable after init; `Supervisor` is an actor.
    let directory: String
    let strict: Bool
    let supervisor: Supervisor
    let logger: Logger

    /// What each job from DIR records as its source: `config:` and DIR made absolute.
    var name: String { configSource(directory) }

    init(directory: String, strict: Bool, supervisor: Supervisor, logger: Logger) {
        self.directory = directory
        self.strict = strict
        self.supervisor = supervisor
        self.logger = logger
    }

    /// Reads, checks and applies DIR. A directory that cannot be read or a file with an error
    /// changes nothing: `ConfigReloadError` lists every problem.
    func apply(dryRun: Bool = false) async throws -> Supervisor.ApplyResult {
        let files: [JobsFile]
        do { files = try JobsFile.readDirectory(directory) } catch { throw ConfigReloadError(problems: ["\(error)"]) }
        switch JobsConfig.parse(files) {
        case .failure(let errors):
            throw ConfigReloadError(problems: errors.errors.map(\.description))
        case .success(let specs):
            let refusals = strictRefusals(specs, strict: strict)
            if !refusals.isEmpty { throw ConfigReloadError(problems: refusals) }
            let result = try await supervisor.apply(specs, scope: .init(source: name, prune: true, pruneAll: true), dryRun: dryRun)
            logger.info("applied \(directory): created \(result.created), changed \(result.changed), deleted \(result.deleted)")
            return result
        }
    }

    /// A reload asked for by SIGHUP or `drover reload`: systemd hears RELOADING=1 first and
    /// READY=1 after, whether it worked or not (a failed reload keeps what runs).
    func reload(trigger: String) async throws -> Supervisor.ApplyResult {
        SystemdNotify.reloading()
        defer { SystemdNotify.send("READY=1") }
        do {
            return try await apply()
        } catch {
            logger.error("reload (\(trigger)) of \(directory) failed, nothing changed: \(error)")
            throw error
        }
    }

    /// SIGHUP reloads, as `systemctl reload` (ExecReload=kill -HUP $MAINPID) and every
    /// Unix daemon's habit ask; without `--config` it is logged and ignored (never the
    /// default action, which would end droverd).
    struct ReloadOnHangup: Service {
        let source: ConfigSource?
        let logger: Logger
        func run() async throws {
            for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                guard let source else {
                    logger.notice("SIGHUP: droverd runs without --config, nothing to reload")
                    continue
                }
                _ = try? await source.reload(trigger: "SIGHUP")
            }
        }
    }
}

/// `config:/etc/drover`: the source recorded for the jobs of a `--config` directory.
func configSource(_ directory: String) -> String {
    "config:" + ((directory as NSString).standardizingPath.hasPrefix("/") ? (directory as NSString).standardizingPath
        : (FileManager.default.currentDirectoryPath + "/" + directory as NSString).standardizingPath)
}

/// Why a `--config` directory was not applied: each problem on a line.
struct ConfigReloadError: Error, CustomStringConvertible {
    var problems: [String]
    var description: String { problems.joined(separator: "\n") }
}
