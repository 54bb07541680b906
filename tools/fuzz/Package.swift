// swift-tools-version:6.2
// libFuzzer targets for every decoder of the product (docs/RELIABILITY.md, "Fuzzing"). A standalone
// package: NOT a dependency of the main package. Built and run by tools/fuzz.sh, which compiles it
// with `-sanitize=fuzzer,address` (and UBSan for the C++ phone shim) in its own scratch folder:
//   swift build -c debug --scratch-path tools/fuzz/.build \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// Each target defines LLVMFuzzerTestOneInput and checks a property of its decoder with
// preconditions, so that libFuzzer reports a broken property as a crash.
import Foundation
import PackageDescription

// The main package is this folder's grandparent; a path dependency is named after its folder,
// whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let main = root.lastPathComponent

// `-parse-as-library`: libFuzzer provides `main`; SwiftPM then leaves the entry point alone.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, path: "Sources/\(name)", swiftSettings: swiftSettings)
}

let package = Package(
    name: "waqtor-fuzz",
    platforms: [.macOS(.v26)],
    dependencies: [
        .package(path: root.path),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Starting libFuzzer's driver, shared by every target.
        .target(name: "FuzzSupport", swiftSettings: swiftSettings),
        // The RPC frame reader fed any byte stream, split anyhow.
        fuzzTarget("fuzz-frames", [
            .product(name: "WaqtorRPC", package: main), .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // REQUEST, END, GOAWAY and HELLO payload heads and the metadata block.
        fuzzTarget("fuzz-heads", [
            .product(name: "WaqtorRPC", package: main), .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // Every generated protobuf message (protobuf-c underneath): decode, encode, decode.
        fuzzTarget("fuzz-proto", [
            .product(name: "WaqtorProto", package: main), .product(name: "WaqtorRPC", package: main),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // The template and spintax parser, its bounds and its rendering.
        fuzzTarget("fuzz-templates", [.product(name: "WaqtorTemplates", package: main)]),
        // Contact files: CSV records mapped by their header.
        fuzzTarget("fuzz-csv", [.product(name: "WaqtorImport", package: main)]),
        // Phone numbers through libphonenumber and the C++ shim.
        fuzzTarget("fuzz-phone", [.product(name: "WaqtorPhone", package: main)]),
        // Webhook bodies: the envelope and the chat message event parser.
        fuzzTarget("fuzz-webhooks", [
            .product(name: "WaqtorWebhooks", package: main), .product(name: "WaqtorChat", package: main),
        ]),
    ]
)
