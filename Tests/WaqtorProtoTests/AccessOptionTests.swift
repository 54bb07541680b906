import Foundation
import Testing
import WaqtorProto
import WaqtorTestSupport

/// The generator enforces `option (access)` on every method: a schema with a method that lacks one
/// does not generate (and so the package cannot build against it).
@Suite("access option enforced by the generator")
struct AccessOptionTests {
    static let wktInclude = ProcessInfo.processInfo.environment["WAQTOR_PROTO_WKT_INCLUDE"] ?? "/usr/include"

    /// Runs the generator (through protoc, as tools/generate-proto.sh does) on the real options.proto
    /// and a probe service whose methods' bodies are `methods`; returns protoc's status and output
    /// and the generated Swift of the probe (when there is one).
    func generate(_ methods: String) async throws -> (status: Int32, output: String, swift: String?) {
        let root = DriftTests.repositoryRoot
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("waqtor-access-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let protoDir = dir.appendingPathComponent("proto/waqtor/v1")
        try FileManager.default.createDirectory(at: protoDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: root.appendingPathComponent("proto/waqtor/v1/options.proto"), to: protoDir.appendingPathComponent("options.proto"))
        let probe = """
            syntax = "proto3";
            package waqtor.v1;
            import "waqtor/v1/options.proto";
            message ProbeRequest {}
            message ProbeResponse {}
            service ProbeService {
            \(methods)
            }
            """
        try probe.write(to: protoDir.appendingPathComponent("probe.proto"), atomically: true, encoding: .utf8)
        let (status, output) = try await TestProcess.run("/usr/bin/env", [
            "protoc", "--plugin=protoc-gen-waqtor-swift=\(root.appendingPathComponent("tools/protoc-gen-waqtor-swift").path)",
            "--waqtor-swift_out=out", "-I", "proto", "-I", Self.wktInclude,
            "waqtor/v1/options.proto", "waqtor/v1/probe.proto",
        ], in: dir)
        let swift = try? String(
            contentsOf: dir.appendingPathComponent("out/Sources/WaqtorProto/Generated/waqtor_v1_probe.pb.swift"), encoding: .utf8)
        return (status, output, swift)
    }

    @Test("a method without a rule, or with ACCESS_UNSPECIFIED, fails generation naming the method")
    func missingRuleFails() async throws {
        let missing = try await generate("""
              rpc Ruled(ProbeRequest) returns (ProbeResponse) { option (access) = ACCESS_TENANT_READ; }
              rpc AdminUnruled(ProbeRequest) returns (ProbeResponse);
            """)
        #expect(missing.status != 0)
        #expect(missing.output.contains("waqtor.v1.ProbeService/AdminUnruled (waqtor/v1/probe.proto) has no access rule"), "\(missing.output)")
        #expect(!missing.output.contains("ProbeService/Ruled "), "\(missing.output)")
        #expect(missing.swift == nil)

        let unspecified = try await generate("""
              rpc Unspecified(ProbeRequest) returns (ProbeResponse) { option (access) = ACCESS_UNSPECIFIED; }
            """)
        #expect(unspecified.status != 0)
        #expect(unspecified.output.contains("waqtor.v1.ProbeService/Unspecified"), "\(unspecified.output)")
    }

    @Test("with a rule on every method, the rules are emitted into the generated table")
    func rulesAreEmitted() async throws {
        let generated = try await generate("""
              rpc Ruled(ProbeRequest) returns (ProbeResponse) { option (access) = ACCESS_TENANT_READ; }
              rpc AdminRuled(ProbeRequest) returns (ProbeResponse) { option (access) = ACCESS_ADMIN; }
            """)
        #expect(generated.status == 0, "\(generated.output)")
        let swift = try #require(generated.swift)
        #expect(swift.contains("public static let methodAccess: [String: Waqtor_V1_Access] = ["))
        #expect(swift.contains("\"waqtor.v1.ProbeService/Ruled\": .tenantRead,"))
        #expect(swift.contains("\"waqtor.v1.ProbeService/AdminRuled\": .admin,"))
    }

    @Test("the committed table holds every method with its declared rule")
    func committedTable() {
        #expect(Set(WaqtorAllMethods.access.keys) == Set(WaqtorAllMethods.names))
        #expect(!WaqtorAllMethods.access.values.contains(.unspecified))
        #expect(Waqtor_V1_TenantService.methodAccess["waqtor.v1.TenantService/AdminListTenants"] == .admin)
        #expect(Waqtor_V1_HealthService.methodAccess["waqtor.v1.HealthService/Ping"] == .public)
    }
}
