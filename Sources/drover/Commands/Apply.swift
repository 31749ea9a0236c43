import ArgumentParser
import DroverWire
import Foundation

struct Apply: DaemonCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send jobs files to droverd (all-or-nothing).",
        discussion: "Prints what was created, changed, unchanged and deleted. A file with an error changes nothing.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: ArgumentHelp("A jobs file, or a directory of *.yaml files.", valueName: "file|dir"))
    var path: String
    @Flag(name: .customLong("dry-run"), help: "Validate and show the diff without changing anything.")
    var dryRun = false
    @Flag(help: "Print the answer as JSON.")
    var json = false

    func execute() async throws {
        let files = try readJobsFiles(path)
        try await call {
            let answer = try await daemon.client.apply(ApplyRequest(files: files, dryRun: dryRun))
            if json { return try printJSON(answer) }
            show(answer)
        }
    }

    /// `web created`, `(dry run) db changed`, ...
    private func show(_ answer: ApplyResponse) {
        let prefix = dryRun ? "(dry run) " : ""
        for (word, names) in [("created", answer.created), ("changed", answer.changed), ("unchanged", answer.unchanged), ("deleted", answer.deleted)] {
            for name in names { print("\(prefix)\(name) \(word)") }
        }
    }

    private func readJobsFiles(_ path: String) throws -> [ApplyFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or directory")
        }
        var paths = [path]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            paths = names.sorted().filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }.map { path + "/" + $0 }
            // An empty directory is not "no jobs": applied, it would delete every job.
            if paths.isEmpty { throw ValidationError("\(path): no *.yaml or *.yml file in it") }
        }
        return try paths.map { file in
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("\(file): cannot read it (a dangling or looping link, or no permission)")
            }
            // Refused, not repaired: U+FFFD in place of a bad byte would change the config.
            guard let text = String(validating: data, as: UTF8.self) else {
                let offset = Self.firstInvalidUTF8(data)
                throw ValidationError("\(file): not UTF-8 text (byte 0x\(String(data[data.startIndex + offset], radix: 16, uppercase: true)) at offset \(offset))")
            }
            return ApplyFile(path: file, content: text)
        }
    }

    /// Where the first byte that is not part of a valid UTF-8 character is.
    static func firstInvalidUTF8(_ data: Data) -> Int {
        let bytes = [UInt8](data)
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
            guard length > 0, index + length <= bytes.count,
                  String(validating: bytes[index..<index + length], as: UTF8.self) != nil else { return index }
            index += length
        }
        return max(0, bytes.count - 1)
    }
}
