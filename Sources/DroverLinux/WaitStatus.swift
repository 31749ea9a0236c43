import DroverCore
import Glibc

extension ExitStatus {
    /// Decodes a wait(2) status as the kernel packs it (what drover-init writes to its status
    /// file): the low 7 bits are the signal that ended the process, 0 if it exited, and then
    /// bits 8-15 are its exit code.
    public init(waitStatus raw: Int32) {
        let signal = raw & 0x7f
        self = signal == 0 ? .exited((raw >> 8) & 0xff) : .signaled(signal)
    }

    /// Killed by SIGKILL: all that is known of a process that ended without a status (killed
    /// from outside, or reaped elsewhere).
    public static let killed = ExitStatus.signaled(SIGKILL)
}
