import DroverLinux
import DroverTestSupport
import Glibc
import Testing

/// The chown and chmod droverd does on a replica's state directory: exact, whatever the umask,
/// and never through a link the replica could have planted at the path (issue 11).
@Suite(.enabled(if: TestEnvironment.isRoot, "needs root: it gives directories to other uids"))
struct FileAttributesTests {
    let base: String

    init() throws {
        base = try makeScratchDirectory("drover-attributes")
    }

    func attributes(_ path: String) -> (mode: mode_t, uid: uid_t, gid: gid_t)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (info.st_mode & 0o7777, info.st_uid, info.st_gid)
    }

    @Test func makeDirectorySetsExactlyTheModeAndOwnerWhateverTheUmask() throws {
        defer { removeTree(base) }
        try makeDirectory(atPath: base + "/state", mode: 0o700, owner: (61_999, 61_999))
        #expect(attributes(base + "/state")! == (0o700, 61_999, 61_999))
        // Group-writable: what the umask (022 or 077; the process's, not changed by tests that
        // run beside others) would take away.
        try makeDirectory(atPath: base + "/run", mode: 0o775)
        #expect(attributes(base + "/run")!.mode == 0o775, "not narrowed by the umask")
        // An existing directory is set again (an earlier version's 0755, nobody's).
        chmod(base + "/state", 0o755)
        try makeDirectory(atPath: base + "/state", mode: 0o700, owner: (62_000, 62_000))
        #expect(attributes(base + "/state")! == (0o700, 62_000, 62_000))
    }

    @Test func aLinkPlantedAtThePathIsRefusedNotFollowed() throws {
        defer { removeTree(base) }
        let victimDirectory = base + "/victim", victimFile = base + "/victim-file"
        mkdir(victimDirectory, 0o755)
        close(open(victimFile, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644))
        symlink(victimDirectory, base + "/state")
        symlink(victimFile, base + "/drover.db")

        let directoryError = #expect(throws: SystemError.self) {
            try makeDirectory(atPath: base + "/state", mode: 0o700, owner: (61_999, 61_999))
        }
        // O_DIRECTORY|O_NOFOLLOW on a link: ENOTDIR; O_NOFOLLOW alone: ELOOP.
        #expect(directoryError?.call == "open" && directoryError?.errno == ENOTDIR, "\(String(describing: directoryError))")
        let fileError = #expect(throws: SystemError.self) {
            try setAttributes(atPath: base + "/drover.db", mode: 0o600, owner: (61_999, 61_999))
        }
        #expect(fileError?.call == "open" && fileError?.errno == ELOOP, "\(String(describing: fileError))")
        #expect(attributes(victimDirectory)! == (0o755, 0, 0), "what the link points at is untouched")
        #expect(attributes(victimFile)! == (0o644, 0, 0))
    }
}
