// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "waqtor",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "waqtor-server", targets: ["waqtor-server"]),
        .executable(name: "waqtor", targets: ["waqtor"]),
        .executable(name: "waqtor-load", targets: ["waqtor-load"]),
        .library(name: "WaqtorRPC", targets: ["WaqtorRPC"]),
        .library(name: "WaqtorProto", targets: ["WaqtorProto"]),
        .library(name: "WaqtorTenants", targets: ["WaqtorTenants"]),
        .library(name: "WaqtorEvolution", targets: ["WaqtorEvolution"]),
        .library(name: "EvolutionSimulator", targets: ["EvolutionSimulator"]),
        .executable(name: "waqtor-evolution-sim", targets: ["waqtor-evolution-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // C layers: protoc-c output, and the system libraries behind thin module maps.
        .target(
            name: "CWaqtorProto",
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),

        // The RPC runtime: frames, status codes, metadata, server and client. No business logic.
        .target(
            name: "WaqtorRPC",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Generated Swift messages, handler protocols and clients (tools/generate-proto.sh).
        .target(
            name: "WaqtorProto",
            dependencies: ["CWaqtorProto", "WaqtorRPC", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // Backends: PostgreSQL (libpq), Redis shards (hiredis), HTTP (libcurl).
        // SHA-256, HMAC-SHA256 and constant-time comparison of secrets: a thin facade over
        // swift-crypto (no hand-written cryptography), shared by the store (migration checksums),
        // auth (token hashes), tenants (webhook secrets), the webhook listener and the simulator.
        .target(
            name: "WaqtorCrypto",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaqtorStore",
            dependencies: [
                "CPostgres", "WaqtorCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaqtorQueue",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaqtorHTTP",
            dependencies: [
                "CCurl",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Secrets: argon2id password hashes, random tokens stored as SHA-256.
        .target(
            name: "WaqtorAuth",
            dependencies: [
                "CArgon2", "WaqtorCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Tenants, sessions, API keys, plans: the data layer over PostgreSQL with row-level security.
        .target(
            name: "WaqtorTenants",
            dependencies: ["WaqtorCrypto", "WaqtorStore", "WaqtorAuth"],
            swiftSettings: swiftSettings
        ),
        // The Evolution API (WhatsApp gateway) v2 client, on WaqtorHTTP.
        .target(
            name: "WaqtorEvolution",
            dependencies: ["WaqtorHTTP"],
            swiftSettings: swiftSettings
        ),
        // A stand-in Evolution API server (routes, shapes, errors, webhooks) for tests and local runs.
        .target(
            name: "EvolutionSimulator",
            dependencies: ["WaqtorCrypto", 
                "WaqtorHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "waqtor-evolution-sim",
            dependencies: ["EvolutionSimulator", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        // The server's wiring: configuration, services, start-up and shutdown.
        .target(
            name: "WaqtorApp",
            dependencies: ["WaqtorCrypto", 
                "WaqtorRPC", "WaqtorProto", "WaqtorStore", "WaqtorQueue", "WaqtorHTTP", "WaqtorAuth", "WaqtorTenants",
                "WaqtorEvolution", "EvolutionSimulator",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "waqtor-server",
            dependencies: ["WaqtorApp", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "waqtor",
            dependencies: [
                "WaqtorRPC", "WaqtorProto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "waqtor-load",
            dependencies: [
                "WaqtorRPC", "WaqtorProto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Tests.
        .target(
            name: "WaqtorTestSupport",
            dependencies: [],
            path: "Tests/WaqtorTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorRPCTests",
            dependencies: ["WaqtorRPC", "WaqtorTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOTestUtils", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorProtoTests",
            dependencies: ["WaqtorProto", "WaqtorRPC", "WaqtorTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio")],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorCryptoTests",
            dependencies: ["WaqtorCrypto"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorStoreTests",
            dependencies: ["WaqtorStore", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorAuthTests",
            dependencies: ["WaqtorCrypto", "WaqtorAuth"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorTenantsTests",
            dependencies: ["WaqtorTenants", "WaqtorAuth", "WaqtorStore", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorQueueTests",
            dependencies: ["WaqtorQueue", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorHTTPTests",
            dependencies: ["WaqtorHTTP", "WaqtorTestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorEvolutionTests",
            dependencies: [
                "WaqtorEvolution", "EvolutionSimulator", "WaqtorHTTP", "WaqtorCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorAppTests",
            dependencies: ["WaqtorApp", "WaqtorRPC", "WaqtorProto", "WaqtorTenants", "WaqtorStore", "WaqtorHTTP", "WaqtorAuth", "WaqtorEvolution", "EvolutionSimulator", "WaqtorTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
    ]
)
