extension JobSpec {
    /// `user:` as a ``UserSpec``; nil when the job leaves it to droverd (its own uid and gid).
    public func userSpec() throws(InputError) -> UserSpec? {
        try user.map { text throws(InputError) in try UserSpec.parse(text) }
    }

    /// `capabilities:` as the set the sandbox keeps.
    public func capabilityPlan() throws(InputError) -> CapabilityPlan {
        var kept = Set<Capability>()
        for name in capabilities { kept.insert(try Capability.named(name)) }
        return CapabilityPlan(kept: kept)
    }

    /// What a process of this job gets (SPEC §2, §10): a replica's own process, an exec probe
    /// inside it, or `drover exec`. The job's user (else `ownUser`), working directory,
    /// capabilities, writable paths and host-root opt-out; root inside mapped onto
    /// `rootMapsTo`; `readOnlyPaths` and `hiddenPaths` as the caller lays out its files.
    /// What only a replica's own start sets (hostname, state directory, ports, limits) its
    /// caller adds.
    public func sandboxSpec(command: [String], environment: [String: String], ownUser: UserSpec,
                            rootMapsTo: HostIdentity? = nil, readOnlyPaths: [String] = [],
                            hiddenPaths: [String] = []) throws(InputError) -> SandboxSpec {
        SandboxSpec(command: command, environment: environment, user: try userSpec() ?? ownUser, workdir: workdir,
                    hostRoot: hostRoot, rootMapsTo: rootMapsTo, writablePaths: writable,
                    readOnlyPaths: readOnlyPaths, hiddenPaths: hiddenPaths, capabilities: try capabilityPlan())
    }
}
