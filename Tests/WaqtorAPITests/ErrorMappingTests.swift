import Testing
import WaqtorAPI
import WaqtorCore
import WaqtorEvolution
import WaqtorPostgres
import WaqtorRPC
import WaqtorTenants

@Suite("Gateway errors to RPC statuses")
struct GatewayErrorMappingTests {
    @Test("every typed gateway error has its status and keeps the gateway's word")
    func mapping() {
        let cases: [(EvolutionError.Kind, Int?, RPCStatusCode)] = [
            (.unauthorized, 401, .unavailable),
            (.instanceNotFound, 404, .failedPrecondition),
            (.alreadyExists, 403, .alreadyExists),
            (.unknownNumber, 400, .invalidArgument),
            (.connectionClosed, 500, .failedPrecondition),
            (.badRequest(["number must be a string"]), 400, .invalidArgument),
            (.server(502), 502, .unavailable),
            (.timeout, nil, .unavailable),
            (.transport, nil, .unavailable),
            (.invalidResponse, 200, .unavailable),
        ]
        for (kind, status, expected) in cases {
            let error = EvolutionError(kind: kind, status: status, messages: ["gateway said so"], unknownNumbers: ["5511000000000"])
            let mapped = GatewayFailure(error, action: "do it").rpcError
            #expect(mapped.code == expected, "\(kind)")
            #expect(mapped.message.hasPrefix("cannot do it"), "\(kind)")
        }
        let closed = GatewayFailure(EvolutionError(kind: .connectionClosed, status: 500, messages: ["Error: Connection Closed"]), action: "send").rpcError
        #expect(closed.message.contains("Connection Closed") && closed.message.contains("HTTP 500"))
        let unknown = GatewayFailure(EvolutionError(kind: .unknownNumber, status: 400, unknownNumbers: ["5511000000000"]), action: "send").rpcError
        #expect(unknown.message.contains("5511000000000"))
    }
}


@Suite("Domain errors to RPC statuses")
struct DomainErrorMappingTests {
    @Test("each category has its status; retry hints and details travel as metadata")
    func categories() {
        let expected: [(DomainErrorCategory, RPCStatusCode)] = [
            (.invalidInput, .invalidArgument), (.notFound, .notFound), (.alreadyExists, .alreadyExists),
            (.failedPrecondition, .failedPrecondition), (.limitReached, .resourceExhausted),
            (.permissionDenied, .permissionDenied), (.unavailable, .unavailable), (.aborted, .aborted),
        ]
        for (category, code) in expected {
            let error: any Error = DomainFailure(category, "do the thing first", retryAfterMilliseconds: 1500, details: ["limit": "contacts"])
            let mapped = (error as? any RPCErrorConvertible)?.rpcError
            #expect(mapped?.code == code, "\(category)")
            #expect(mapped?.message == "do the thing first")
            #expect(mapped?.metadata[Metadata.Keys.retryAfterMilliseconds] == "1500")
            #expect(mapped?.metadata["limit"] == "contacts")
        }
    }

    @Test("a plan limit answers RESOURCE_EXHAUSTED naming the limit, with a wait only for a daily quota")
    func planLimit() {
        let daily: any Error = PlanLimitReached(message: "plan limit reached", limit: "messages_per_day", retryAfterMilliseconds: 60_000)
        let count: any Error = PlanLimitReached(message: "plan limit reached", limit: "contacts", retryAfterMilliseconds: nil)
        let d = (daily as? any RPCErrorConvertible)?.rpcError
        let c = (count as? any RPCErrorConvertible)?.rpcError
        #expect(d?.code == .resourceExhausted && d?.metadata["limit"] == "messages_per_day" && d?.metadata[Metadata.Keys.retryAfterMilliseconds] == "60000")
        #expect(c?.code == .resourceExhausted && c?.metadata["limit"] == "contacts" && c?.metadata[Metadata.Keys.retryAfterMilliseconds] == nil)
    }
}

@Suite("Database errors to RPC statuses")
struct DatabaseErrorMappingTests {
    @Test("an outage or restart of PostgreSQL is UNAVAILABLE with a retry hint, never INTERNAL")
    func outages() {
        let unavailable: [PostgresError] = [
            PostgresError(.connectionFailed, serverMessage: "server closed the connection unexpectedly"),
            PostgresError(.poolTimeout),
            PostgresError(.queryFailed, sqlState: "57P01"),  // admin_shutdown (pg_ctl restart -m fast)
            PostgresError(.queryFailed, sqlState: "57P02"),  // crash_shutdown
            PostgresError(.queryFailed, sqlState: "57P03"),  // cannot_connect_now (starting up)
            PostgresError(.queryFailed, sqlState: "57P05"),  // idle_session_timeout
            PostgresError(.queryFailed, sqlState: "08006"),  // connection_failure
            PostgresError(.queryFailed, sqlState: "53300"),  // too_many_connections
            PostgresError(.queryFailed, sqlState: "58030"),  // io_error
            PostgresError(.queryFailed, sqlState: "25006"),  // read_only_sql_transaction (a standby)
        ]
        for error in unavailable {
            let status = error.rpcError
            #expect(status.code == .unavailable, "\(error)")
            #expect(status.metadata[Metadata.Keys.retryAfterMilliseconds] == "1000", "\(error)")
            #expect(!status.message.contains("SQL") && !status.message.contains("postgres"), "no internals: \(status.message)")
        }
        #expect(PostgresError(.closed).rpcError.code == .unavailable)
        #expect(PostgresError(.queryFailed, sqlState: "40001").rpcError.code == .aborted)
        #expect(PostgresError(.queryFailed, sqlState: "57014").rpcError.code == .deadlineExceeded)
        #expect(PostgresError(.cancelled).rpcError.code == .cancelled)
        // A statement the server refused for what it is (a bug, not an outage) stays INTERNAL.
        #expect(PostgresError(.queryFailed, sqlState: "42601").rpcError.code == .internalError)
    }
}
