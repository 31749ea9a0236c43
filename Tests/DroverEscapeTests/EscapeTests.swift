import DroverCore
import DroverLinux
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// SPEC §10, tried as an attacker's workload would: every probe of `EscapeFixture` runs in a
/// sandbox as the run's (or job's) own uid and as `root`, through `drover run` and through a
/// real droverd replica, and must be refused; the same probe as real root outside drover (the
/// control) must succeed, or it is left out as proving nothing on this host.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: it creates namespaces and cgroups"))
struct EscapeTests {
    /// Probes whose control succeeds here, numbered for the scripts.
    static func applicable(_ fixture: EscapeFixture) throws -> [(Int, EscapeProbe)] {
        var applicable: [(Int, EscapeProbe)] = []
        var skipped: [String] = []
        for (index, probe) in fixture.probes.enumerated() {
            let control = try controlResult(probe)
            if control == "ok" { applicable.append((index, probe)) } else { skipped.append("\(probe) (\(control))") }
        }
        if !skipped.isEmpty { print("escape probes not applicable on this host (the control cannot do them either): \(skipped.joined(separator: ", "))") }
        return applicable
    }

    @Test func theSuiteHasAtLeastFortyProbesAndMostApplyHere() throws {
        let fixture = try EscapeFixture()
        defer { fixture.destroy() }
        #expect(fixture.probes.count >= 40)
        // In the VM tier's guest the host's / is a read-only 9p share: the file probes' controls
        // cannot write it either, and the host run covers them.
        #expect(try Self.applicable(fixture).count >= (getenv("DROVER_VM") != nil ? 25 : 30), "too few probes can be checked on this host")
    }

    @Test(arguments: EscapeIdentity.allCases)
    func everyProbeIsRefusedInDroverRun(_ identity: EscapeIdentity) throws {
        let fixture = try EscapeFixture()
        defer { fixture.destroy() }
        let probes = try Self.applicable(fixture).filter { $0.1.onlyFor?.contains(identity) ?? true }
        let script = probeScript(probes, testload: TestEnvironment.testload)
        let user = identity == .own ? [] : ["--user", identity.rawValue]
        let run = try TestProcess.drover(["run"] + user + ["--", "/bin/sh", "-c", script], timeout: 120)
        #expect(run.code == 0, "\(run.stderr)")
        check(probes, scriptResults(run.stdout), as: identity, via: "drover run", output: run.stdout + run.stderr)
    }

    @Test(arguments: EscapeIdentity.allCases)
    func everyProbeIsRefusedInADroverdReplica(_ identity: EscapeIdentity) throws {
        let fixture = try EscapeFixture()
        defer { fixture.destroy() }
        let probes = try Self.applicable(fixture).filter { $0.1.onlyFor?.contains(identity) ?? true }
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("escape")
        let script = probeScript(probes, testload: TestEnvironment.testload)
        let user = identity == .own ? "" : "\n    user: \(identity.rawValue)"
        let applied = try daemon.apply("""
            jobs:
              \(job):
                kind: batch
                replicas: 1\(user)
                command: ["/bin/sh", "-c", \(yamlQuote(script))]
            """)
        try #require(applied.code == 0, "\(applied.stderr)")
        try #require(waitFor(timeout: 60) { (try? daemon.drover(["ps", job]).stdout.contains("succeeded")) == true },
                     "the probe replica did not finish: \((try? daemon.drover(["ps", job]).stdout) ?? "")")
        let logs = try daemon.drover(["logs", job + "/0"])
        check(probes, scriptResults(logs.stdout), as: identity, via: "droverd", output: logs.stdout)
    }

    /// `user: "4294967295"` means "unchanged" to setresuid (root stays root): it never runs.
    @Test func theReservedUidIsRefusedEverywhere() throws {
        for user in ["4294967295", "65535", "65535:1000", "1000:4294967295"] {
            let run = try TestProcess.drover(["run", "--user", user, "--", "/bin/true"])
            #expect(run.code == 2, "drover run --user \(user) is a usage error: \(run.stderr)")
            #expect(run.stderr.contains("reserved"), "\(run.stderr)")
        }
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("uid")
        let applied = try daemon.apply("""
            jobs:
              \(job):
                user: "4294967295"
                command: ["/bin/sleep", "60"]
            """)
        #expect(applied.code == 1)
        #expect(applied.stderr.contains("jobs.\(job).user"), "names the key path: \(applied.stderr)")
        #expect(applied.stderr.contains("line 3"), "names the line: \(applied.stderr)")
        #expect(try daemon.drover(["ps"]).stdout.contains(job) == false, "nothing applied")
    }

    /// Only 0-2 reach the workload; /dev holds the minimal set and nothing of the host's.
    @Test(arguments: EscapeIdentity.allCases)
    func descriptorsAndDevicesAreMinimal(_ identity: EscapeIdentity) throws {
        let user = identity == .own ? [] : ["--user", identity.rawValue]
        let fds = try TestProcess.drover(["run"] + user + ["--", TestEnvironment.testload, "fds"])
        #expect(keyValues(fds.stdout)["fds"] == "0,1,2", "\(fds.stdout) \(fds.stderr)")
        let dev = try TestProcess.drover(["run"] + user + ["--", TestEnvironment.testload, "probe", "list", "/dev"])
        #expect(keyValues(dev.stdout)["detail"] == "fd,full,null,ptmx,pts,random,shm,stderr,stdin,stdout,tty,urandom,zero",
                "\(dev.stdout)")
        let firmware = try TestProcess.drover(["run"] + user + ["--", TestEnvironment.testload, "probe", "list", "/sys/firmware"])
        #expect(keyValues(firmware.stdout)["detail"] == "", "/sys/firmware is masked: \(firmware.stdout)")
    }

    /// Root inside is the job's own unprivileged uid outside; capabilities work inside.
    @Test func rootInsideIsUnprivilegedOutside() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("root")
        let applied = try daemon.apply("""
            jobs:
              \(job):
                user: root
                ports: [http]
                capabilities: [NET_BIND_SERVICE, CHOWN]
                command: ["/bin/sh", "-c", "touch $DROVER_STATE_DIR/file && chown 0:0 $DROVER_STATE_DIR/file && echo chown=ok; exec \(TestEnvironment.testload) serve PORT_HTTP"]
            """)
        try #require(applied.code == 0, "\(applied.stderr)")
        try #require(waitFor(timeout: 30) { ["running", "ready"].contains(daemon.replica(job)?.state ?? "") },
                     "\((try? daemon.drover(["ps", job]).stdout) ?? "")")
        let pid = try #require(daemon.replica(job)?.pid)
        let uid = hostUID(of: pid)
        #expect(uid.map { DynamicIdentity.defaultJobRange.contains($0) } == true,
                "root inside runs as the job's own uid on the host: \(String(describing: uid))")
        #expect(waitFor(timeout: 10) { (try? daemon.drover(["logs", job + "/0"]).stdout.contains("chown=ok")) == true },
                "root chowns its own files: \((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "")")
        #expect(waitFor(timeout: 10) { (try? daemon.drover(["logs", job + "/0"]).stdout.contains("serving=")) == true },
                "binds its allocated port: \((try? daemon.drover(["logs", job + "/0"]).stdout) ?? "")")
    }

    private func check(_ probes: [(Int, EscapeProbe)], _ results: [Int: String], as identity: EscapeIdentity, via path: String, output: String) {
        for (index, probe) in probes {
            let result = results[index]
            #expect(result.map { probe.refusals.contains($0) } == true,
                    "\(probe) as \(identity) via \(path): got \(result ?? "no answer"), wanted one of \(probe.refusals.sorted()) (\(probe.arguments.joined(separator: " ")))")
        }
        #expect(results.count == probes.count, "every probe answered via \(path): \(output.suffix(2000))")
    }
}

func yamlQuote(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}


/// The whole core_pattern escape, for real: a pipe in core_pattern makes the kernel run that
/// program as real root with every capability on the next crash. Only in the VM tier's guest
/// (`DROVER_VM=1`), a machine thrown away after the run, since the control changes the kernel
/// setting for a moment; this host may not even have the file.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot && getenv("DROVER_VM") != nil && access("/proc/sys/kernel/core_pattern", W_OK) == 0,
                             "runs in the VM tier's guest only (DROVER_VM=1): its control sets core_pattern"))
struct CorePatternEscapeTests {
    /// Where the payload lives, as the kernel resolves core_pattern (from the root of PID 1,
    /// which in the VM guest is the initramfs: the tests' tree is a chroot over it) and as this
    /// process reaches the same directory.
    let kernelDirectory: String
    let directory: String

    init() {
        var ours = stat(), kernels = stat()
        let separate = stat("/", &ours) == 0 && stat("/proc/1/root/", &kernels) == 0
            && (ours.st_dev != kernels.st_dev || ours.st_ino != kernels.st_ino)
        kernelDirectory = separate ? "/drover-core-\(getpid())" : "/var/lib/drover-test/core-\(getpid())"
        directory = separate ? "/proc/1/root" + kernelDirectory : kernelDirectory
    }

    /// Sets a payload as core_pattern (`tag` is in the marker's name), crashes `command`, and
    /// says whether the payload ran as real root.
    private func payloadRan(_ tag: String, crash: [String], setsPatternItself: Bool) throws -> (ran: Bool, pattern: String) {
        let marker = directory + "/pwned-" + tag
        if !setsPatternItself {
            try "|\(kernelDirectory)/payload.sh \(tag)".write(toFile: "/proc/sys/kernel/core_pattern", atomically: false, encoding: .utf8)
        }
        let crashed = try TestProcess(crash)
        _ = crashed.finish(timeout: 30)
        let ran = waitFor(timeout: 5) { access(marker, F_OK) == 0 }
        let pattern = (try? String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)) ?? ""
        return (ran, pattern)
    }

    @Test func aSandboxedRootCannotSetCorePatternButRealRootCan() throws {
        mkdir("/var/lib/drover-test", 0o755)
        mkdir(directory, 0o755)
        defer { removeTree(directory) }
        let original = try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)
        defer { try? original.write(toFile: "/proc/sys/kernel/core_pattern", atomically: false, encoding: .utf8) }
        try "#!/bin/sh\nid -u > $(dirname $0)/pwned-$1\n".write(toFile: directory + "/payload.sh", atomically: false, encoding: .utf8)
        chmod(directory + "/payload.sh", 0o755)

        // Control: real root outside drover sets the pattern, and a crash runs the payload as root.
        let control = try payloadRan("control", crash: ["/bin/sh", "-c", "kill -SEGV $$"], setsPatternItself: false)
        #expect(control.ran, "control: the payload runs on a crash when core_pattern is set by real root")
        #expect((try? String(contentsOfFile: directory + "/pwned-control", encoding: .utf8)) == "0\n", "as real root")
        try original.write(toFile: "/proc/sys/kernel/core_pattern", atomically: false, encoding: .utf8)

        // The attack, as root inside with CAP_SYS_ADMIN, through drover run and a daemon replica.
        let attack = "echo '|\(kernelDirectory)/payload.sh attack' > /proc/sys/kernel/core_pattern; kill -SEGV $$"
        let run = try payloadRan("attack", crash: [TestEnvironment.drover, "run", "--user", "root", "--cap", "SYS_ADMIN",
                                                   "--", "/bin/sh", "-c", attack], setsPatternItself: true)
        #expect(!run.ran, "the payload never runs")
        #expect(run.pattern == original, "core_pattern is unchanged: \(run.pattern)")

        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let job = daemon.job("core")
        let applied = try daemon.apply("""
            jobs:
              \(job):
                kind: batch
                user: root
                capabilities: [SYS_ADMIN]
                restart: {policy: never}
                command: ["/bin/sh", "-c", \(yamlQuote(attack))]
            """)
        try #require(applied.code == 0, "\(applied.stderr)")
        #expect(waitFor(timeout: 30) { (try? daemon.drover(["ps", job]).stdout.contains("failed")) == true })
        #expect(access(directory + "/pwned-attack", F_OK) != 0, "the payload never runs from a replica either")
        #expect((try? String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)) == original)
    }
}
