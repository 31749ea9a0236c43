import ArgumentParser
import Glibc

// Exit codes (SPEC §7): 0 ok, 1 operation failed, 2 usage error, 3 daemon unreachable;
// `drover run` passes the workload's code through and uses 125/126/127 for its own failures.
do {
    var command = try Drover.parseAsRoot()
    if let daemonCommand = command as? any DaemonCommand {
        try await daemonCommand.execute()
    } else {
        try command.run()
    }
} catch {
    let code = Drover.exitCode(for: error)
    if code == .validationFailure {
        // ArgumentParser's EX_USAGE (64) becomes 2, the code drover documents for bad usage.
        FileHandleStandardError.write(Drover.fullMessage(for: error) + "\n")
        exit(2)
    }
    Drover.exit(withError: error)
}
