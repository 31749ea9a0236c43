import ArgumentParser
import DroverWire

/// `drover reload`: droverd reads its `--config DIR` again (as SIGHUP and `systemctl reload
/// droverd` do): creates and updates DIR's jobs, deletes those that came from DIR and are no
/// longer in it. Jobs applied with `drover apply` are not touched.
struct Reload: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Make droverd read its --config directory again.")
    @OptionGroup var daemon: DaemonOptions
    @Flag(help: "Print the answer as JSON.") var json = false

    func execute() async throws {
        try await call {
            let answer = try await daemon.client.reload()
            if json { return try printJSON(answer) }
            showApplied(answer, prefix: "")
        }
    }
}
