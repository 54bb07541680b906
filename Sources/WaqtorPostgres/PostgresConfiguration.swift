import Foundation
/// How to reach PostgreSQL and how many connections to keep.
///
/// The connection string is handed to libpq as-is (`postgresql://user:password@host:port/db` or
/// `host=... dbname=...`), so every libpq keyword works. It is never printed: `description` and
/// ``redactedConnectionString`` drop the password.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    /// A libpq connection URI or key/value conninfo string. May contain a password.
    public var connectionString: String
    /// The most connections the pool opens at once (they are opened lazily). At least 1.
    public var poolSize: Int
    /// How long a caller waits for a free connection before ``PostgresError/Kind/poolTimeout``.
    public var acquireTimeout: Duration
    /// libpq's `connect_timeout` (rounded up to whole seconds, at least 1 s).
    public var connectTimeout: Duration
    /// The server-side `statement_timeout` for every statement; `nil` keeps the server default.
    public var statementTimeout: Duration?
    /// Reported in `pg_stat_activity.application_name`.
    public var applicationName: String

    /// Creates a configuration; see the properties for the meaning of each value.
    public init(
        connectionString: String,
        poolSize: Int = 8,
        acquireTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5),
        statementTimeout: Duration? = .seconds(30),
        applicationName: String = "waqtor"
    ) {
        self.connectionString = connectionString
        self.poolSize = max(1, poolSize)
        self.acquireTimeout = acquireTimeout
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.applicationName = applicationName
    }

    /// The connection string with any password replaced by `***` (URL or key/value form).
    public var redactedConnectionString: String {
        Self.redact(connectionString)
    }

    /// A description safe for logs: no password.
    public var description: String {
        "PostgresConfiguration(\(redactedConnectionString), poolSize: \(poolSize))"
    }

    static func redact(_ conninfo: String) -> String {
        if conninfo.hasPrefix("postgres://") || conninfo.hasPrefix("postgresql://") {
            // scheme://user:password@host... → scheme://user:***@host...
            guard let schemeEnd = conninfo.range(of: "://") else { return conninfo }
            let rest = conninfo[schemeEnd.upperBound...]
            var result = String(conninfo[..<schemeEnd.upperBound])
            if let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                result += rest[..<colon] + ":***" + rest[at...]
            } else {
                result += rest
            }
            // A password may also come as a query parameter.
            return redactQueryPassword(result)
        }
        // key=value form: blank out the value of `password`.
        var out: [String] = []
        for part in conninfo.split(separator: " ", omittingEmptySubsequences: true) {
            if part.lowercased().hasPrefix("password=") {
                out.append("password=***")
            } else {
                out.append(String(part))
            }
        }
        return out.joined(separator: " ")
    }

    private static func redactQueryPassword(_ url: String) -> String {
        guard let q = url.firstIndex(of: "?") else { return url }
        let query = url[url.index(after: q)...].split(separator: "&").map { item -> String in
            item.lowercased().hasPrefix("password=") ? "password=***" : String(item)
        }
        return url[...q] + query.joined(separator: "&")
    }

    /// The `options` startup parameter: session settings every connection needs so that text
    /// results decode the same way everywhere (ISO dates in UTC, round-trippable floats).
    var sessionOptions: String {
        var options = "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3"
        if let statementTimeout {
            options += " -c statement_timeout=\(Self.milliseconds(statementTimeout))"
        }
        return options
    }

    var connectTimeoutSeconds: Int {
        max(1, Int((Self.milliseconds(connectTimeout) + 999) / 1000))
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
