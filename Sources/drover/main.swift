import ArgumentParser
import Glibc

// Exit codes (SPEC §7): 0 ok, 1 operation failed, 2 usage error, 3 daemon unreachable;
// `drover run` passes the workload's code through and uses 125/126/127 for its own failures.
/// `drover --socket P ps` as `drover ps --socket P`: global options may come before the
/// subcommand, as docker's and kubectl's do (ArgumentParser takes them only after it).
func movingGlobalOptions(_ arguments: [String]) -> [String] {
    var leading: [String] = []
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        if argument == "--socket", index + 1 < arguments.count {
            leading += arguments[index...index + 1]
            index += 2
        } else if argument.hasPrefix("--socket=") {
            leading.append(argument)
            index += 1
        } else {
            break
        }
    }
    guard !leading.isEmpty, index < arguments.count else { return arguments }
    // After the subcommand, before any `--` (what follows it is a command's own arguments).
    var rest = Array(arguments[(index + 1)...])
    let terminator = rest.firstIndex(of: "--") ?? rest.endIndex
    rest.insert(contentsOf: leading, at: terminator)
    return [arguments[index]] + rest
}

do {
    var command = try Drover.parseAsRoot(movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
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
