import ArgumentParser
import DroverConfig
import DroverWire
import Foundation

struct Apply: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and update the jobs of a file or directory (all-or-nothing).",
        discussion: """
            Prints what was created, changed, unchanged and deleted. A file with an error changes \
            nothing. Jobs not in FILE|DIR are left alone, as kubectl apply does; with --prune, the \
            jobs applied earlier from the same FILE|DIR that it no longer declares are deleted. A \
            prune that would delete every job on the host also needs --prune-all.
            """)

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: ArgumentHelp("A jobs file, or a directory of *.yaml files.", valueName: "file|dir"))
    var path: String
    @Flag(name: .customLong("dry-run"), help: "Validate and show what would change, changing nothing.")
    var dryRun = false
    @Flag(help: "Also delete the jobs applied from this file or directory that it no longer declares.")
    var prune = false
    @Flag(name: .customLong("prune-all"), help: "Let --prune delete every job on the host.")
    var pruneAll = false
    @Flag(help: "Print the answer as JSON.")
    var json = false

    func validate() throws {
        if pruneAll && !prune { throw ValidationError("--prune-all goes with --prune") }
    }

    func execute() async throws {
        let files = try readJobsFiles(path)
        try await call {
            let request = ApplyRequest(files: files, dryRun: dryRun, source: Self.source(path), prune: prune, pruneAll: pruneAll)
            let answer = try await daemon.client.apply(request)
            if json { return try printJSON(answer) }
            showApplied(answer, prefix: dryRun ? "(dry run) " : "")
        }
    }

    /// `file:` and the path made absolute: what each job records as where it came from, and
    /// what `--prune` matches.
    static func source(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return "file:" + (absolute as NSString).standardizingPath
    }

    private func readJobsFiles(_ path: String) throws -> [ApplyFile] {
        // The reader droverd uses for --config: the same files, the same rules, the same errors.
        do {
            return try JobsFile.read(fileOrDirectory: path).map { ApplyFile(path: $0.path, content: $0.text) }
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
