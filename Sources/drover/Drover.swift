import ArgumentParser
import Glibc

struct Drover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drover",
        abstract: "Run and inspect sandboxed workloads on this host.",
        discussion: """
            Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 daemon unreachable. \
            `drover run` exits with the workload's code, or 125 when drover could not start it \
            (126: not executable, 127: not found).
            """,
        subcommands: [Apply.self, Reload.self, Ps.self, Inspect.self, Logs.self, Events.self, Resolve.self, Evict.self, Drain.self, Undrain.self, Scale.self, Restart.self, Stop.self, Start.self, Delete.self, Exec.self, Run.self]
    )
}

/// Messages to stderr, unbuffered, prefixed as `drover: `.
enum FileHandleStandardError {
    static func write(_ text: String) {
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}

func warn(_ message: String) {
    FileHandleStandardError.write("drover: warning: \(message)\n")
}

func fail(_ message: String, code: Int32) -> ExitCode {
    FileHandleStandardError.write("drover: \(message)\n")
    return ExitCode(code)
}
