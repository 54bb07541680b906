import NIOConcurrencyHelpers
import NIOCore

/// The hand-over point between call tasks (any thread) and their connection's event loop.
///
/// Tasks append finished frames; the first append after a drain schedules one drain on the event
/// loop, which writes everything queued so far and flushes once. Under load this turns many
/// responses into one `writev` per event-loop tick.
///
/// Streams are bounded twice: by the channel's writability, and by the bytes queued here but not
/// yet drained (``maxQueuedStreamBytes``). The second bound matters: NIO runs tasks until its queue
/// is empty before it polls sockets again, so a producer that kept scheduling drains faster than
/// they run would starve every other connection on that event loop. A stream producer therefore
/// waits once it is that far ahead, and is woken only at the end of a drain.
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
        var queuedStreamBytes = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    let eventLoop: any EventLoop
    /// Runs the drain on the event loop; set once the handler is in the pipeline, cleared on close.
    private let drain: NIOLoopBoundBox<(() -> Void)?>
    /// Takes the END of the call whose window is open (``beginBatch(at:callID:)``).
    private let direct: Direct

    /// Touched on every call: a plain class whose fields skip the runtime's dynamic exclusivity
    /// tracking (an `NIOLoopBoundBox` tracked every access, several per call).
    private final class Direct: @unchecked Sendable {
        // Invariant for @unchecked Sendable: the fields are read and written only on the
        // connection's event loop (`install`, `beginBatch`, `endBatch` and `close` run there, and
        // `enqueue` and `batchContinues` check `inEventLoop` before touching them); asserted in
        // debug builds.
        @exclusivity(unchecked) var sink: ((Item) -> Void)?
        /// The call whose task is being started, while the window is open.
        @exclusivity(unchecked) var callID: UInt32?
        /// The batch being started (`UnaryBatch`): true while its task runs inside
        /// `Task.immediate`; the index of the call it runs; whether it ran its last call.
        @exclusivity(unchecked) var batchRunning = false
        @exclusivity(unchecked) var batchIndex = 0
        @exclusivity(unchecked) var batchFinished = false
    }

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.drain = NIOLoopBoundBox(nil, eventLoop: eventLoop)
        self.direct = Direct()
    }

    /// On the event loop: installs the drain action, and the sink for the END of a call whose task
    /// finishes before it first suspends.
    func install(drain action: @escaping () -> Void, endSink: @escaping (Item) -> Void) {
        drain.value = action
        assert(eventLoop.inEventLoop)
        direct.sink = endSink
    }

    /// On the event loop, before starting a batch's task with `Task.immediate` (see `UnaryBatch`):
    /// the task will run call `index` of the batch first, unary call `callID`. Opens that call's
    /// window: while it is open, the call's END goes straight to the sink (into the read's batch),
    /// without the lock and a scheduled drain.
    ///
    /// Only ENDs of unary calls: stream MESSAGEs still take the queue, whose byte bound makes a
    /// producer that never suspends on its own wait (and so leave the event loop). Without that
    /// bound such a producer ran on the event loop until the channel stopped being writable,
    /// stalling every other connection of that loop for seconds.
    func beginBatch(at index: Int, callID: UInt32) {
        assert(eventLoop.inEventLoop)
        direct.batchRunning = true
        direct.batchFinished = false
        direct.batchIndex = index
        direct.callID = callID
    }

    /// From a batch's task, once a call has ended: whether the task has not suspended yet (it is
    /// still inside `Task.immediate`, on the loop) and so goes on with call `index` of the batch
    /// (unary call `callID`; nil when `index == count`, the end of the batch). Records where it is
    /// and moves the window. Once the task has suspended it resumes off the loop, or on the loop
    /// only after ``endBatch()``; either way this is false and the calls after belong to another task.
    func batchContinues(to index: Int, of count: Int, callID: UInt32?) -> Bool {
        // The loop check first: the fields are read on the loop only.
        guard eventLoop.inEventLoop, direct.batchRunning else { return false }
        guard index < count, let callID else {
            direct.batchFinished = true
            return false
        }
        direct.batchIndex = index
        direct.callID = callID
        return true
    }

    /// On the event loop, once `Task.immediate` has returned: closes the window; whether the task
    /// ran the batch to its end, and otherwise the index of the call it suspended in.
    func endBatch() -> (finished: Bool, index: Int) {
        assert(eventLoop.inEventLoop)
        direct.batchRunning = false
        direct.callID = nil
        return (direct.batchFinished, direct.batchIndex)
    }

    /// Queues a frame; returns false when the connection is gone.
    @discardableResult
    func enqueue(_ item: Item) -> Bool {
        // Only the task that opened the window runs on the event loop while it is open (tasks
        // resume elsewhere after suspending); other calls' frames (a writer shared between calls)
        // take the queue, whose drain drops those of ended calls.
        if item.kind == .end, eventLoop.inEventLoop, direct.callID == item.callID, let sink = direct.sink {
            sink(item)
            return true
        }
        let schedule: Bool? = state.withLockedValue { state in
            if state.closed { return nil }
            state.items.append(item)
            if item.kind == .message { state.queuedStreamBytes += item.frame.readableBytes }
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
            state.queuedStreamBytes = 0
        }
    }

    /// Most bytes of stream messages queued for the next drain before a producer waits.
    static let maxQueuedStreamBytes = 64 * 1024

    /// Suspends a stream producer while the channel is not writable or too much is queued; throws
    /// once the connection is gone. Wake-ups are re-checked, so spurious ones are harmless.
    func waitForRoom() async throws {
        while true {
            let status: Int = state.withLockedValue { state in
                if state.closed { return -1 }
                return state.writable && state.queuedStreamBytes < Self.maxQueuedStreamBytes ? 1 : 0
            }
            if status < 0 { throw CancellationError() }
            if status > 0 { return }
            try Task.checkCancellation()
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLockedValue { state in
                    if state.closed || (state.writable && state.queuedStreamBytes < Self.maxQueuedStreamBytes) { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// On the event loop, at the end of a drain or after a call was cancelled: wakes waiting
    /// producers so that they re-check for room (or for their own cancellation).
    func wakeWaiters() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// On the event loop: records the channel's writability and wakes waiting streams.
    func setWritable(_ writable: Bool) {
        state.withLockedValue { $0.writable = writable }
        if writable { wakeWaiters() }
    }

    /// On the event loop: the connection is gone; later enqueues are refused and waiters fail.
    func close() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
            state.closed = true
            state.items = []
            defer { state.waiters = [] }
            return state.waiters
        }
        drain.value = nil
        assert(eventLoop.inEventLoop)
        direct.sink = nil
        direct.callID = nil
        for waiter in waiters { waiter.resume() }
    }
}
