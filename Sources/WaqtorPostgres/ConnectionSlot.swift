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
    /// Set when the slot is leased; the lessee's first use checks the connection it inherits.
    private var checkOnFirstUse = false

    init(id: Int) { self.id = id }

    /// Marks the start of a lease: the next ``withConnection(configuration:_:)`` makes sure the
    /// inherited connection is connected and outside any transaction, and replaces it otherwise.
    /// The pool never hands on such a connection (it closes it on release); this is the second
    /// line of defence, so that no lessee can ever commit another's half-done transaction.
    func leaseStarted() {
        lock.withLock { checkOnFirstUse = true }
    }

    /// Runs `body` with an open connection, opening one first if the slot is empty or its
    /// connection is no longer usable. Blocking: call only on the thread pool.
    func withConnection<T>(
        configuration: PostgresConfiguration,
        _ body: (PostgresConnection) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        lock.lock()
        defer { lock.unlock() }
        if let existing = connection, checkOnFirstUse ? !existing.isReusable : !existing.isConnected {
            connection = nil  // PQfinish in deinit
        }
        checkOnFirstUse = false
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

    /// Rolls back the transaction the connection is in, if any; closes the connection when that
    /// fails. Never opens a connection. Blocking: call on the thread pool.
    func rollbackOpenTransaction() {
        lock.withLock {
            guard let conn = connection else { return }
            guard conn.isConnected else {
                connection = nil
                return
            }
            guard conn.transactionStatus != PQTRANS_IDLE else { return }
            do {
                _ = try conn.query("ROLLBACK", [])
            } catch {
                connection = nil
            }
            if !conn.isReusable { connection = nil }
        }
    }

    /// Closes the connection, if any. Blocking (sends Terminate): call on the thread pool.
    func discardConnection() {
        lock.withLock { connection = nil }
    }
}
