// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "waqtor",
    // Built and tested on Linux (Debian): the C libraries come from apt and the tests read /proc.
    // Swift 6.2 or later (`Task.immediate`, SE-0472); on Apple platforms that means the OS releases
    // that ship its runtime.
    platforms: [.macOS(.v26)],
    products: [
        .executable(name: "waqtor-server", targets: ["waqtor-server"]),
        .executable(name: "waqtor", targets: ["waqtor"]),
        .executable(name: "waqtor-load", targets: ["waqtor-load"]),
        .library(name: "WaqtorRPC", targets: ["WaqtorRPC"]),
        .library(name: "WaqtorProto", targets: ["WaqtorProto"]),
        .library(name: "WaqtorCore", targets: ["WaqtorCore"]),
        .library(name: "WaqtorTemplates", targets: ["WaqtorTemplates"]),
        // For the fuzz targets (tools/fuzz), which link the parsers alone.
        .library(name: "WaqtorImport", targets: ["WaqtorImport"]),
        .library(name: "WaqtorPhone", targets: ["WaqtorPhone"]),
        .library(name: "WaqtorChat", targets: ["WaqtorChat"]),
        .library(name: "WaqtorWebhooks", targets: ["WaqtorWebhooks"]),
        .library(name: "WaqtorTenants", targets: ["WaqtorTenants"]),
        .library(name: "WaqtorEvolution", targets: ["WaqtorEvolution"]),
        .library(name: "EvolutionSimulator", targets: ["EvolutionSimulator"]),
        .executable(name: "waqtor-evolution-sim", targets: ["waqtor-evolution-sim"]),
        .library(name: "OpenRouterStandIn", targets: ["OpenRouterStandIn"]),
        .executable(name: "waqtor-openrouter-sim", targets: ["waqtor-openrouter-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
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
        // libphonenumber is C++: a small extern "C" shim (CPhoneNumber.cpp) so that Swift needs no C++
        // interop. Its protobuf, ICU and abseil come with libphonenumber.so (its NEEDED entries).
        .target(
            name: "CPhoneNumber",
            linkerSettings: [.linkedLibrary("phonenumber"), .linkedLibrary("stdc++")]
        ),

        // Metric helpers over swift-metrics' API (no backend): counter and gauge families whose
        // label sets appear as things happen, and timers from a start instant.
        .target(
            name: "WaqtorMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The RPC runtime: frames, status codes, metadata, server and client. No business logic.
        .target(
            name: "WaqtorRPC",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
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
        // Drivers: one external system each. Blocking C calls run on NIO thread pools, never on an
        // event loop or the cooperative pool.
        // PostgreSQL through libpq: the pool, transactions with the tenant setting, typed values,
        // the migration engine (the migrations themselves are in WaqtorSchema).
        .target(
            name: "WaqtorPostgres",
            dependencies: [
                "CPostgres", "WaqtorSecurity",
                "WaqtorMetrics", .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Redis shards through hiredis: connections, the hash ring, commands.
        .target(
            name: "WaqtorRedis",
            dependencies: [
                "CHiredis",
                "WaqtorMetrics", .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Outbound HTTP through libcurl.
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
        // Secrets: argon2id password hashes (libargon2), random tokens stored as SHA-256, and
        // SHA-256 / HMAC-SHA256 / constant-time comparison through swift-crypto.
        .target(
            name: "WaqtorSecurity",
            dependencies: [
                "CArgon2",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Phone numbers through libphonenumber: parsed, validated, E.164 with their type; the
        // country of a time zone from tzdata.
        .target(
            name: "WaqtorPhone",
            dependencies: ["CPhoneNumber"],
            swiftSettings: swiftSettings
        ),

        // Shared core: typed ids, page cursors, the injectable clock, the domain-error protocol.
        // Depends on nothing of ours.
        .target(name: "WaqtorCore", swiftSettings: swiftSettings),
        // The campaign template grammar (variables, defaults, spintax): one parser, a pure value,
        // seeded rendering. Used by campaigns, the preview and drafting.
        .target(name: "WaqtorTemplates", dependencies: ["WaqtorCore"], swiftSettings: swiftSettings),

        // Integrations: clients of outside services, with their error classification.
        // The Evolution API (WhatsApp gateway) v2 client, on WaqtorHTTP.
        .target(
            name: "WaqtorEvolution",
            dependencies: ["WaqtorHTTP", "WaqtorCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // A stand-in Evolution API server (routes, shapes, errors, webhooks). Linked only by the
        // tests, waqtor-evolution-sim and waqtor-server (its embedded default).
        .target(
            name: "EvolutionSimulator",
            dependencies: ["WaqtorSecurity",
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

        // The OpenRouter (AI provider) client, on WaqtorHTTP: chat completions with structured
        // output, its error classification, retries within the caller's deadline.
        .target(
            name: "WaqtorOpenRouter",
            dependencies: ["WaqtorHTTP", "WaqtorCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // A stand-in OpenRouter server (chat completions, its error bodies and padding, usage with
        // cost, deterministic drafts, fault injection under /_sim/). Linked only by the tests,
        // waqtor-openrouter-sim and waqtor-server (its embedded default).
        .target(
            name: "OpenRouterStandIn",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "waqtor-openrouter-sim",
            dependencies: ["OpenRouterStandIn", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // The schema: every domain's ordered SQL migrations.
        .target(
            name: "WaqtorSchema",
            dependencies: ["WaqtorPostgres"],
            resources: [.copy("Migrations")],
            swiftSettings: swiftSettings
        ),

        // Domains: one business concern each; they never import WaqtorRPC or WaqtorProto and
        // throw their own errors (DomainError), which the API edge maps to statuses.
        // Tenants: accounts, sessions, API keys, plans and their quotas, the login throttle.
        .target(
            name: "WaqtorTenants",
            dependencies: ["WaqtorCore", "WaqtorPostgres", "WaqtorRedis", "WaqtorSecurity"],
            swiftSettings: swiftSettings
        ),
        // Instances: WhatsApp numbers, their connection state machine, the webhook inbox, pairing.
        .target(
            name: "WaqtorInstances",
            dependencies: [
                "WaqtorCore", "WaqtorPostgres", "WaqtorSecurity", "WaqtorTenants", "WaqtorEvolution",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Contact files: CSV read with CSV.swift and its header mapped to a contact's fields; pure,
        // shared by the server (ImportContacts with csv_data) and the CLI (which streams files).
        .target(
            name: "WaqtorImport",
            dependencies: [.product(name: "CSV", package: "CSV.swift")],
            swiftSettings: swiftSettings
        ),
        // Contacts: people to message, their consent and attributes, contact lists.
        .target(
            name: "WaqtorContacts",
            dependencies: ["WaqtorCore", "WaqtorPostgres", "WaqtorTenants"],
            swiftSettings: swiftSettings
        ),
        // Campaigns: contacts' campaigns, their life cycle (a pure state machine), schedules in the
        // tenant's time zone, audiences and progress.
        .target(
            name: "WaqtorCampaigns",
            dependencies: ["WaqtorCore", "WaqtorPostgres", "WaqtorSecurity", "WaqtorTenants", "WaqtorContacts", "WaqtorTemplates", "WaqtorHTTP"],
            swiftSettings: swiftSettings
        ),

        // Chat: conversations and messages projected from the gateway's webhooks, replies, the
        // account's chat settings and opt-out words, and the live feed (a Redis stream per shard).
        .target(
            name: "WaqtorChat",
            dependencies: [
                "WaqtorCore", "WaqtorPostgres", "WaqtorRedis", "WaqtorTenants", "WaqtorPhone",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // AI drafting: the prompt, the provider call, every draft checked by the template parser.
        // Privacy by construction: it depends on the AI client and the template grammar only, never
        // on contacts, chat, campaigns' recipients or media (WaqtorDraftingTests reads the package
        // graph and fails if that changes). It has no database access at all.
        .target(
            name: "WaqtorDrafting",
            dependencies: [
                "WaqtorCore", "WaqtorOpenRouter", "WaqtorTemplates",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The send queue: pacing rules (pure), the dispatch order on the Redis shards (Lua
        // scripts), and the messages' truth in PostgreSQL.
        .target(
            name: "WaqtorSendQueue",
            dependencies: ["WaqtorCore", "WaqtorPostgres", "WaqtorRedis", "WaqtorTenants", "WaqtorEvolution", "WaqtorChat"],
            swiftSettings: swiftSettings
        ),

        // Edges: how the outside reaches the domains.
        // The RPC services: handlers, validation, access rules, and the one map from errors to statuses.
        .target(
            name: "WaqtorAPI",
            dependencies: [
                "WaqtorRPC", "WaqtorProto", "WaqtorCore", "WaqtorSecurity", "WaqtorPostgres", "WaqtorRedis",
                "WaqtorTenants", "WaqtorInstances", "WaqtorContacts", "WaqtorCampaigns", "WaqtorTemplates", "WaqtorEvolution",
                "WaqtorPhone", "WaqtorImport", "WaqtorChat", "WaqtorSendQueue", "WaqtorDrafting", "WaqtorOpenRouter", "WaqtorMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP listener for the gateway's webhooks.
        .target(
            name: "WaqtorWebhooks",
            dependencies: [
                "WaqtorCore", "WaqtorSecurity", "WaqtorPostgres", "WaqtorTenants", "WaqtorInstances", "WaqtorMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Workers: what a worker process runs (the campaign scheduler now; senders next).
        .target(
            name: "WaqtorWorkers",
            dependencies: [
                "WaqtorCore", "WaqtorCampaigns", "WaqtorSendQueue", "WaqtorEvolution", "WaqtorRedis", "WaqtorTenants", "WaqtorChat",
                "WaqtorMetrics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Composition root: configuration, logging, a ServiceGroup per role.
        .target(
            name: "WaqtorApp",
            dependencies: [
                "WaqtorRPC", "WaqtorProto", "WaqtorCore", "WaqtorPostgres", "WaqtorRedis", "WaqtorHTTP", "WaqtorSchema",
                "WaqtorTenants", "WaqtorInstances", "WaqtorContacts", "WaqtorCampaigns", "WaqtorEvolution", "WaqtorAPI", "WaqtorWebhooks",
                "WaqtorWorkers", "WaqtorSendQueue", "WaqtorChat", "WaqtorDrafting", "WaqtorOpenRouter",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "waqtor-server",
            dependencies: ["WaqtorApp", "EvolutionSimulator", "OpenRouterStandIn", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "waqtor",
            dependencies: [
                "WaqtorRPC", "WaqtorProto", "WaqtorImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "waqtor-load",
            dependencies: [
                "WaqtorRPC", "WaqtorProto", "WaqtorHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Tests. Unit targets need no server (`tools/test.sh --unit`, or `swift test --skip
        // IntegrationTests`); the *IntegrationTests targets talk to the PostgreSQL and Redis that
        // tools/setup.sh starts (tools/test.sh sets their addresses).
        .target(
            name: "WaqtorTestSupport",
            dependencies: ["WaqtorCore"],
            path: "Tests/WaqtorTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorCoreTests",
            dependencies: ["WaqtorCore", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorChatTests",
            dependencies: ["WaqtorChat"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorDraftingTests",
            dependencies: ["WaqtorDrafting", "WaqtorOpenRouter", "WaqtorTemplates", "WaqtorHTTP", "OpenRouterStandIn", "WaqtorCore", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OpenRouterStandInTests",
            dependencies: ["OpenRouterStandIn", "WaqtorHTTP"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorTemplatesTests",
            dependencies: ["WaqtorTemplates", "WaqtorCore"],
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
            name: "WaqtorSecurityTests",
            dependencies: ["WaqtorSecurity"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorPhoneTests",
            dependencies: ["WaqtorPhone", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorPostgresTests",
            dependencies: ["WaqtorPostgres", "WaqtorSchema"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorRedisTests",
            dependencies: ["WaqtorRedis"],
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
                "WaqtorEvolution", "EvolutionSimulator", "WaqtorHTTP", "WaqtorSecurity",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorInstancesTests",
            dependencies: ["WaqtorInstances", "WaqtorPostgres"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorImportTests",
            dependencies: ["WaqtorImport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorCampaignsTests",
            dependencies: ["WaqtorCampaigns", "WaqtorCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorSendQueueTests",
            dependencies: ["WaqtorSendQueue", "WaqtorCore", "WaqtorEvolution"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorAPITests",
            dependencies: ["WaqtorAPI", "WaqtorCore", "WaqtorRPC", "WaqtorTenants", "WaqtorEvolution"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorPostgresIntegrationTests",
            dependencies: ["WaqtorPostgres", "WaqtorSchema", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorRedisIntegrationTests",
            dependencies: ["WaqtorRedis", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorTenantsIntegrationTests",
            dependencies: ["WaqtorTenants", "WaqtorInstances", "WaqtorContacts", "WaqtorCampaigns", "WaqtorSecurity", "WaqtorPostgres", "WaqtorSchema", "WaqtorCore", "WaqtorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaqtorAppIntegrationTests",
            dependencies: [
                "WaqtorApp", "WaqtorAPI", "WaqtorWebhooks", "WaqtorRPC", "WaqtorProto", "WaqtorCore", "WaqtorTenants",
                "WaqtorInstances", "WaqtorPostgres", "WaqtorRedis", "WaqtorHTTP", "WaqtorSecurity", "WaqtorEvolution",
                "WaqtorContacts", "WaqtorCampaigns", "WaqtorWorkers", "WaqtorSendQueue", "EvolutionSimulator", "OpenRouterStandIn", "WaqtorDrafting", "WaqtorTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    cxxLanguageStandard: .cxx17
)
