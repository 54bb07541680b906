import Foundation
import Testing
import WaqtorTestSupport

/// The committed generated files (C shim, Swift layer, generated tests) match what
/// tools/generate-proto.sh produces from proto/ now. Fails (never skips) when protoc or protoc-c is
/// missing: the script exits non-zero.
@Suite("generated code drift")
struct DriftTests {
    static var repositoryRoot: URL {
        // Tests/WaqtorProtoTests/DriftTests.swift -> the repository root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func generatedFilesAreUpToDate() async throws {
        let script = Self.repositoryRoot.appendingPathComponent("tools/generate-proto.sh")
        #expect(FileManager.default.isExecutableFile(atPath: script.path), "missing \(script.path)")
        // Off the cooperative pool: the script takes seconds, and other tests need those threads.
        let (status, text) = try await TestProcess.run(
            "/bin/bash", [script.path, "--check"], in: FileManager.default.temporaryDirectory)
        #expect(status == 0, "tools/generate-proto.sh --check failed:\n\(text)")
    }
}
