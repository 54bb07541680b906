import NIOConcurrencyHelpers

/// A place for one connection to a shard.
///
/// `@unchecked Sendable` invariant: `connection` is touched only by the task holding this slot's
/// lease from ``ShardConnections`` (which hands each slot to one holder at a time), and only from
/// inside `NIOThreadPool` work items, which the holder awaits before releasing the slot.
final class RedisSlot: @unchecked Sendable {
    var connection: RedisConnection?
}

/// The bounded set of connections to one shard: a fixed number of slots, lent first-come
/// first-served. A slot's connection opens lazily and is replaced after an error.
final class ShardConnections: Sendable {
    private struct State {
        var idle: [RedisSlot]
        var waiters: [CheckedContinuation<RedisSlot?, Never>] = []
        var waiterHead = 0
        var isShutdown = false
    }

    private let state: NIOLockedValueBox<State>

    init(size: Int) {
        state = NIOLockedValueBox(State(idle: (0..<max(1, size)).map { _ in RedisSlot() }))
    }

    /// A free slot, waiting in line if all are lent; nil after shutdown.
    func lease() async -> RedisSlot? {
        await withCheckedContinuation { (continuation: CheckedContinuation<RedisSlot?, Never>) in
            let slot: RedisSlot?? = state.withLockedValue { state in
                if state.isShutdown { return .some(nil) }
                if state.waiterHead == state.waiters.count, let slot = state.idle.popLast() { return .some(slot) }
                state.waiters.append(continuation)
                return nil
            }
            if let slot { continuation.resume(returning: slot) }
        }
    }

    /// Gives a slot back; the longest waiter gets it.
    func release(_ slot: RedisSlot) {
        let waiter: CheckedContinuation<RedisSlot?, Never>? = state.withLockedValue { state in
            if state.waiterHead < state.waiters.count {
                let waiter = state.waiters[state.waiterHead]
                state.waiterHead += 1
                if state.waiterHead == state.waiters.count {
                    state.waiters.removeAll(keepingCapacity: true)
                    state.waiterHead = 0
                }
                return waiter
            }
            state.idle.append(slot)
            return nil
        }
        waiter?.resume(returning: slot)
    }

    /// Fails the waiters and returns the idle slots (whose connections the caller closes).
    func shutdown() -> [RedisSlot] {
        let (waiters, idle) = state.withLockedValue { state in
            state.isShutdown = true
            let waiters = state.waiters[state.waiterHead...]
            state.waiters.removeAll()
            state.waiterHead = 0
            return (Array(waiters), state.idle)
        }
        waiters.forEach { $0.resume(returning: nil) }
        return idle
    }
}
