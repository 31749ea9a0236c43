import ArgumentParser
import DroverWire
import Foundation

struct Inspect: DaemonCommand {
    static let configuration = CommandConfiguration(abstract: "Everything known about a replica (web/2) or a job (web).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "web/2, 2.web or web") var name: String
    @Flag(help: "Print JSON.") var json = false

    func validate() throws { _ = try parseName(name) }

    func execute() async throws {
        let (job, index) = try parseName(name)
        try await call {
            if let index {
                let replica = try await daemon.client.replica(job: job, index: index)
                if json { return try printJSON(replica) }
                try printFields(replica)
            } else {
                let status = try await daemon.client.job(job)
                if json { return try printJSON(status) }
                try printFields(status)
            }
        }
    }

    /// The same fields as --json, as YAML-ish lines for people.
    private func printFields<T: Encodable>(_ value: T) throws {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
        func show(_ value: Any, indent: String) {
            if let dictionary = value as? [String: Any] {
                for key in dictionary.keys.sorted() {
                    let child = dictionary[key]!
                    if child is [String: Any] || child is [Any] {
                        print("\(indent)\(key):")
                        show(child, indent: indent + "  ")
                    } else {
                        print("\(indent)\(key): \(child)")
                    }
                }
            } else if let array = value as? [Any] {
                for item in array {
                    if item is [String: Any] {
                        print("\(indent)-")
                        show(item, indent: indent + "  ")
                    } else {
                        print("\(indent)- \(item)")
                    }
                }
            }
        }
        show(object, indent: "")
    }
}
