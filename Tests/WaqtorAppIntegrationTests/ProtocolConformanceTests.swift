import Foundation
import Logging
import Testing
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

/// A HealthService for the conformance run: Ping echoes its payload with the server's clock,
/// Readiness is ready with no components.
private struct ConformanceHealthService: Waqtor_V1_HealthServiceHandler {
    func ping(_ request: Waqtor_V1_PingRequest, context: ServerContext) async throws -> Waqtor_V1_PingResponse {
        var response = Waqtor_V1_PingResponse()
        response.payload = request.payload
        response.serverTime = .now()
        return response
    }

    func readiness(_ request: Waqtor_V1_ReadinessRequest, context: ServerContext) async throws -> Waqtor_V1_ReadinessResponse {
        var response = Waqtor_V1_ReadinessResponse()
        response.ready = true
        return response
    }
}

@Suite("Wire protocol conformance (docs/PROTOCOL.md)")
struct ProtocolConformanceTests {
    /// The repository root: this file is Tests/WaqtorAppTests/ProtocolConformanceTests.swift.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("tools/protocol_conformance.py, an independent client, passes against the server")
    func pythonClientPasses() async throws {
        var router = RPCRouter()
        ConformanceHealthService().register(into: &router)
        var logger = Logger(label: "conformance")
        logger.logLevel = .critical
        let server = RPCServer(configuration: .init(host: "127.0.0.1", port: 0), router: router, logger: logger)
        try await server.start()
        let port = try #require(server.localPort)

        let script = Self.repositoryRoot.appendingPathComponent("tools/protocol_conformance.py").path
        let result: (status: Int32, output: String)
        do {
            result = try await TestProcess.run(
                "/usr/bin/python3", [script, "--host", "127.0.0.1", "--port", "\(port)", "--timeout", "10"], in: Self.repositoryRoot)
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()

        if ProcessInfo.processInfo.environment["WAQTOR_CONFORMANCE_TRACE"] == "1" { print(result.output) }
        #expect(result.status == 0, "protocol_conformance.py exited with \(result.status):\n\(result.output)")
    }
}
