/// The default seccomp filter: a deny-list in the spirit of Docker's default profile. Calls
/// that escape or reconfigure the sandbox, or touch the whole host, fail with EPERM; everything
/// else is allowed. Compiled to BPF by the Linux layer (libseccomp), in the parent.
public struct SeccompPolicy: Equatable, Sendable {
    public enum Action: Equatable, Sendable {
        case errno(Int32)
    }

    public struct Rule: Equatable, Sendable {
        public var syscall: String
        public var action: Action
        /// Deny only when the first argument has any of these bits (clone's flags).
        public var whenFirstArgumentHasAnyOf: UInt64?
    }

    public var rules: [Rule]

    public static let eperm: Int32 = 1
    public static let enosys: Int32 = 38

    /// Calls no sandboxed workload needs, each a way out of the sandbox or onto the host.
    public static let deniedSyscalls = [
        // filesystem namespace and roots
        "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
        "fsconfig", "fsmount", "fspick", "mount_setattr",
        // namespaces
        "setns", "unshare",
        // the host's swap, power, kernel and modules
        "swapon", "swapoff", "reboot", "kexec_load", "kexec_file_load",
        "init_module", "finit_module", "delete_module",
        // kernel programmability and observation of others
        "bpf", "perf_event_open", "ptrace", "process_vm_readv", "process_vm_writev",
        // the kernel keyring is not namespaced
        "keyctl", "add_key", "request_key",
        // file handles bypass the mount namespace
        "open_by_handle_at", "name_to_handle_at",
        "userfaultfd", "acct", "quotactl", "quotactl_fd",
        // the host's clock
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
        "lookup_dcookie", "nfsservctl", "vhangup", "iopl", "ioperm",
        // io_uring performs calls the filter never sees (Docker and Android deny it too)
        "io_uring_setup", "io_uring_enter", "io_uring_register",
    ]

    /// clone flags that create namespaces (CLONE_NEWNS ... CLONE_NEWTIME).
    public static let cloneNamespaceFlags: UInt64 =
        0x0002_0000 /* NEWNS */ | 0x0200_0000 /* NEWCGROUP */ | 0x0400_0000 /* NEWUTS */
        | 0x0800_0000 /* NEWIPC */ | 0x1000_0000 /* NEWUSER */ | 0x2000_0000 /* NEWPID */
        | 0x4000_0000 /* NEWNET */ | 0x0000_0080 /* NEWTIME */

    public static let `default` = SeccompPolicy(rules:
        deniedSyscalls.map { Rule(syscall: $0, action: .errno(eperm)) }
        + [
            Rule(syscall: "clone", action: .errno(eperm), whenFirstArgumentHasAnyOf: cloneNamespaceFlags),
            // clone3's flags sit behind a pointer a filter cannot read; ENOSYS makes libc fall
            // back to clone, whose flags it can.
            Rule(syscall: "clone3", action: .errno(enosys)),
        ])
}
