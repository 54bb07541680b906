import NIOConcurrencyHelpers
import NIOCore

/// The hand-over point between call tasks (any thread) and their connection's event loop.
///
/// Tasks append finished frames; the first append after a drain schedules one drain on the event
/// loop, which writes everything queued so far and flushes once. Under load this turns many
/// responses into one `writev` per event-loop tick.
final class ServerOutbound: Sendable {
    enum Kind: Sendable { case message, end }

    struct Item: Sendable {
        let callID: UInt32
        let kind: Kind
        let frame: ByteBuffer
    }

    private struct State {
        var items: [Item] = []
        var drainScheduled = false
        var writable = true
        var closed = false
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }

    private let state = NIOLockedValueBox(State())
    let eventLoop: any EventLoop
    /// Runs the drain on the event loop; set once the handler is in the pipeline, cleared on close.
    private let drain: NIOLoopBoundBox<(() -> Void)?>

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.drain = NIOLoopBoundBox(nil, eventLoop: eventLoop)
    }

    /// On the event loop: installs the drain action.
    func install(drain action: @escaping () -> Void) {
        drain.value = action
    }

    /// Queues a frame; returns false when the connection is gone.
    @discardableResult
    func enqueue(_ item: Item) -> Bool {
        let schedule: Bool? = state.withLockedValue { state in
            if state.closed { return nil }
            state.items.append(item)
            if state.drainScheduled { return false }
            state.drainScheduled = true
            return true
        }
        guard let schedule else { return false }
        if schedule {
            eventLoop.execute { [drain] in drain.value?() }
        }
        return true
    }

    /// On the event loop: moves the queued items into `spare` (which must be empty).
    func take(into spare: inout [Item]) {
        state.withLockedValue { state in
            swap(&state.items, &spare)
            state.drainScheduled = false
        }
    }

    /// Suspends while the channel is not writable (back-pressure for streams).
    func waitUntilWritable() async throws {
        let ready: Bool = state.withLockedValue { state in state.writable || state.closed }
        if ready {
            if state.withLockedValue({ $0.closed }) { throw CancellationError() }
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resumeNow: Result<Void, any Error>? = state.withLockedValue { state in
                if state.closed { return .failure(CancellationError()) }
                if state.writable { return .success(()) }
                state.waiters.append(continuation)
                return nil
            }
            if let resumeNow { continuation.resume(with: resumeNow) }
        }
    }

    /// On the event loop: records the channel's writability and wakes waiting streams.
    func setWritable(_ writable: Bool) {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLockedValue { state in
            state.writable = writable
            guard writable else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// On the event loop: the connection is gone; later enqueues are refused and waiters fail.
    func close() {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLockedValue { state in
            state.closed = true
            state.items = []
            defer { state.waiters = [] }
            return state.waiters
        }
        drain.value = nil
        for waiter in waiters { waiter.resume(throwing: CancellationError()) }
    }
}
