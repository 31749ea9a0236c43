// swift-tools-version: 6.0
import PackageDescription

// Layers point down only (see README "Layout"):
//   CDroverShim (C: syscalls Glibc lacks, code between clone and execve)
//   DroverCore  (pure Swift: model, parsing, policies; no Glibc, no I/O)
//   DroverLinux (the only importer of CDroverShim: cgroups, spawning, monitoring)
//   drover      (CLI, thin shell over the layers)
let package = Package(
    name: "drover",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "drover", targets: ["drover"]),
        .executable(name: "droverd", targets: ["droverd"]),
        .executable(name: "drover-init", targets: ["drover-init"]),
        .executable(name: "drover-testload", targets: ["drover-testload"]),
        .executable(name: "drover-bench", targets: ["drover-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(
            name: "CDroverShim",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .systemLibrary(
            name: "CSeccomp",
            pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]
        ),
        // BPF sk_lookup steering for the service proxy (raw bpf(2), no libbpf).
        .target(
            name: "CDroverSteer",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(name: "DroverCore"),
        .target(
            name: "DroverLinux",
            dependencies: ["DroverCore", "CDroverShim", "CSeccomp"]
        ),
        // The jobs file (SPEC §1): YAML, strict schema, errors with file:line:column and key path.
        .target(
            name: "DroverConfig",
            dependencies: ["DroverCore", .product(name: "Yams", package: "Yams")]
        ),
        // Health probes (http, tcp) with bounded time, on SwiftNIO.
        .target(
            name: "DroverHealth",
            dependencies: [
                "DroverCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The service proxy (SPEC §6): a TCP listener per job forwarding to ready replicas.
        .target(
            name: "DroverProxy",
            dependencies: [
                "CDroverSteer", "DroverLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Types on the wire between droverd and its clients (also the CLI's --json output).
        .target(name: "DroverWire", dependencies: ["DroverCore"]),
        // HTTP/1.1 over droverd's Unix socket, for the CLI and tests (no TLS, no URLSession).
        .target(
            name: "DroverClient",
            dependencies: [
                "DroverWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The daemon as a library: supervisor, store, API. `droverd` is its thin main.
        .target(
            name: "DroverDaemon",
            dependencies: [
                "DroverCore", "DroverLinux", "DroverWire", "DroverConfig", "DroverHealth", "DroverProxy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "droverd",
            dependencies: [
                "DroverDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "drover",
            dependencies: [
                "DroverCore", "DroverLinux", "DroverWire", "DroverClient", "DroverConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // PID 1 inside every sandbox: freestanding (its own entry point, raw syscalls, no libc
        // start-up), static, so that its exec costs as little as possible.
        .executableTarget(
            name: "drover-init",
            dependencies: ["CDroverShim"],
            cSettings: [.unsafeFlags(["-ffreestanding", "-fno-stack-protector", "-fno-builtin", "-O2"])],
            linkerSettings: [.unsafeFlags(["-static-executable", "-Xlinker", "--entry=drover_init_start"])]
        ),
        // The workload integration tests run inside sandboxes to observe them from within.
        .executableTarget(
            name: "drover-testload",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // `make bench`: spawn latency through the library, beside the peers of bench/peers.sh.
        .executableTarget(name: "drover-bench", dependencies: ["DroverCore", "DroverLinux"]),
        // Shared by the test targets: locating the built binaries, reading output with
        // timeouts, spawning the CLI.
        .target(name: "DroverTestSupport", dependencies: ["DroverCore", "DroverLinux"], path: "Tests/Support"),
        .testTarget(name: "DroverCoreTests", dependencies: ["DroverCore"]),
        .testTarget(name: "DroverConfigTests", dependencies: ["DroverCore", "DroverConfig"]),
        .testTarget(name: "DroverLinuxTests", dependencies: ["DroverCore", "DroverLinux", "DroverTestSupport"]),
        .testTarget(name: "DroverCLITests", dependencies: ["DroverCore", "DroverLinux", "DroverTestSupport"]),
        .testTarget(
            name: "DroverDaemonTests",
            dependencies: ["DroverCore", "DroverLinux", "DroverWire", "DroverClient", "DroverTestSupport"]
        ),
        .testTarget(
            name: "DroverHealthTests",
            dependencies: [
                "DroverHealth",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "DroverProxyTests",
            dependencies: [
                "DroverProxy", "DroverLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // SPEC §10 tried as an attacker would: each probe refused inside, and done by a control.
        .testTarget(name: "DroverEscapeTests", dependencies: ["DroverCore", "DroverLinux", "DroverWire", "DroverTestSupport"]),
        // Issue 12's chaos test (`make test-chaos`, DROVER_CHAOS=1): the real droverd under minutes
        // of SIGKILLs, scaling and evictions; its duplicate detector's controls run everywhere.
        .testTarget(name: "DroverChaosTests", dependencies: ["DroverCore", "DroverLinux", "DroverWire", "DroverTestSupport"]),
        .testTarget(name: "LeakCheckTests", dependencies: ["DroverLinux", "DroverTestSupport", "CDroverSteer"]),
    ]
)
