import DroverConfig
import DroverCore
import Testing

/// SPEC §10's keys: `user` ids the kernel reads as "no change", `host_root`, `filesystem`.
let isolationBadInputs: [BadInput] = [
    BadInput("user: (uid_t)-1, which setresuid reads as \"unchanged\"", """
        jobs:
          web:
            user: "4294967295"
            command: [x]
        """, [
            "web.yaml: jobs.web.user: \"4294967295\" uses 4294967295, which is reserved ((uid_t)-1 and (uint16_t)-1 mean \"no change\" to the kernel): choose another uid or gid (line 3, col 11)",
        ]),
    BadInput("user: 65535, (uint16_t)-1", """
        jobs:
          web:
            user: 65535
            command: [x]
        """, [
            "web.yaml: jobs.web.user: \"65535\" uses 65535, which is reserved ((uid_t)-1 and (uint16_t)-1 mean \"no change\" to the kernel): choose another uid or gid (line 3, col 11)",
        ]),
    BadInput("user: a reserved gid", """
        jobs:
          web:
            user: "1000:4294967295"
            command: [x]
        """, [
            "web.yaml: jobs.web.user: \"1000:4294967295\" uses 4294967295, which is reserved ((uid_t)-1 and (uint16_t)-1 mean \"no change\" to the kernel): choose another uid or gid (line 3, col 11)",
        ]),
    BadInput("user: a uid past 32 bits", """
        jobs:
          web:
            user: 4294967296
            command: [x]
        """, [
            "web.yaml: jobs.web.user: \"4294967296\" is out of range: a uid or gid is at most 4294967294 (line 3, col 11)",
        ]),
    BadInput("host_root: a string, not a boolean", """
        jobs:
          web:
            host_root: "yes"
            command: [x]
        """, [
            "web.yaml: jobs.web.host_root: expected true or false, got \"yes\" (line 3, col 16)",
        ]),
    BadInput("host_root: yes (YAML 1.1's boolean) is not taken", """
        jobs:
          web:
            host_root: yes
            command: [x]
        """, [
            "web.yaml: jobs.web.host_root: expected true or false, got \"yes\" (line 3, col 16)",
        ]),
    BadInput("writable: a relative path", """
        jobs:
          web:
            command: [x]
            filesystem: {writable: [var/cache]}
        """, [
            "web.yaml: jobs.web.filesystem.writable[0]: \"var/cache\" is not an absolute path (writable paths start with /) (line 4, col 29)",
        ]),
    BadInput("writable: a path that does not exist", """
        jobs:
          web:
            command: [x]
            filesystem:
              writable:
                - /var/lib/drover-no-such-directory
        """, [
            "web.yaml: jobs.web.filesystem.writable[0]: \"/var/lib/drover-no-such-directory\" does not exist on this host (create it first: drover binds it, it does not create it) (line 6, col 11)",
        ]),
    BadInput("writable: .. in a path", """
        jobs:
          web:
            command: [x]
            filesystem: {writable: [/var/../etc]}
        """, [
            "web.yaml: jobs.web.filesystem.writable[0]: \"/var/../etc\" is not a normalised path (no ., .. or //) (line 4, col 29)",
        ]),
    BadInput("writable: under /tmp, which every sandbox has its own of", """
        jobs:
          web:
            command: [x]
            filesystem: {writable: [/tmp]}
        """, [
            "web.yaml: jobs.web.filesystem.writable[0]: \"/tmp\" is under /tmp, which every sandbox has a private one of: it cannot be shared (line 4, col 29)",
        ]),
    BadInput("filesystem: an unknown key", """
        jobs:
          web:
            command: [x]
            filesystem: {writeable: [/srv]}
        """, [
            "web.yaml: jobs.web.filesystem.writeable: unknown key (did you mean \"writable\"?) (line 4, col 18)",
        ]),
    BadInput("network: none with host ports", """
        jobs:
          web:
            network: none
            ports: [http]
            command: [x]
        """, [
            "web.yaml: jobs.web.ports: a job with network: none has no host ports (its replicas have loopback only): remove ports or use network: host (line 4, col 12)",
        ]),
    BadInput("network: none with a service port", """
        jobs:
          web:
            network: none
            service: {port: 8080}
            command: [x]
        """, [
            "web.yaml: jobs.web.service: a service forwards to one of the job's ports, and this job has none (declare one with ports: [NAME]) (line 4, col 5)",
            "web.yaml: jobs.web.service: a job with network: none cannot have a service port (nothing on the host reaches its replicas): remove service or use network: host (line 4, col 14)",
        ]),
    BadInput("network: an unknown mode", """
        jobs:
          web:
            network: bridge
            command: [x]
        """, [
            "web.yaml: jobs.web.network: \"bridge\" is not a network (expected host or none) (line 3, col 14)",
        ]),
]

@Suite struct IsolationInputs {
    @Test(arguments: isolationBadInputs)
    func refused(input: BadInput) {
        #expect(errorLines(input.files.map { ($0.path, $0.text) }) == input.errors)
    }

    @Test func hostRootAndWritableParse() throws {
        let jobs = parsedJobs("""
            jobs:
              web:
                host_root: true
                user: root
                command: [x]
                filesystem: {writable: [/var/lib, /etc/]}
              api:
                network: none
                command: [x]
            """)
        let web = try #require(jobs.first { $0.name == "web" })
        #expect(web.hostRoot && web.user == "root" && web.writable == ["/var/lib", "/etc"])
        let api = try #require(jobs.first { $0.name == "api" })
        #expect(!api.hostRoot && api.user == nil && api.writable.isEmpty, "defaults: isolated, the job's own uid")
        #expect(web.network == .host && api.network == .none)
    }
}
