import ArgumentParser

struct Undrain: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "End a drain: every job comes back to its declared count.")
    @OptionGroup var daemon: DaemonOptions

    func execute() async throws {
        try await call {
            _ = try await daemon.client.undrain()
            print("undrained")
        }
    }
}
