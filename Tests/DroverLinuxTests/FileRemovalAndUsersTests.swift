import DroverLinux
import DroverTestSupport
import Foundation
import Glibc
import Testing

/// The removals droverd makes of a replica's files, and the host-id check behind a job's uid.
struct FileRemovalTests {
    let base: String

    init() throws {
        base = try makeScratchDirectory("drover-removal")
    }

    @Test func removeEmptyDirectoryRemovesOnlyAnEmptyOne() throws {
        defer { removeTree(base) }
        let full = base + "/full"
        let empty = base + "/empty"
        #expect(mkdir(full, 0o755) == 0 && mkdir(empty, 0o755) == 0)
        try writeFileAtomically(atPath: full + "/file", contents: Array("x".utf8), mode: 0o644)

        #expect(try removeEmptyDirectory(atPath: full) == false, "a directory that holds a file stays")
        #expect(access(full + "/file", F_OK) == 0)
        #expect(try removeEmptyDirectory(atPath: empty) == true)
        #expect(access(empty, F_OK) != 0)
        #expect(try removeEmptyDirectory(atPath: empty) == false, "nothing there: nothing to do")
        #expect(throws: SystemError.self, "a file is not a directory (ENOTDIR)") {
            try removeEmptyDirectory(atPath: full + "/file/sub")
        }
    }
}

struct HostAccountTests {
    /// The third field of each line of a passwd or group file.
    static func ids(in path: String) -> Set<UInt32> {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            return fields.count > 2 ? UInt32(fields[2]) : nil
        })
    }

    @Test func accountsAndGroupsAreTakenOthersAreFree() {
        #expect(isHostAccountOrGroup(0), "root")
        let taken = Self.ids(in: "/etc/passwd").union(Self.ids(in: "/etc/group"))
        let free = (3_999_000_000...3_999_000_100).first { !taken.contains($0) }!
        #expect(!isHostAccountOrGroup(free))
    }

    @Test(.enabled(if: !HostAccountTests.ids(in: "/etc/group").subtracting(HostAccountTests.ids(in: "/etc/passwd")).isEmpty,
                   "this host has a group id no account has"))
    func aGroupAloneTakesItsID() {
        let groupOnly = Self.ids(in: "/etc/group").subtracting(Self.ids(in: "/etc/passwd")).min()!
        #expect(isHostAccountOrGroup(groupOnly))
        #expect(groupID(named: "root") == 0)
    }
}
