import Foundation
import Testing

/// The committed generated files (C shim, Swift layer, generated tests) match what
/// tools/generate-proto.sh produces from proto/ now. Fails (never skips) when protoc or protoc-c is
/// missing: the script exits non-zero.
@Suite("generated code drift")
struct DriftTests {
    static var repositoryRoot: URL {
        // Tests/WaqtorProtoTests/DriftTests.swift -> the repository root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func generatedFilesAreUpToDate() throws {
        let script = Self.repositoryRoot.appendingPathComponent("tools/generate-proto.sh")
        #expect(FileManager.default.isExecutableFile(atPath: script.path), "missing \(script.path)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, "--check"]
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "tools/generate-proto.sh --check failed:\n\(text)")
    }
}
