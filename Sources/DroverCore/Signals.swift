/// Linux signal numbers by name (x86_64, arm64 and every other architecture drover builds for
/// share these).
public enum Signals {
    static let table: [(String, Int32)] = [
        ("SIGHUP", 1), ("SIGINT", 2), ("SIGQUIT", 3), ("SIGILL", 4), ("SIGTRAP", 5), ("SIGABRT", 6),
        ("SIGBUS", 7), ("SIGFPE", 8), ("SIGKILL", 9), ("SIGUSR1", 10), ("SIGSEGV", 11), ("SIGUSR2", 12),
        ("SIGPIPE", 13), ("SIGALRM", 14), ("SIGTERM", 15), ("SIGCHLD", 17), ("SIGCONT", 18),
        ("SIGSTOP", 19), ("SIGTSTP", 20), ("SIGWINCH", 28),
    ]

    public static func name(_ number: Int32) -> String {
        table.first { $0.1 == number }?.0 ?? "signal \(number)"
    }

    /// `SIGTERM`, `TERM`, `term` or `15`.
    public static func number(_ text: String) throws(InputError) -> Int32 {
        if let n = Int32(text), (1...64).contains(n) { return n }
        var name = text.uppercased()
        if !name.hasPrefix("SIG") { name = "SIG" + name }
        guard let entry = table.first(where: { $0.0 == name }) else {
            throw InputError(InputError.quoted(text), "is not a signal (e.g. SIGTERM, SIGINT, SIGUSR1)")
        }
        return entry.1
    }
}
