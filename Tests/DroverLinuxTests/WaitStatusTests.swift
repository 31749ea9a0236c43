import DroverCore
import DroverLinux
import Testing

/// Decoding the wait status drover-init writes to its status file (`status=N\n`).
struct WaitStatusTests {
    @Test(arguments: [
        (Int32(0), DroverCore.ExitStatus.exited(0)),
        (0x0100, .exited(1)),
        (0x2a00, .exited(42)),
        (0xff00, .exited(255)),
        (9, .signaled(9)), // SIGKILL
        (15, .signaled(15)), // SIGTERM
        (0x86, .signaled(6)), // SIGABRT with the core-dump bit
        (0x7f, .signaled(0x7f)), // a stop status is not an exit: never read as one
    ])
    func decodesTheKernelsPacking(raw: Int32, status: DroverCore.ExitStatus) {
        #expect(DroverCore.ExitStatus(waitStatus: raw) == status)
    }

    @Test(arguments: [
        ("status=0\n", DroverCore.ExitStatus.exited(0) as DroverCore.ExitStatus?),
        ("status=256\n", .exited(1)),
        ("status=15\n", .signaled(15)),
        ("status=9", .signaled(9)),
        ("  status=512 \r\n", .exited(2)),
        ("", nil),
        ("status=\n", nil),
        ("status=abc\n", nil),
        ("exit=3\n", nil),
    ])
    func parsesTheStatusFile(text: String, status: DroverCore.ExitStatus?) {
        #expect(InitStatusFile.parse(text) == status)
    }
}
