/// An error from the PostgreSQL layer.
///
/// Switch on ``kind``. The ``description`` is safe to log: it never contains parameter values,
/// passwords or the server's message text (which may quote data, e.g. "Key (email)=(…) already
/// exists"). The server's own words are in ``serverMessage`` and ``serverDetail`` for debugging;
/// treat them as data.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, for callers to switch on.
    public enum Kind: Sendable, Hashable {
        /// A connection could not be opened, or it broke while in use.
        case connectionFailed
        /// No connection became free within the configured acquire timeout.
        case poolTimeout
        /// The server rejected a statement; see ``PostgresError/sqlState``.
        case queryFailed
        /// A transaction's body swallowed a failed statement, so the transaction could only roll back.
        case transactionAborted
        /// The pool was shut down.
        case closed
        /// The awaiting task was cancelled before the work ran.
        case cancelled
        /// A value could not be encoded or a result could not be decoded.
        case protocolViolation
    }

    /// What went wrong.
    public var kind: Kind
    /// The five-character SQLSTATE code for ``Kind/queryFailed`` (e.g. "23505").
    public var sqlState: String?
    /// The server's primary message. May quote data: do not show it to other tenants.
    public var serverMessage: String?
    /// The server's detail line. May quote data.
    public var serverDetail: String?
    /// A safe, fixed context added by this library (e.g. which step failed).
    public var context: String?

    /// Creates an error.
    public init(_ kind: Kind, sqlState: String? = nil, serverMessage: String? = nil, serverDetail: String? = nil, context: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.serverMessage = serverMessage
        self.serverDetail = serverDetail
        self.context = context
    }

    /// SQLSTATE 23505: a unique constraint or index was violated.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// SQLSTATE 23503: a foreign key was violated.
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// SQLSTATE 40001 or 40P01: the transaction may succeed if retried.
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// SQLSTATE 57014: the statement was cancelled (e.g. by `statement_timeout`).
    public var isQueryCanceled: Bool { sqlState == "57014" }
    /// SQLSTATE class 42 with code 42501: insufficient privilege (also raised by row-level security).
    public var isInsufficientPrivilege: Bool { sqlState == "42501" }

    /// A log-safe description: the kind, SQLSTATE and its name, and this library's context.
    public var description: String {
        var text: String
        switch kind {
        case .connectionFailed: text = "PostgreSQL connection failed"
        case .poolTimeout: text = "timed out waiting for a free PostgreSQL connection (pool exhausted; raise poolSize or acquireTimeout)"
        case .queryFailed: text = "PostgreSQL statement failed"
        case .transactionAborted: text = "PostgreSQL transaction aborted by an earlier failed statement and rolled back"
        case .closed: text = "PostgreSQL pool is shut down"
        case .cancelled: text = "PostgreSQL work cancelled"
        case .protocolViolation: text = "PostgreSQL value could not be encoded or decoded"
        }
        if let sqlState {
            text += " with SQLSTATE \(sqlState)"
            if let name = Self.conditionNames[sqlState] { text += " (\(name))" }
        }
        if let context { text += ": \(context)" }
        return text
    }

    /// The description plus the server's message and detail. May contain data; for debugging only.
    public var debugDescription: String {
        var text = description
        if let serverMessage { text += " — server: \(serverMessage)" }
        if let serverDetail { text += " — detail: \(serverDetail)" }
        return text
    }

    static let conditionNames: [String: String] = [
        "23505": "unique_violation", "23503": "foreign_key_violation", "23502": "not_null_violation",
        "23514": "check_violation", "22P02": "invalid_text_representation", "22001": "string_data_right_truncation",
        "22003": "numeric_value_out_of_range", "22012": "division_by_zero", "42601": "syntax_error",
        "42501": "insufficient_privilege", "42P01": "undefined_table", "42703": "undefined_column",
        "42883": "undefined_function", "40001": "serialization_failure", "40P01": "deadlock_detected",
        "57014": "query_canceled", "25P02": "in_failed_sql_transaction", "53300": "too_many_connections",
        "28P01": "invalid_password", "3D000": "invalid_catalog_name", "55P03": "lock_not_available",
    ]
}
