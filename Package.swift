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
        .executable(name: "drover-init", targets: ["drover-init"]),
        .executable(name: "drover-testload", targets: ["drover-testload"]),
        .executable(name: "drover-bench", targets: ["drover-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .target(name: "DroverCore"),
        .target(
            name: "DroverLinux",
            dependencies: ["DroverCore", "CDroverShim", "CSeccomp"]
        ),
        .executableTarget(
            name: "drover",
            dependencies: [
                "DroverCore", "DroverLinux",
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
        .testTarget(name: "DroverLinuxTests", dependencies: ["DroverCore", "DroverLinux", "DroverTestSupport"]),
        .testTarget(name: "DroverCLITests", dependencies: ["DroverCore", "DroverLinux", "DroverTestSupport"]),
        .testTarget(name: "LeakCheckTests", dependencies: ["DroverLinux", "DroverTestSupport"]),
    ]
)
