// swift-tools-version:6.0
// Targets are listed bottom-up in the layer order of DESIGN.md section 3; imports point down only
// (Tests/ArchitectureTests checks it).
import PackageDescription

let package = Package(
    name: "devcluster",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "devnode", targets: ["DevNode"]),
        .executable(name: "devcluster", targets: ["DevCluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2")
    ],
    targets: [
        // MARK: Layer 1: C modules
        .systemLibrary(name: "CUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CHTTPParser", providers: [.apt(["libhttp-parser-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .target(name: "CProcess", exclude: ["README.md"]),
        .target(name: "CFiles", exclude: ["README.md"]),
        .target(
            name: "CTLS", exclude: ["README.md"],
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),

        // MARK: Vocabulary shared by every layer (time, JSON, logging, events, hashing)
        .target(name: "Core", dependencies: ["CCrypto", "CISAL"], exclude: ["README.md"]),

        // MARK: Layer 2: the event loop
        .target(name: "Loop", dependencies: ["CUV", "Core"], exclude: ["README.md"]),

        // MARK: Layer 2.5: TLS over the loop's streams
        .target(name: "TLS", dependencies: ["CTLS", "Loop", "Core"], exclude: ["README.md"]),

        // MARK: Layer 3: HTTP/1.1 server and client
        .target(name: "HTTP", dependencies: ["CHTTPParser", "TLS", "Loop", "Core"], exclude: ["README.md"]),

        // MARK: Layer 4: erasure coding
        .target(name: "Erasure", dependencies: ["CISAL", "Core"], exclude: ["README.md"]),

        // MARK: Layer 5: one node's on-disk format
        .target(name: "Storage", dependencies: ["CFiles", "Core"], exclude: ["README.md"]),

        // MARK: Layer 6: cluster: membership, failure detection, placement, the erasure-coded object layer
        .target(name: "Cluster", dependencies: ["Storage", "Erasure", "HTTP", "Loop", "Core"], exclude: ["README.md"]),

        // MARK: Layer 7: the S3 API
        .target(name: "S3", dependencies: ["Cluster", "Storage", "HTTP", "Loop", "Core"], exclude: ["README.md"]),

        // MARK: Layer 8: admin and observability
        .target(name: "Admin", dependencies: ["S3", "Cluster", "HTTP", "Loop", "Core"], exclude: ["README.md"]),

        // MARK: Composition: config, one node wired together
        .target(
            name: "Node", dependencies: ["S3", "Admin", "Cluster", "Storage", "HTTP", "TLS", "Loop", "Core"],
            exclude: ["README.md"]),
        .executableTarget(
            name: "DevNode",
            dependencies: [
                "Node", "Admin", "HTTP", "TLS", "Loop", "Cluster", "Core",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: The launcher
        .target(
            name: "Launcher",
            dependencies: ["CProcess", "Node", "S3", "Admin", "Cluster", "Storage", "HTTP", "TLS", "Loop", "Core"],
            exclude: ["README.md"]),
        .executableTarget(
            name: "DevCluster",
            dependencies: [
                "Launcher", "Node", "S3", "Admin", "TLS", "Core",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Fuzzing (not part of the product): the parsers as functions of bytes; libFuzzer's entry
        // point is built only by `make fuzz` (DEVCLUSTER_FUZZ=1: it needs `-sanitize=fuzzer`).
        .target(name: "FuzzTargets", dependencies: ["Node", "S3", "Cluster", "Storage", "HTTP", "Core"]),

        // MARK: Benchmarks (not part of the product)
        .executableTarget(name: "HTTPBenchServer", dependencies: ["HTTP", "Loop", "Core"]),
        .executableTarget(name: "CodecBench", dependencies: ["Erasure", "Core"]),

        // MARK: Tests
        .testTarget(name: "CoreTests", dependencies: ["Core"]),
        .testTarget(name: "LoopTests", dependencies: ["Loop", "Core"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TLS", "Loop", "Core"]),
        .testTarget(name: "ErasureTests", dependencies: ["Erasure", "Core"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Core"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Storage", "HTTP", "Loop", "Core"]),
        .testTarget(name: "S3Tests", dependencies: ["S3", "Cluster", "Storage", "HTTP", "Core"]),
        .testTarget(name: "NodeTests", dependencies: ["Node", "Admin", "Cluster", "TLS", "Core"]),
        .testTarget(name: "LauncherTests", dependencies: ["Launcher", "Node", "Admin", "Core"]),
        .testTarget(name: "AdminTests", dependencies: ["Admin", "Core"]),
        .testTarget(name: "FuzzTargetTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "ArchitectureTests"),
    ],
    swiftLanguageModes: [.v6]
)

if Context.environment["DEVCLUSTER_FUZZ"] == "1" {
    package.targets += [
        .systemLibrary(name: "CFuzzDriver"),
        // No `main` of its own: libFuzzer's driver is the entry (Sources/DevclusterFuzz).
        .executableTarget(
            name: "DevclusterFuzz", dependencies: ["FuzzTargets", "CFuzzDriver"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
}

// Release builds optimise across module boundaries: the layers' generic code (storage calls, node rounds)
// is specialised where it is used instead of going through runtime metadata lookups. And release programs
// carry the Swift runtime and Foundation inside them: they run where no Swift toolchain is installed, and
// a node touches only the parts it uses (an idle node: 18 MiB resident, against 22 with the shared
// libraries, whose relocated pages count in full). Every module is compiled for it, so each names the
// static libraries it needs.
for target in package.targets where target.type != .system {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .unsafeFlags(["-cross-module-optimization", "-static-stdlib"], .when(configuration: .release))
        ]
    // The C libraries are found beside the programs first (`make dist` bundles them in ../lib), then
    // where the system keeps them.
    if target.type == .executable {
        target.linkerSettings =
            (target.linkerSettings ?? []) + [
                .unsafeFlags(["-static-stdlib", "-Xlinker", "-rpath=$ORIGIN/../lib"], .when(configuration: .release))
            ]
    }
}
