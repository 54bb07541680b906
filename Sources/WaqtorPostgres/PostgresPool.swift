import CoreMetrics
import WaqtorMetrics
import CPostgres
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A bounded pool of libpq connections.
///
/// Every libpq call runs on a `NIOThreadPool` (its own by default, one thread per connection),
/// never on an event loop or Swift's cooperative pool: `async` callers suspend while a pool
/// thread blocks in libpq. Connections open lazily, are reused while healthy (connected and
/// outside any transaction) and are otherwise closed and reopened on next use. When every
/// connection is busy, callers wait first-come first-served for up to
/// ``PostgresConfiguration/acquireTimeout``, then get ``PostgresError/Kind/poolTimeout``.
public final class PostgresPool: Sendable {
    /// The configuration the pool was created with.
    public let configuration: PostgresConfiguration

    private let threadPool: NIOThreadPool
    private let ownsThreadPool: Bool
    private let timerLoop: any EventLoop
    private let poolMetrics: PoolMetrics?
    private let slots: [ConnectionSlot]
    private let state: NIOLockedValueBox<State>

    private enum Waiter {
        /// Allocated, not yet queued (its continuation is about to be registered).
        case registering
        /// Cancelled before it could be queued.
        case cancelledEarly
        case waiting(CheckedContinuation<Result<Int, PostgresError>, Never>, Scheduled<Void>?)
    }

    private struct State {
        var machine: ConnectionPoolStateMachine
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
    }

    /// Creates a pool. Nothing connects until the first query.
    ///
    /// - Parameters:
    ///   - threadPool: where blocking libpq calls run. If nil, the pool starts its own with
    ///     `poolSize` threads and stops it in ``shutdown()``. A shared pool with fewer threads
    ///     than connections works but queues statements behind each other.
    ///   - eventLoopGroup: used only to schedule waiter timeouts.
    ///   - metrics: where the pool's metrics go (nil: none): `waqtor_postgres_pool_wait_seconds`
    ///     (from asking for a connection to getting one), `waqtor_postgres_pool_timeouts_total`
    ///     (callers that waited `acquireTimeout` in vain), `waqtor_postgres_pool_connections_in_use`.
    public init(
        configuration: PostgresConfiguration,
        threadPool: NIOThreadPool? = nil,
        eventLoopGroup: any EventLoopGroup = NIOSingletons.posixEventLoopGroup,
        metrics: (any MetricsFactory)? = nil
    ) {
        self.configuration = configuration
        self.poolMetrics = metrics.map(PoolMetrics.init)
        if let threadPool {
            self.threadPool = threadPool
            self.ownsThreadPool = false
        } else {
            let pool = NIOThreadPool(numberOfThreads: configuration.poolSize)
            pool.start()
            self.threadPool = pool
            self.ownsThreadPool = true
        }
        self.timerLoop = eventLoopGroup.any()
        self.slots = (0..<configuration.poolSize).map(ConnectionSlot.init(id:))
        self.state = NIOLockedValueBox(State(machine: ConnectionPoolStateMachine(capacity: configuration.poolSize)))
    }

    /// Runs one statement with `$n` parameters bound by `PQexecParams`.
    ///
    /// Each call runs in its own implicit transaction (autocommit); use ``withTransaction(tenantID:_:)``
    /// for several statements or for tenant-scoped (row-level security) access.
    public func query(_ sql: String, _ parameters: [PostgresValue?] = []) async throws(PostgresError) -> PostgresRows {
        let slot = try await lease()
        let result: Result<PostgresRows, PostgresError>
        do {
            result = .success(try await runBlocking(on: slot) { conn throws(PostgresError) in try conn.query(sql, parameters) })
        } catch {
            result = .failure(error)
        }
        await release(slot)
        return try result.get()
    }

    /// Round-trips `SELECT 1` and returns how long it took (including waiting for a connection).
    public func ping() async throws(PostgresError) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await query("SELECT 1")
        return clock.now - start
    }

    /// Runs `body` inside `BEGIN … COMMIT` on one connection, rolling back if it throws.
    ///
    /// With a `tenantID`, the transaction first runs `SELECT set_config('app.tenant_id', $1, true)`:
    /// the setting is transaction-local, so row-level security policies reading
    /// `current_setting('app.tenant_id', true)` see it, and the pooled connection forgets it at
    /// COMMIT/ROLLBACK. If the body catches a failed statement and returns normally, the
    /// transaction is rolled back and ``PostgresError/Kind/transactionAborted`` is thrown.
    public func withTransaction<R: Sendable>(
        tenantID: String? = nil,
        _ body: (PostgresTransaction) async throws -> R
    ) async throws -> R {
        let slot = try await lease()
        do {
            try await runBlocking(on: slot) { conn throws(PostgresError) in
                _ = try conn.query("BEGIN", [])
                if let tenantID {
                    _ = try conn.query("SELECT set_config('app.tenant_id', $1, true)", [.text(tenantID)])
                }
            }
        } catch {
            await rollbackAndRelease(slot)
            throw error
        }
        let transaction = PostgresTransaction(pool: self, slot: slot)
        let value: R
        do {
            value = try await body(transaction)
        } catch {
            transaction.end()
            await rollbackAndRelease(slot)
            throw error
        }
        transaction.end()
        do {
            try await runBlocking(on: slot) { conn throws(PostgresError) in
                if conn.transactionStatus == PQTRANS_INERROR {
                    _ = try conn.query("ROLLBACK", [])
                    throw PostgresError(.transactionAborted, context: "a statement in the transaction failed and its error was caught")
                }
                _ = try conn.query("COMMIT", [])
            }
        } catch {
            await rollbackAndRelease(slot)
            throw error
        }
        await release(slot)
        return value
    }

    /// Stops the pool: waiters fail with ``PostgresError/Kind/closed``, idle connections close,
    /// busy ones close when their work ends, and an owned thread pool stops.
    public func shutdown() async {
        let (action, waiters) = state.withLockedValue { state in
            let action = state.machine.shutdown()
            let waiters = action.failWaiters.compactMap { state.waiters.removeValue(forKey: $0) }
            return (action, waiters)
        }
        for waiter in waiters {
            if case .waiting(let continuation, let timer) = waiter {
                timer?.cancel()
                continuation.resume(returning: .failure(PostgresError(.closed)))
            }
        }
        let toClose = action.closeSlots.map { slots[$0] }
        await runIgnoringCancellation { toClose.forEach { $0.discardConnection() } }
        if ownsThreadPool {
            try? await threadPool.shutdownGracefully()
        }
    }

    // MARK: - Leases

    /// Waits for a slot (FIFO), honouring the acquire timeout and task cancellation.
    func lease() async throws(PostgresError) -> ConnectionSlot {
        let began = poolMetrics == nil ? nil : ContinuousClock.now
        let id = state.withLockedValue { state in
            state.nextWaiterID &+= 1
            state.waiters[state.nextWaiterID] = .registering
            return state.nextWaiterID
        }
        let result: Result<Int, PostgresError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int, PostgresError>, Never>) in
                let action: ConnectionPoolStateMachine.LeaseAction? = state.withLockedValue { state in
                    if case .cancelledEarly = state.waiters[id] {
                        state.waiters[id] = nil
                        return nil
                    }
                    let action = state.machine.lease(id)
                    if case .wait = action {
                        state.waiters[id] = .waiting(continuation, nil)
                    } else {
                        state.waiters[id] = nil
                    }
                    return action
                }
                switch action {
                case nil: continuation.resume(returning: .failure(PostgresError(.cancelled)))
                case .leased(let slot, _):
                    slots[slot].leaseStarted()
                    continuation.resume(returning: .success(slot))
                case .closed: continuation.resume(returning: .failure(PostgresError(.closed)))
                case .wait:
                    let timeout = TimeAmount.nanoseconds(Self.nanoseconds(configuration.acquireTimeout))
                    let timer = timerLoop.scheduleTask(in: timeout) { [self] in
                        abandon(id, with: PostgresError(.poolTimeout, context: "waited \(configuration.acquireTimeout) for one of \(configuration.poolSize) connections"))
                    }
                    let stillWaiting = state.withLockedValue { state -> Bool in
                        guard case .waiting(let c, nil) = state.waiters[id] else { return false }
                        state.waiters[id] = .waiting(c, timer)
                        return true
                    }
                    if !stillWaiting { timer.cancel() }
                }
            }
        } onCancel: {
            abandon(id, with: PostgresError(.cancelled))
        }
        if let poolMetrics, let began {
            switch result {
            case .success:
                poolMetrics.wait.record(since: began)
                poolMetrics.inUse.increment()
            case .failure(let error) where error.kind == .poolTimeout:
                poolMetrics.timeouts.increment()
            case .failure:
                break
            }
        }
        return slots[try result.get()]
    }

    /// A waiter gives up; if it was already served, nothing happens.
    private func abandon(_ id: UInt64, with error: PostgresError) {
        let continuation: CheckedContinuation<Result<Int, PostgresError>, Never>? = state.withLockedValue { state in
            switch state.waiters[id] {
            case .registering:
                state.waiters[id] = .cancelledEarly
                return nil
            case .waiting(let continuation, let timer):
                guard state.machine.cancelWaiter(id) else { return nil }
                state.waiters[id] = nil
                timer?.cancel()
                return continuation
            case .cancelledEarly, nil:
                return nil
            }
        }
        continuation?.resume(returning: .failure(error))
    }

    /// Returns a slot. A connection that is broken or still inside a transaction is closed (on the
    /// thread pool) before the slot goes to anyone else, so no lessee ever inherits another's
    /// transaction or session. Runs to the end even when the calling task is cancelled.
    func release(_ slot: ConnectionSlot) async {
        poolMetrics?.inUse.decrement()
        let keep = slot.hasReusableConnection
        var (action, waiter) = settle { $0.release(slot.id, keepConnection: keep) }
        if case .closeConnection(let slotID) = action {
            await runIgnoringCancellation { slot.discardConnection() }
            (action, waiter) = settle { $0.connectionClosed(slotID) }
        }
        if case .handOver(let slotID, _, _) = action, case .waiting(let continuation, let timer) = waiter {
            timer?.cancel()
            slot.leaseStarted()
            continuation.resume(returning: .success(slotID))
        }
    }

    /// Applies one release step of the state machine under the lock, taking the waiter it hands
    /// the slot to out of the waiting list.
    private func settle(
        _ step: (inout ConnectionPoolStateMachine) -> ConnectionPoolStateMachine.ReleaseAction
    ) -> (ConnectionPoolStateMachine.ReleaseAction, Waiter?) {
        state.withLockedValue { state in
            let action = step(&state.machine)
            if case .handOver(_, let waiterID, _) = action {
                return (action, state.waiters.removeValue(forKey: waiterID))
            }
            return (action, nil)
        }
    }

    /// Rolls back whatever transaction the slot's connection is in, then returns the slot. Both
    /// steps run even when the calling task is cancelled (a cancelled call is exactly when they
    /// matter); if the ROLLBACK fails, ``release(_:)`` closes the connection instead.
    private func rollbackAndRelease(_ slot: ConnectionSlot) async {
        await runIgnoringCancellation { slot.rollbackOpenTransaction() }
        await release(slot)
    }

    /// Runs clean-up work on the thread pool whether or not the calling task is cancelled
    /// (`NIOThreadPool.runIfActive` skips its work for a cancelled task). If the thread pool is
    /// no longer running, NIO runs the work on the calling thread; clean-up work is short.
    private func runIgnoringCancellation(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            threadPool.submit { _ in
                work()
                continuation.resume()
            }
        }
    }

    /// Runs blocking libpq work for the holder of `slot` on the thread pool.
    func runBlocking<T: Sendable>(
        on slot: ConnectionSlot,
        _ body: @escaping @Sendable (PostgresConnection) throws(PostgresError) -> T
    ) async throws(PostgresError) -> T {
        let configuration = self.configuration
        let result: Result<T, PostgresError>
        do {
            result = try await threadPool.runIfActive {
                do throws(PostgresError) {
                    return .success(try slot.withConnection(configuration: configuration, body))
                } catch {
                    return .failure(error)
                }
            }
        } catch is CancellationError {
            throw PostgresError(.cancelled)
        } catch {
            throw PostgresError(.closed, context: "the thread pool is not running")
        }
        return try result.get()
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// A transaction in progress on one pooled connection; valid only inside the
/// ``PostgresPool/withTransaction(tenantID:_:)`` body that received it.
public final class PostgresTransaction: Sendable {
    private let pool: PostgresPool
    private let slot: ConnectionSlot
    private let isActive = NIOLockedValueBox(true)

    init(pool: PostgresPool, slot: ConnectionSlot) {
        self.pool = pool
        self.slot = slot
    }

    func end() { isActive.withLockedValue { $0 = false } }

    /// Runs one statement inside the transaction, with `$n` parameters.
    public func query(_ sql: String, _ parameters: [PostgresValue?] = []) async throws(PostgresError) -> PostgresRows {
        guard isActive.withLockedValue({ $0 }) else {
            throw PostgresError(.closed, context: "the transaction was used after its body returned")
        }
        return try await pool.runBlocking(on: slot) { conn throws(PostgresError) in try conn.query(sql, parameters) }
    }

    /// Copies rows into a table with `COPY <target> FROM STDIN` (text format, one round trip for
    /// all of them): `target` is the table and its column list, e.g. `staging (a, b)`; each row
    /// has one value per column, nil for NULL. Returns the rows copied.
    public func copy(into target: String, rows: [[String?]]) async throws(PostgresError) -> Int {
        guard isActive.withLockedValue({ $0 }) else {
            throw PostgresError(.closed, context: "the transaction was used after its body returned")
        }
        let data = PostgresCopyText.encode(rows)
        return try await pool.runBlocking(on: slot) { conn throws(PostgresError) in
            try conn.copyIn("COPY \(target) FROM STDIN", data: data)
        }
    }
}

/// COPY's text format: columns separated by tabs, rows by newlines, `\N` for NULL, and
/// backslash, tab, newline and carriage return escaped with a backslash.
public enum PostgresCopyText {
    public static func encode(_ rows: [[String?]]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(rows.count * 64)
        for row in rows {
            for (index, value) in row.enumerated() {
                if index > 0 { out.append(UInt8(ascii: "\t")) }
                guard let value else {
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
                    continue
                }
                for byte in value.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                    case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                    case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                    case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                    default: out.append(byte)
                    }
                }
            }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}

/// ``PostgresPool``'s metric handles.
struct PoolMetrics: Sendable {
    let wait: Timer
    let timeouts: Counter
    let inUse: Meter

    init(factory: any MetricsFactory) {
        wait = Timer(label: "waqtor_postgres_pool_wait_seconds", factory: factory)
        timeouts = Counter(label: "waqtor_postgres_pool_timeouts_total", factory: factory)
        inUse = Meter(label: "waqtor_postgres_pool_connections_in_use", factory: factory)
    }
}
