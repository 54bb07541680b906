import Foundation
import Logging
import Testing
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

/// A HealthService whose Ping fails as its payload says: every status and metadata a real server
/// sends, on demand (some, like UNAVAILABLE with retry-after-ms, only happen during an outage).
struct FailingHealthService: Waqtor_V1_HealthServiceHandler {
    static let errors: [String: RPCError] = [
        "unavailable": RPCError(code: .unavailable, message: "the database cannot be reached right now; retry in a moment",
                                metadata: ["retry-after-ms": "1500"]),
        "unavailable-plain": RPCError(code: .unavailable, message: "the connection is closing"),
        "throttled": RPCError(code: .resourceExhausted, message: "too many failed logins for this email", metadata: ["retry-after-ms": "42000"]),
        "daily": RPCError(code: .resourceExhausted, message: "plan limit reached: the free plan allows 200 messages per day",
                          metadata: ["limit": "messages_per_day", "retry-after-ms": "18000000"]),
        "contacts": RPCError(code: .resourceExhausted, message: "plan limit reached: the free plan allows 500 contacts",
                             metadata: ["limit": "contacts"]),
        "unpaired": RPCError(code: .failedPrecondition,
                             message: "none of the campaign's WhatsApp numbers is connected; pair one (waqtor instance qr) or add a connected number to the campaign"),
        "operator": RPCError(code: .failedPrecondition, message: "AI drafting is not configured on this server: the operator must set ai.api_key (docs/AI.md)"),
        "suspended": RPCError(code: .permissionDenied, message: "this account is suspended: unpaid invoice; contact the administrator"),
        "session-only": RPCError(code: .permissionDenied, message: "waqtor.v1.TenantService/CreateApiKey needs a session (log in); API keys cannot use it"),
        "key-expired": RPCError(code: .unauthenticated, message: "the API key expired at 2026-01-01T00:00:00Z; create a new one (`waqtor keys create`)"),
        "internal": RPCError(code: .internalError, message: "internal error"),
        "aborted": RPCError(code: .aborted, message: "the call conflicted with another one and did nothing; retry it"),
        "unimplemented": RPCError(code: .unimplemented, message: "unknown method"),
        "cancelled": RPCError(code: .cancelled, message: "the call was cancelled"),
    ]

    func ping(_ request: Waqtor_V1_PingRequest, context: ServerContext) async throws -> Waqtor_V1_PingResponse {
        let what = String(decoding: request.payload, as: UTF8.self)
        if what == "slow" {
            try await Task.sleep(for: .seconds(30))
        }
        if let error = Self.errors[what] { throw error }
        var response = Waqtor_V1_PingResponse()
        response.payload = request.payload
        return response
    }

    func readiness(_ request: Waqtor_V1_ReadinessRequest, context: ServerContext) async throws -> Waqtor_V1_ReadinessResponse {
        Waqtor_V1_ReadinessResponse()
    }
}

@Suite("CLI: every error status comes with a hint of what to do")
struct CLIHintTests {
    @Test("the hint of each status and server error, on stderr and as the JSON error object's hint; exit status 2")
    func hints() async throws {
        var router = RPCRouter()
        FailingHealthService().register(into: &router)
        var logger = Logger(label: "cli-hints")
        logger.logLevel = .critical
        let server = RPCServer(configuration: .init(host: "127.0.0.1", port: 0), router: router, logger: logger)
        try await server.start()
        do {
            let cli = try CLI(port: try #require(server.localPort))
            defer { cli.remove() }
            let expected: [(String, String?)] = [
                ("unavailable", "retry in 2 s"),
                ("unavailable-plain", "retry in a moment"),
                ("throttled", "wait 42 s, then retry"),
                ("daily", "wait 5 h (the daily counter resets at midnight in your time zone), or upgrade your plan: waqtor plan upgrade"),
                ("contacts", "delete some contacts, or upgrade your plan: waqtor plan upgrade"),
                ("unpaired", "pair the number first: waqtor instance qr <instance-id> (waqtor instance list shows which numbers are not open)"),
                ("operator", "ask the server's operator: it is the server's configuration"),
                ("suspended", "ask the administrator to reactivate the account"),
                ("session-only", "log in (waqtor login) instead of using an API key for this"),
                ("key-expired", "create a new API key: waqtor keys create"),
                ("internal", "the server failed: retry; if it keeps failing, tell the operator (request id req-7f3a)"),
                ("aborted", "another change got there first: retry"),
                ("unimplemented", "the server does not know this call: it is older than this client; upgrade the server"),
                ("cancelled", nil),
            ]
            for (payload, hint) in expected {
                let error = try #require(FailingHealthService.errors[payload])
                let result = try await cli.run(["ping", "--payload", payload, "--json", "--request-id", "req-7f3a"])
                #expect(result.status == 2, "\(payload): \(result)")
                let object = try result.error()
                #expect(string(object, "status") == error.code.name, "\(payload)")
                #expect(value(object, "code") as? Int == Int(error.code.rawValue))
                #expect(string(object, "message") == error.message)
                #expect(string(object, "hint") == hint, "\(payload): \(result)")
                #expect(result.stderr.hasPrefix("error: \(error.code.name): \(error.message)\n"), "\(payload): \(result)")
                if let hint { #expect(result.stderr.contains("\nhint: \(hint)\n"), "\(payload): \(result)") }
                if let retry = error.metadata["retry-after-ms"] { #expect(value(object, "retry_after_ms") as? Int == Int(retry)) }
                if let limit = error.metadata["limit"] { #expect(string(object, "limit") == limit) }
            }

            // Past --timeout: DEADLINE_EXCEEDED, and raise it.
            let slow = try await cli.run(["ping", "--payload", "slow", "--timeout", "0.5", "--json"])
            #expect(slow.status == 2, "\(slow)")
            #expect(string(try slow.error(), "status") == "DEADLINE_EXCEEDED")
            #expect(string(try slow.error(), "hint") == "raise --timeout (now 0.5 s), e.g. --timeout 30")

            // Without --json: the same two lines, nothing on stdout.
            let text = try await cli.run(["ping", "--payload", "daily"])
            #expect(text.status == 2)
            #expect(text.stdout.isEmpty)
            #expect(text.stderr.split(separator: "\n").count == 2, "\(text)")
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }
}
