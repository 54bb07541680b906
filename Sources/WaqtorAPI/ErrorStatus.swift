import WaqtorRedis
import WaqtorRPC
import WaqtorPostgres
import WaqtorTenants
import WaqtorInstances
import WaqtorCore
import WaqtorEvolution
import WaqtorContacts
import WaqtorCampaigns
import WaqtorTemplates
import WaqtorChat
import WaqtorDrafting

// The one place where errors of the drivers and stores become wire statuses. Handlers may still
// throw an `RPCError` of their own choosing; everything else they let through is mapped here, so
// that an outage reads UNAVAILABLE with a retry hint (PROTOCOL.md, "Retrying") and a cancelled call
// reads CANCELLED, never INTERNAL. The messages are for the caller: they name the component and
// what to do, and never carry SQL, server text or addresses.

/// How long a caller should wait before retrying when a backend cannot be reached.
enum BackendRetry {
    /// PostgreSQL unreachable or restarting, or every pooled connection busy.
    static let databaseMilliseconds = 1000
    /// A Redis shard unreachable.
    static let redisMilliseconds = 1000

    /// A backend client refused work because the server is stopping.
    static let shuttingDown = unavailable(
        "the server is shutting down; retry on another server or in a moment", retryAfterMilliseconds: databaseMilliseconds)
    /// Work of a cancelled call (the runtime turns it into DEADLINE_EXCEEDED past the deadline).
    static let cancelled = RPCError(code: .cancelled, message: "the call was cancelled")
    /// Anything a caller cannot act on; the runtime adds the request id and logs the cause.
    static let internalError = RPCError(code: .internalError, message: "internal error")

    static func unavailable(_ message: String, retryAfterMilliseconds: Int) -> RPCError {
        RPCError(
            code: .unavailable, message: message,
            metadata: [Metadata.Keys.retryAfterMilliseconds: String(retryAfterMilliseconds)])
    }
}

extension PostgresError: RPCErrorConvertible {
    /// CANCELLED for cancelled work (the RPC layer turns it into DEADLINE_EXCEEDED when the call's
    /// deadline passed); UNAVAILABLE with `retry-after-ms` when the database cannot be reached, is
    /// restarting or has no free connection; ABORTED for a serialization failure or deadlock (the
    /// call did nothing and may be retried at once); INTERNAL for the rest.
    public var rpcError: RPCError {
        switch kind {
        case .cancelled:
            return BackendRetry.cancelled
        case .connectionFailed:
            return BackendRetry.unavailable(
                "the database cannot be reached right now; retry in a moment",
                retryAfterMilliseconds: BackendRetry.databaseMilliseconds)
        case .poolTimeout:
            return BackendRetry.unavailable(
                "the server is busy (every database connection is in use); retry in a moment",
                retryAfterMilliseconds: BackendRetry.databaseMilliseconds)
        case .closed:
            return BackendRetry.shuttingDown
        case .queryFailed where isBackendUnavailable:
            return BackendRetry.unavailable(
                "the database is restarting or out of resources; retry in a moment",
                retryAfterMilliseconds: BackendRetry.databaseMilliseconds)
        case .queryFailed where isSerializationFailure:
            return RPCError(code: .aborted, message: "the call conflicted with another one and did nothing; retry it")
        case .queryFailed where isQueryCanceled:
            return RPCError(code: .deadlineExceeded, message: "a database statement took too long and was stopped")
        case .queryFailed, .transactionAborted, .protocolViolation:
            return BackendRetry.internalError
        }
    }

    /// SQLSTATE classes 08 (connection exception), 53 (insufficient resources) and 58 (system
    /// error: I/O), 57P01-57P03 and 57P05 (the server is shutting down, crashed, not yet accepting
    /// connections, or ended an idle session), and 25006 (a read-only transaction: a standby that
    /// is not promoted yet during a failover). A retry later can succeed.
    public var isBackendUnavailable: Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || sqlState.hasPrefix("53") || sqlState.hasPrefix("58")
            || ["57P01", "57P02", "57P03", "57P05", "25006"].contains(sqlState)
    }
}

extension RedisError: RPCErrorConvertible {
    /// UNAVAILABLE with `retry-after-ms` naming the shard (by index, not address) when it cannot be
    /// reached; CANCELLED for cancelled work; INTERNAL for the rest.
    public var rpcError: RPCError {
        switch kind {
        case .connectionFailed, .connectionLost, .timeout:
            return BackendRetry.unavailable(
                "Redis shard \(shardIndex) cannot be reached right now; retry in a moment",
                retryAfterMilliseconds: BackendRetry.redisMilliseconds)
        case .closed:
            return BackendRetry.shuttingDown
        case .cancelled:
            return BackendRetry.cancelled
        case .protocolError, .invalidShard:
            return BackendRetry.internalError
        }
    }
}

extension TenantStoreError: RPCErrorConvertible {
    /// The store's kinds as statuses; a database failure is the underlying `PostgresError`'s.
    public var rpcError: RPCError {
        switch kind {
        case .alreadyExists: RPCError(code: .alreadyExists, message: context ?? "it already exists")
        case .notFound: RPCError(code: .notFound, message: context ?? "not found")
        case .invalidCredentials: RPCError(code: .permissionDenied, message: "the current password is not correct")
        case .permissionDenied: RPCError(code: .permissionDenied, message: "not permitted for this account")
        case .invalidArgument: RPCError(code: .invalidArgument, message: context ?? "a value was rejected")
        case .database: underlying?.rpcError ?? BackendRetry.internalError
        }
    }
}

// Domain errors: each category has one status. A domain error type answers through this default
// once it is listed below (a type not listed would answer INTERNAL, which the tests catch).
extension RPCErrorConvertible where Self: DomainError {
    public var rpcError: RPCError { DomainErrorStatus.status(self) }
}

extension DomainFailure: RPCErrorConvertible {}
extension PlanLimitReached: RPCErrorConvertible {}
extension GatewayFailure: RPCErrorConvertible {}
extension ContactError: RPCErrorConvertible {}
extension CampaignTransitionRefused: RPCErrorConvertible {}
extension CampaignError: RPCErrorConvertible {}
extension TemplateError: RPCErrorConvertible {}
extension ChatError: RPCErrorConvertible {}
extension DraftingError: RPCErrorConvertible {}

/// The status of each domain error category.
public enum DomainErrorStatus {
    public static func code(_ category: DomainErrorCategory) -> RPCStatusCode {
        switch category {
        case .invalidInput: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .limitReached: .resourceExhausted
        case .permissionDenied: .permissionDenied
        case .unavailable: .unavailable
        case .aborted: .aborted
        }
    }

    /// The error's status, its message, `retry-after-ms` when a wait helps, and its details as
    /// metadata.
    public static func status(_ error: some DomainError) -> RPCError {
        var metadata = Metadata()
        for (key, value) in error.details.sorted(by: { $0.key < $1.key }) { metadata.add(key, value) }
        if let retry = error.retryAfterMilliseconds {
            metadata.add(Metadata.Keys.retryAfterMilliseconds, String(retry))
        }
        return RPCError(code: code(error.category), message: error.message, metadata: metadata)
    }
}
