import CPostgres
import NIOConcurrencyHelpers

/// A place in the pool for one ``PostgresConnection``.
///
/// `@unchecked Sendable` invariant: `connection` is read and written only while `lock` is held,
/// and only from `NIOThreadPool` threads (or, for the non-blocking status checks, by the task
/// that holds this slot's lease from ``ConnectionPoolStateMachine``). The lease makes the slot
/// exclusive to one task; the lock additionally serialises two statements that one task's
/// transaction might start concurrently, because a `PGconn` is not thread-safe.
final class ConnectionSlot: @unchecked Sendable {
    let id: Int
    private let lock = NIOLock()
    private var connection: PostgresConnection?

    init(id: Int) { self.id = id }

    /// Runs `body` with an open connection, opening one first if the slot is empty or its
    /// connection is no longer usable. Blocking: call only on the thread pool.
    func withConnection<T>(
        configuration: PostgresConfiguration,
        _ body: (PostgresConnection) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        lock.lock()
        defer { lock.unlock() }
        if let existing = connection, !existing.isConnected {
            connection = nil  // PQfinish in deinit
        }
        let conn: PostgresConnection
        if let existing = connection {
            conn = existing
        } else {
            conn = try PostgresConnection(configuration: configuration)
            connection = conn
        }
        do {
            return try body(conn)
        } catch {
            if !conn.isConnected { connection = nil }
            throw error
        }
    }

    /// Whether the slot holds a connection fit for the next lessee (connected, not in a
    /// transaction). Non-blocking: libpq answers from local state.
    var hasReusableConnection: Bool {
        lock.withLock { connection?.isReusable ?? false }
    }

    /// Closes the connection, if any. Blocking (sends Terminate): call on the thread pool.
    func discardConnection() {
        lock.withLock { connection = nil }
    }
}
