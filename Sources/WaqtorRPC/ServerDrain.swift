import NIOConcurrencyHelpers

/// Tells a server's handlers that it has begun a graceful shutdown (GOAWAY sent, calls in flight
/// may finish). Unary handlers need not care; a server-streaming handler that would otherwise run
/// until its client leaves (a live feed) should end its stream cleanly when the drain begins,
/// with ``ServerContext/cancelWhenDraining(_:)``, so that the server can stop without waiting for
/// its grace period and the client, told by GOAWAY, subscribes again elsewhere.
///
/// One per ``RPCServer``; shared by every connection's calls.
public final class ServerDrain: Sendable {
    private let signal = OneShotSignal()

    /// A drain signal that has not begun (``RPCServer`` makes its own; tests build their own).
    public init() {}

    /// Whether the server has begun draining.
    public var isDraining: Bool { signal.isFired }

    /// Begins the drain: wakes every waiter, now and later. Idempotent.
    public func begin() { signal.fire() }

    /// Returns when the drain begins, or at once if it has; also returns when the calling task is
    /// cancelled (check `Task.isCancelled` to tell the two apart).
    public func wait() async { await signal.wait() }
}

/// An event that happens once, awaited by any number of tasks: ``fire()`` wakes every waiter, now
/// and later; a waiting task that is cancelled stops waiting.
public final class OneShotSignal: Sendable {
    private struct State {
        var fired = false
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Whether ``fire()`` has run.
    public var isFired: Bool { state.withLockedValue { $0.fired } }

    /// Fires the event. Idempotent.
    public func fire() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            guard !state.fired else { return [] }
            state.fired = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the event has fired, or when the calling task is cancelled (check
    /// `Task.isCancelled` to tell the two apart).
    public func wait() async {
        let id = state.withLockedValue { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.fired || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

extension ServerContext {
    /// Whether the server has begun a graceful shutdown.
    public var isDraining: Bool { connection.drain.isDraining }

    /// Runs `body` until it returns or the server begins draining, whichever comes first. When the
    /// drain comes first, `body` is cancelled, its `CancellationError` is absorbed and this returns
    /// nil: a streaming handler then returns normally, so its stream ends with OK. Any other error
    /// of `body` is rethrown; a cancellation of the call itself (deadline, CANCEL) still throws.
    public func cancelWhenDraining<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let drain = connection.drain
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                await drain.wait()
                return nil
            }
            defer { group.cancelAll() }
            do {
                let first = try await group.next()!
                return first
            } catch is CancellationError where drain.isDraining && !Task.isCancelled {
                return nil
            }
        }
    }
}
