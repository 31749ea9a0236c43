import CDroverSteer
import DroverLinux
import DroverTestSupport
import Glibc
import Testing

/// Runs after every other test (`make test` runs it alone, last): whatever the suite started
/// must be gone, even from tests that failed.
@Suite(.enabled(if: TestEnvironment.isRoot, "needs root: it inspects every process and drover's cgroup tree"))
struct LeakCheckTests {
    @Test func noTestProcessesSurvive() {
        var survivors: [String] = []
        for entry in listDirectory("/proc") where Int32(entry) != nil {
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/\(entry)/exe", &buffer, buffer.count - 1)
            guard n > 0 else { continue }
            let exe = String(cString: buffer)
            let name = exe.split(separator: "/").last.map(String.init) ?? exe
            if ["drover-init", "drover-testload"].contains(name) || (name == "drover" && exe.contains("/.build")) {
                survivors.append("\(entry) \(exe)")
            }
        }
        #expect(survivors.isEmpty, "processes left running: \(survivors)")
    }

    @Test func noCgroupsUnderDroversTree() throws {
        let tree = try CgroupTree.prepare()
        let leftovers = listDirectory(tree.root).filter { entry in
            var info = stat()
            return stat(tree.root + "/" + entry, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }
        #expect(leftovers.isEmpty, "cgroups left under \(tree.root): \(leftovers)")
    }

    @Test func noServiceSteeringProgramsLoaded() {
        // A service's sk_lookup program lives as long as its proxy holds the link.
        #expect(drover_steer_count_loaded() == 0, "BPF programs named drover_steer still loaded")
    }

    @Test func noMountsNamingDrover() throws {
        let mountinfo = try #require(fopen("/proc/self/mountinfo", "r"))
        defer { fclose(mountinfo) }
        var line = [CChar](repeating: 0, count: 4096)
        var leftovers: [String] = []
        while fgets(&line, Int32(line.count), mountinfo) != nil {
            let text = String(cString: line)
            // The VM tier's guest gives the tests' scratch root a tmpfs of its own before any
            // test runs (tests/vm/guest-init.sh): the harness's mount, not a test's.
            let fields = text.split(separator: " ")
            if fields.count > 4, fields[4] == "/var/lib/drover-test" { continue }
            if text.contains("drover") { leftovers.append(text) }
        }
        #expect(leftovers.isEmpty, "mounts left: \(leftovers)")
    }
}
