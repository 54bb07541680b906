import CPostgres
import Foundation

// libpq's PG_DIAG_* field codes are character-literal macros, which Swift does not import.
private let diagSQLState = Int32(UInt8(ascii: "C"))
private let diagMessagePrimary = Int32(UInt8(ascii: "M"))
private let diagMessageDetail = Int32(UInt8(ascii: "D"))

/// One libpq connection: the only owner of its `PGconn *`, which it frees in `deinit`.
///
/// Every method blocks (libpq's synchronous API), so the pool calls them only from its
/// `NIOThreadPool`, never from an event loop or the cooperative pool. Not `Sendable`: a connection
/// is used by one thread at a time, under a lease from the pool.
final class PostgresConnection {
    private let handle: OpaquePointer

    /// Opens a connection (blocking). Throws ``PostgresError/Kind/connectionFailed`` with libpq's
    /// message, which names host and user but never the password.
    init(configuration: PostgresConfiguration) throws(PostgresError) {
        let keywords = ["dbname", "application_name", "connect_timeout", "options"]
        let values = [
            configuration.connectionString,
            configuration.applicationName,
            String(configuration.connectTimeoutSeconds),
            configuration.sessionOptions,
        ]
        // expand_dbname = 1: `dbname` may be a full URI/conninfo; later keywords override it.
        let conn: OpaquePointer? = withCStringArray(keywords) { kw in
            withCStringArray(values) { vals in PQconnectdbParams(kw, vals, 1) }
        }
        guard let conn else {
            throw PostgresError(.connectionFailed, context: "libpq could not allocate a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingTrailingWhitespace()
            PQfinish(conn)
            throw PostgresError(.connectionFailed, serverMessage: message,
                                context: "\(configuration.redactedConnectionString): \(message)")
        }
        // Notices (e.g. "relation already exists, skipping") would go to stderr; they are not
        // errors and may quote data, so they are dropped.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        self.handle = conn
    }

    deinit {
        PQfinish(handle)
    }

    /// Usable for the next lease: connected and not inside a transaction.
    var isReusable: Bool {
        PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    var transactionStatus: PGTransactionStatusType { PQtransactionStatus(handle) }

    /// Runs one statement with `$n` parameters through `PQexecParams` (blocking).
    func query(_ sql: String, _ parameters: [PostgresValue?]) throws(PostgresError) -> PostgresRows {
        let count = parameters.count
        var types = [UInt32](repeating: 0, count: count)
        var lengths = [Int32](repeating: 0, count: count)
        var formats = [Int32](repeating: 0, count: count)
        // All parameter bytes in one buffer; text values NUL-terminated. Offsets into it are
        // turned into pointers only inside withUnsafeBufferPointer, so none outlives the call.
        var storage = [UInt8]()
        var offsets = [Int?](repeating: nil, count: count)
        for (i, parameter) in parameters.enumerated() {
            let value = parameter ?? .null
            types[i] = value.typeOID
            formats[i] = value.format
            guard let bytes = value.encoded else { continue }
            offsets[i] = storage.count
            storage.append(contentsOf: bytes)
            lengths[i] = Int32(bytes.count)
            if value.format == 0 { storage.append(0) }
        }
        if storage.isEmpty { storage.append(0) }  // a valid base address even with no values
        let result: OpaquePointer? = storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { $0.map { base + $0 } }
            return PQexecParams(handle, sql, Int32(count), types, pointers, lengths, formats, 0)
        }
        return try consume(result)
    }

    /// Runs a script of one or more statements with no parameters (`PQexec`, simple protocol);
    /// used for migrations. Returns the last statement's result.
    func execute(script: String) throws(PostgresError) -> PostgresRows {
        // PQexec returns only the last result; an error stops the script.
        try consume(PQexec(handle, script))
    }

    /// Runs `COPY ... FROM STDIN` and sends `data` (already in COPY's text format) through
    /// `PQputCopyData` in chunks, then `PQputCopyEnd` (blocking). Returns the rows copied.
    func copyIn(_ sql: String, data: [UInt8]) throws(PostgresError) -> Int {
        guard let start = PQexec(handle, sql) else {
            let message = String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace()
            throw PostgresError(.connectionFailed, serverMessage: message, context: "no result from the server")
        }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try consume(start)
            throw PostgresError(.protocolViolation, context: "the statement is not COPY ... FROM STDIN")
        }
        PQclear(start)
        let chunk = 1 << 20
        var sendFailure: String?
        data.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let count = min(chunk, buffer.count - offset)
                let sent = UnsafeRawPointer(base + offset).withMemoryRebound(to: CChar.self, capacity: count) {
                    PQputCopyData(handle, $0, Int32(count))
                }
                if sent != 1 {
                    sendFailure = String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace()
                    return
                }
                offset += count
            }
        }
        // Ends the COPY; with a send failure, aborts it so that the server rolls it back.
        _ = PQputCopyEnd(handle, sendFailure == nil ? nil : "the client could not send the rows")
        var copied = 0
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            if failure == nil {
                do {
                    copied = try consume(result).rowsAffected
                } catch {
                    failure = error
                }
            } else {
                PQclear(result)
            }
        }
        if let failure { throw failure }
        if let sendFailure {
            throw PostgresError(.connectionFailed, serverMessage: sendFailure, context: "COPY data could not be sent")
        }
        return copied
    }

    private func consume(_ result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else {
            let message = String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace()
            throw PostgresError(.connectionFailed, serverMessage: message, context: "no result from the server")
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(from: result)
        default:
            let sqlState = field(result, diagSQLState)
            let message = field(result, diagMessagePrimary) ?? String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace()
            if sqlState == nil, PQstatus(handle) != CONNECTION_OK {
                throw PostgresError(.connectionFailed, serverMessage: message, context: "the connection broke during a statement")
            }
            throw PostgresError(.queryFailed, sqlState: sqlState, serverMessage: message, serverDetail: field(result, diagMessageDetail))
        }
    }

    private func field(_ result: OpaquePointer, _ code: Int32) -> String? {
        PQresultErrorField(result, code).map { String(cString: $0) }
    }

    private static func rows(from result: OpaquePointer) -> PostgresRows {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var names = [String]()
        var types = [UInt32]()
        var index = [String: Int]()
        for c in 0..<columnCount {
            let name = String(cString: PQfname(result, Int32(c)))
            names.append(name)
            types.append(UInt32(PQftype(result, Int32(c))))
            if index[name] == nil { index[name] = c }
        }
        var rows = [PostgresRow]()
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var values = [[UInt8]?]()
            values.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(r), Int32(c)))
                    let pointer = UnsafeRawPointer(PQgetvalue(result, Int32(r), Int32(c))!)
                    values.append(Array(UnsafeRawBufferPointer(start: pointer, count: length)))
                }
            }
            rows.append(PostgresRow(columnIndex: index, typeOIDs: types, values: values))
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: names, rows: rows, rowsAffected: affected)
    }
}

/// Lends a NUL-terminated `const char *const *` array for the duration of `body`.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var owned: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    owned.append(nil)
    defer { owned.forEach { free($0) } }
    return owned.withUnsafeBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}
