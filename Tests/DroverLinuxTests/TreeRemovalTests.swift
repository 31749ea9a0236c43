@testable import DroverLinux
import DroverTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

/// `removeTree` against what a hostile replica can do to its own state directory while droverd
/// deletes it (issue 11): links planted in it, and subdirectories swapped for links to a
/// directory the replica may not touch (the victim) while the removal runs.
@Suite(.serialized)
struct TreeRemovalTests {
    /// A scratch directory holding `tree` (what is removed) and `victim` (what must survive).
    final class Fixture {
        let base: String
        var tree: String { base + "/tree" }
        var victim: String { base + "/victim" }
        static let victimFiles = 5
        /// Subdirectories of the tree, each with a link beside it to swap with.
        static let pairs = 4
        static let filesPerDirectory = 5

        init() throws {
            var template = Array("/tmp/drover-removal-XXXXXX".utf8CString)
            guard mkdtemp(&template) != nil else { throw SystemError("mkdtemp") }
            base = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            restoreVictim()
        }

        deinit {
            // A tree too deep to name by path goes only with removeTree(atPath:).
            if (try? removeTree(atPath: base)) == nil { DroverTestSupport.removeTree(base) }
        }

        /// tree/sub-N/file-M (a real directory with files) beside tree/link-N → victim.
        func plantTree() {
            mkdir(tree, 0o755)
            for pair in 0..<Self.pairs {
                let sub = tree + "/sub-\(pair)"
                mkdir(sub, 0o755)
                for file in 0..<Self.filesPerDirectory { write(sub + "/file-\(file)") }
                symlink(victim, tree + "/link-\(pair)")
            }
        }

        var victimIntact: Bool { listDirectory(victim).count == Self.victimFiles }
        var treeGone: Bool { access(tree, F_OK) != 0 && errno == ENOENT }

        func restoreVictim() {
            mkdir(victim, 0o755)
            for index in 0..<Self.victimFiles { write(victim + "/precious-\(index)") }
        }

        private func write(_ path: String) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd >= 0 { _ = "keep me\n".withCString { Glibc.write(fd, $0, 8) }; close(fd) }
        }
    }

    /// A thread that swaps each tree/sub-N with tree/link-N (renameat2 RENAME_EXCHANGE: atomic,
    /// both names always exist) as fast as it can, counting the swaps made while a removal runs.
    final class Swapper: @unchecked Sendable {
        let tree: String
        let removing = Atomic<Bool>(false)
        let stop = Atomic<Bool>(false)
        let swapsDuringRemoval = Atomic<Int>(0)
        private let finished = DispatchSemaphore(value: 0)

        init(tree: String) {
            self.tree = tree
            Thread { [self] in
                while !stop.load(ordering: .relaxed) {
                    for pair in 0..<Fixture.pairs {
                        let swapped = exchange(tree + "/sub-\(pair)", tree + "/link-\(pair)")
                        if swapped && removing.load(ordering: .relaxed) { swapsDuringRemoval.add(1, ordering: .relaxed) }
                    }
                }
                finished.signal()
            }.start()
        }

        /// Runs `remove` with the swapper told that a removal is under way.
        func during(_ remove: () throws -> Void) rethrows {
            removing.store(true, ordering: .relaxed)
            defer { removing.store(false, ordering: .relaxed) }
            try remove()
        }

        func join() {
            stop.store(true, ordering: .relaxed)
            finished.wait()
        }
    }

    @Test func removesDirectoriesFilesAndLinksButNotWhatTheLinksPointAt() throws {
        let fixture = try Fixture()
        fixture.plantTree()
        symlink(fixture.victim + "/precious-0", fixture.tree + "/sub-0/link-to-a-file")
        mkdir(fixture.tree + "/sub-1/deeper", 0o755)
        symlink(fixture.victim, fixture.tree + "/sub-1/deeper/link")
        mkfifo(fixture.tree + "/sub-2/fifo", 0o600)

        try removeTree(atPath: fixture.tree)
        #expect(fixture.treeGone, "the whole tree is gone")
        #expect(fixture.victimIntact, "the links were unlinked, not followed")

        symlink(fixture.victim, fixture.tree)
        try removeTree(atPath: fixture.tree)
        #expect(fixture.treeGone, "a link at the path itself is unlinked")
        #expect(fixture.victimIntact, "not followed")

        try removeTree(atPath: fixture.tree)
        #expect(throws: SystemError.self, "the root cannot be removed") { try removeTree(atPath: "/") }
    }

    @Test func aTreeTooDeepToNameByPathIsRemoved() throws {
        let fixture = try Fixture()
        mkdir(fixture.tree, 0o755)
        // 300 levels of 21 bytes: past PATH_MAX, where a walk by path gets ENAMETOOLONG.
        let level = "deeper-than-path-max"
        var fd = open(fixture.tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        for _ in 0..<300 {
            mkdirat(fd, level, 0o755)
            let next = openat(fd, level, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            close(fd)
            fd = next
        }
        let bottom = openat(fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        try #require(bottom >= 0, "the bottom was reached")
        close(bottom)
        close(fd)
        try removeTree(atPath: fixture.tree)
        #expect(fixture.treeGone)
    }

    /// The attack at its best moment, every time: each subdirectory is swapped for a link to
    /// the victim after the removal found it to be a directory and before it opens it.
    @Test func aDirectorySwappedForALinkJustBeforeItIsOpenedIsUnlinkedNotFollowed() throws {
        let fixture = try Fixture()
        fixture.plantTree()
        var swaps = 0
        try removeTree(atPath: fixture.tree) { path in
            let name = path.dropFirst(fixture.tree.count + 1)
            guard path.hasPrefix(fixture.tree + "/"), name.hasPrefix("sub-"), !name.contains("/"), !name.hasSuffix(".moved") else { return }
            // The replica moves the directory aside and leaves a link to the victim at its name.
            if rename(path, path + ".moved") == 0 && symlink(fixture.victim, path) == 0 { swaps += 1 }
        }
        #expect(swaps == Fixture.pairs, "every subdirectory was swapped under the removal")
        #expect(fixture.treeGone)
        #expect(fixture.victimIntact, "no swapped link was followed")
    }

    /// Done-when 1 of issue 11: the race against delete, a few hundred times; the victim and
    /// every file in it survive every time.
    @Test func aSubdirectorySwappedForALinkWhileTheRemovalRunsIsNeverFollowed() throws {
        let fixture = try Fixture()
        var lost: [Int] = []
        var swaps = 0
        for iteration in 0..<300 {
            fixture.plantTree()
            let swapper = Swapper(tree: fixture.tree)
            usleep(200) // the swapper is up and swapping
            let outcome = Result { try swapper.during { try removeTree(atPath: fixture.tree) } }
            swapper.join()
            swaps += swapper.swapsDuringRemoval.load(ordering: .relaxed)
            if case .failure(let error) = outcome { Issue.record("iteration \(iteration): \(error)") }
            #expect(fixture.treeGone, "iteration \(iteration): the tree is gone")
            if !fixture.victimIntact {
                lost.append(iteration)
                fixture.restoreVictim()
            }
            DroverTestSupport.removeTree(fixture.tree)
        }
        #expect(lost.isEmpty, "the victim lost files in iterations \(lost)")
        // The control: the race was real, directories did turn into links under the removal.
        #expect(swaps > 0, "no swap happened while a removal ran: the test raced nothing")
    }

    /// The control: the same race against what droverd removed state with before,
    /// FileManager.removeItem, which checks that a name is a directory and then opens it by
    /// path: it follows a swapped link and deletes the victim's files (issue 11 saw droverd do
    /// it 3 of 3 tries), which the test above would catch.
    @Test func theSameRaceAgainstFileManagerRemoveItemDeletesTheVictim() throws {
        let fixture = try Fixture()
        var races = 0
        var swaps = 0
        while races < 300 && fixture.victimIntact {
            races += 1
            fixture.plantTree()
            let swapper = Swapper(tree: fixture.tree)
            usleep(200)
            swapper.during {
                // Fails too when it finds a link where it listed a directory: the harm is done by then.
                try? FileManager.default.removeItem(atPath: fixture.tree)
            }
            swapper.join()
            swaps += swapper.swapsDuringRemoval.load(ordering: .relaxed)
            DroverTestSupport.removeTree(fixture.tree)
        }
        #expect(swaps > 0)
        #expect(!fixture.victimIntact, "FileManager.removeItem kept the victim through \(races) races: the race is too weak to test anything")
    }
}

/// renameat2(RENAME_EXCHANGE): two names swap what they point at in one step. Glibc has it,
/// Swift's Glibc module does not export it.
private func exchange(_ first: String, _ second: String) -> Bool {
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    let renameExchange: UInt32 = 1 << 1
    return unsafeBitCast(UnsafeRawPointer(bitPattern: renameat2Address)!, to: RenameAt2.self)(AT_FDCWD, first, AT_FDCWD, second, renameExchange) == 0
}

private let renameat2Address: Int = Int(bitPattern: dlsym(nil, "renameat2")!)
