import NIOConcurrencyHelpers
import NIOCore

/// One client connection: assigns call ids, keeps the table of calls waiting for answers, and
/// coalesces outgoing frames into one write per event-loop tick.
///
/// Thread-safe: callers on any thread start and cancel calls; the event loop delivers frames.
final class ClientConnection: Sendable {
    /// A unary call's END payload (head and body, not decoded: the caller decodes what it needs).
    typealias UnaryResult = Result<ByteBuffer, ClientCallFailure>

    private enum PendingCall {
        /// Resumed exactly once: by whoever removes the call's entry from the table (answer,
        /// failure, deadline, cancellation, close), under the lock; or by `unary` itself when the
        /// call could not start and so never entered the table.
        case unary(UnsafeContinuation<UnaryResult, Never>)
        case callback(@Sendable (Result<(EndHead, ByteBuffer), RPCError>) -> Void)
        case stream(AsyncThrowingStream<ByteBuffer, any Error>.Continuation)
    }

    private struct CallEntry {
        var call: PendingCall
        /// `NIODeadline.uptimeNanoseconds` of the call's local deadline, and its timeout.
        var deadline: UInt64?
        var timeout: Duration?
    }

    private struct State {
        var nextCallID: UInt32 = 1
        var calls: [UInt32: CallEntry] = [:]
        var pending: ByteBuffer?
        var flushScheduled = false
        var draining = false
        var closed = false
        var goAwayMessage: String?
        var goAwayLastCallID: UInt32?
        /// Local deadlines, earliest first, and the one timer armed for the earliest.
        var deadlines = DeadlineQueue()
        var timer: Scheduled<Void>?
        var timerAt: UInt64 = .max
        var serverMaxFrameLength: UInt32 = .max
        /// Bytes of stream messages received but not yet taken by their consumers, per call and in
        /// all; reading from the socket pauses while the total is over the limit.
        var streamBytes: [UInt32: Int] = [:]
        var bufferedStreamBytes = 0
        var readingPaused = false
        /// Armed while reading is paused; fails the lagging streams when it fires.
        var stallTimer: Scheduled<Void>?
    }

    let channel: any Channel
    let target: String
    private let state: NIOLockedValueBox<State>
    /// Reading pauses above this many buffered stream bytes and resumes at a quarter of it.
    private let maxBufferedStreamBytes: Int
    /// How long reading may stay paused before the lagging streams are failed.
    private let maxStreamStall: Duration

    init(channel: any Channel, target: String, configuration: RPCClientConfiguration) {
        self.channel = channel
        self.target = target
        self.maxBufferedStreamBytes = max(configuration.maxBufferedStreamBytes, 1)
        self.maxStreamStall = max(configuration.maxStreamStall, .milliseconds(1))
        var hello = ByteBufferAllocator().buffer(capacity: 32)
        var payload = ByteBufferAllocator().buffer(capacity: 16)
        HelloPayload().write(to: &payload)
        Frame(type: .hello, callID: 0, payload: payload).write(to: &hello)
        // HELLO sits first in the outgoing buffer, so no call can overtake it.
        self.state = NIOLockedValueBox(State(pending: hello))
    }

    /// Whether new calls may use this connection.
    var isUsable: Bool {
        state.withLockedValue { !$0.closed && !$0.draining }
    }

    /// Writes the HELLO (queued at creation) once the connection is up.
    func sendHello() {
        let schedule = state.withLockedValue { state -> Bool in
            guard state.pending != nil, !state.flushScheduled else { return false }
            state.flushScheduled = true
            return true
        }
        if schedule { scheduleFlush() }
    }

    // MARK: Calls

    /// Makes a unary call; returns its END payload (see ``EndHead/read(from:)``), whatever its status.
    /// `nonisolated(nonsending)`: it runs where its caller runs, without a hop to the generic
    /// executor on entry and one back after the answer (each a `swift_task_switch`, which takes the
    /// task's status lock when the task has an executor preference).
    nonisolated(nonsending)
    func unary(frame: ByteBuffer, timeout: Duration?) async throws(ClientCallFailure) -> ByteBuffer {
        let token = CallToken()
        // Unsafe rather than checked: the call table guarantees the single resume (see
        // `PendingCall.unary`), and the checked variant costs an allocation and an atomic per call.
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<UnaryResult, Never>) in
                if let error = start(frame: frame, token: token, call: .unary(continuation), timeout: timeout) {
                    let closing = error.code == .unavailable
                    continuation.resume(returning: .failure(ClientCallFailure(error: error, notRun: closing, refused: closing)))
                }
            }
        } onCancel: {
            self.cancel(token)
        }
        return try result.get()
    }

    /// Starts a unary call whose end is reported to `completion` (on this connection's event loop,
    /// or on the caller's thread when the call cannot start) instead of resuming a task.
    func unary(frame: ByteBuffer, timeout: Duration?, completion: @escaping @Sendable (Result<(EndHead, ByteBuffer), RPCError>) -> Void) {
        if let error = start(frame: frame, token: nil, call: .callback(completion), timeout: timeout) {
            completion(.failure(error))
        }
    }

    /// Starts a server-streaming call. The returned handle cancels the call when it is released
    /// (the consumer dropped its iterator) or when the iterating task is cancelled; once the call has
    /// ended normally, cancelling does nothing. The consumer reports each message it takes
    /// (``ClientStreamHandle/consumed(_:)``), which bounds what the connection buffers.
    func serverStreaming(frame: ByteBuffer, timeout: Duration?) -> ClientStreamHandle {
        let token = CallToken()
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        continuation.onTermination = { _ in self.cancel(token) }
        if let error = start(frame: frame, token: token, call: .stream(continuation), timeout: timeout) {
            continuation.finish(throwing: error)
        }
        return ClientStreamHandle(
            stream: stream,
            cancel: { self.cancel(token) },
            consumed: { bytes in self.consumed(bytes, of: token) })
    }

    // MARK: Stream buffering (reading pauses while consumers lag)

    /// Whether reading from the socket is paused because stream consumers lag.
    var isReadingPaused: Bool {
        state.withLockedValue { $0.readingPaused }
    }

    /// Bytes of stream messages received and not yet taken by their consumers.
    var bufferedStreamBytes: Int {
        state.withLockedValue { $0.bufferedStreamBytes }
    }

    /// A consumer took a message of `bytes` bytes of the call of `token`.
    private func consumed(_ bytes: Int, of token: CallToken) {
        let resume: Bool = state.withLockedValue { state in
            guard let id = token.id, let buffered = state.streamBytes[id] else { return false }
            let taken = min(bytes, buffered)
            state.streamBytes[id] = buffered - taken
            state.bufferedStreamBytes -= taken
            return Self.shouldResume(&state, limit: maxBufferedStreamBytes)
        }
        if resume { applyReading() }
    }

    /// Under the lock: forgets what call `id` still has buffered (its consumer is gone, or the
    /// call was failed); returns whether reading should resume.
    private static func dropBuffered(of id: UInt32, _ state: inout State, limit: Int) -> Bool {
        guard let buffered = state.streamBytes.removeValue(forKey: id) else { return false }
        state.bufferedStreamBytes -= buffered
        return shouldResume(&state, limit: limit)
    }

    private static func shouldResume(_ state: inout State, limit: Int) -> Bool {
        guard state.readingPaused, state.bufferedStreamBytes <= limit / 4 else { return false }
        state.readingPaused = false
        state.stallTimer?.cancel()
        state.stallTimer = nil
        return true
    }

    /// Makes the channel's `autoRead` match the current wish (paused or not), on the event loop,
    /// so that a late resume cannot undo a newer pause. Turning it back on makes the channel read.
    private func applyReading() {
        let apply = {
            let paused = self.state.withLockedValue { $0.readingPaused }
            self.channel.setOption(ChannelOptions.autoRead, value: !paused).whenFailure { _ in }
        }
        if channel.eventLoop.inEventLoop { apply() } else { channel.eventLoop.execute(apply) }
    }

    /// On the event loop, `maxStreamStall` after reading paused: if it is still paused, the
    /// streams holding unread messages fail with RESOURCE_EXHAUSTED (their consumers still get
    /// what was received before the error) and are cancelled on the server; reading resumes. This
    /// bounds how long one slow consumer can hold up the other calls of the connection, including
    /// calls that consumer itself is waiting for.
    private func stallTimerFired() {
        let lagging: [UInt32] = state.withLockedValue { state in
            state.stallTimer = nil
            guard state.readingPaused else { return [] }
            return state.streamBytes.filter { $0.value > 0 }.map(\.key)
        }
        for id in lagging {
            finish(
                id,
                with: RPCError(
                    code: .resourceExhausted,
                    message: "the stream's consumer fell behind: more than \(maxBufferedStreamBytes) bytes of messages stayed unread for \(maxStreamStall); open the stream again"),
                sendCancel: true, dropBuffered: true)
        }
        // Streams that ended meanwhile may still hold the bytes: reading resumes regardless.
        let resume: Bool = state.withLockedValue { state in
            guard state.readingPaused else { return false }
            state.readingPaused = false
            return true
        }
        if resume { applyReading() }
    }

    /// Registers the call and queues its frame; returns an error instead when it cannot start.
    /// `token` is nil for calls that cannot be cancelled (callbacks).
    private func start(frame: ByteBuffer, token: CallToken?, call: PendingCall, timeout: Duration?) -> RPCError? {
        var frame = frame
        let outcome: Result<(UInt64, Bool), RPCError> = state.withLockedValue { state in
            if state.closed || state.draining {
                return .failure(RPCError(code: .unavailable, message: "the connection to \(target) is closing\(state.goAwayMessage.map { ": \($0)" } ?? ""); retry"))
            }
            if UInt32(frame.readableBytes - 4) > state.serverMaxFrameLength {
                return .failure(RPCError(
                    code: .resourceExhausted,
                    message: "the request frame is \(frame.readableBytes - 4) bytes; the server accepts at most \(state.serverMaxFrameLength)"))
            }
            guard token?.begin(state.nextCallID) ?? true else {
                return .failure(RPCError(code: .cancelled, message: "the call was cancelled"))
            }
            let id = state.nextCallID
            state.nextCallID &+= 1
            frame.setInteger(id, at: frame.readerIndex + 6)
            var entry = CallEntry(call: call, deadline: nil, timeout: timeout)
            var arm = false
            if let timeout {
                let at = NIODeadline.now().uptimeNanoseconds &+ UInt64(clamping: max(0, timeout.nanoseconds))
                entry.deadline = at
                state.deadlines.push(.init(at: at, callID: id))
                if state.deadlines.count > 2 * state.calls.count + 64 {
                    let calls = state.calls
                    state.deadlines.compact { calls[$0.callID]?.deadline == $0.at || $0.callID == id }
                }
                if at < state.timerAt {
                    state.timerAt = at
                    arm = true
                }
            }
            state.calls[id] = entry
            return .success((arm ? entry.deadline! : 0, Self.append(frame, to: &state)))
        }
        switch outcome {
        case .failure(let error):
            return error
        case .success(let (armAt, schedule)):
            if schedule { scheduleFlush() }
            if armAt != 0 { armTimer(at: armAt) }
            return nil
        }
    }

    // MARK: Local deadlines (one timer per connection)

    private func armTimer(at: UInt64) {
        let scheduled = channel.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(at)) { self.timerFired() }
        let previous: Scheduled<Void>? = state.withLockedValue { state in
            guard state.timerAt == at else { return scheduled }  // an earlier deadline re-armed meanwhile
            defer { state.timer = scheduled }
            return state.timer
        }
        previous?.cancel()
    }

    /// Fails every call whose deadline passed (and tells the server), then re-arms.
    private func timerFired() {
        let now = NIODeadline.now().uptimeNanoseconds
        let (expired, next): ([(UInt32, CallEntry)], UInt64?) = state.withLockedValue { state in
            state.timer = nil
            state.timerAt = .max
            var expired: [(UInt32, CallEntry)] = []
            while let top = state.deadlines.first {
                guard let entry = state.calls[top.callID], entry.deadline == top.at else {
                    state.deadlines.popFirst()
                    continue
                }
                guard top.at <= now else { break }
                state.deadlines.popFirst()
                expired.append((top.callID, entry))
            }
            let next = state.deadlines.first?.at
            if let next { state.timerAt = next }
            return (expired, next)
        }
        for (id, entry) in expired {
            let timeout = entry.timeout.map { "\($0)" } ?? "?"
            finish(id, with: RPCError(code: .deadlineExceeded, message: "no answer within the call's timeout of \(timeout)"), sendCancel: true)
        }
        if let next { armTimer(at: next) }
    }

    private func cancel(_ token: CallToken) {
        guard let id = state.withLockedValue({ _ in token.cancel() }) else { return }
        finish(id, with: RPCError(code: .cancelled, message: "the call was cancelled"), sendCancel: true, dropBuffered: true)
    }

    /// Ends a call locally with `error`, optionally telling the server to stop it and forgetting
    /// what it has buffered (in the same lock section, so that no message is counted after).
    private func finish(_ id: UInt32, with error: RPCError, sendCancel: Bool, dropBuffered: Bool = false) {
        let limit = maxBufferedStreamBytes
        let (entry, schedule, resume): (CallEntry?, Bool, Bool) = state.withLockedValue { state in
            let resume = dropBuffered && Self.dropBuffered(of: id, &state, limit: limit)
            guard let entry = state.calls.removeValue(forKey: id) else { return (nil, false, resume) }
            guard sendCancel, !state.closed else { return (entry, false, resume) }
            var frame = ByteBufferAllocator().buffer(capacity: Frame.headerSize)
            Frame.writeHeader(type: .cancel, flags: 0, callID: id, payloadLength: 0, to: &frame)
            return (entry, Self.append(frame, to: &state), resume)
        }
        if resume { applyReading() }
        guard let entry else { return }
        if schedule { scheduleFlush() }
        Self.fail(entry.call, error)
    }

    private static func fail(_ call: PendingCall, _ error: RPCError, notRun: Bool = false) {
        switch call {
        case .unary(let continuation): continuation.resume(returning: .failure(ClientCallFailure(error: error, notRun: notRun)))
        case .callback(let completion): completion(.failure(error))
        case .stream(let continuation): continuation.finish(throwing: error)
        }
    }

    // MARK: Outbound

    /// Appends a frame to the outgoing buffer; returns true when a flush must be scheduled.
    private static func append(_ frame: ByteBuffer, to state: inout State) -> Bool {
        if state.pending == nil {
            state.pending = frame
        } else {
            state.pending!.writeImmutableBuffer(frame)
        }
        if state.flushScheduled { return false }
        state.flushScheduled = true
        return true
    }

    private func scheduleFlush() {
        channel.eventLoop.execute {
            let buffer: ByteBuffer? = self.state.withLockedValue { state in
                state.flushScheduled = false
                defer { state.pending = nil }
                return state.pending
            }
            if let buffer { self.channel.writeAndFlush(buffer, promise: nil) }
        }
    }

    /// Queues a frame built on the event loop (PING answers).
    func send(_ frame: ByteBuffer) {
        let schedule = state.withLockedValue { state -> Bool in
            guard !state.closed else { return false }
            return Self.append(frame, to: &state)
        }
        if schedule { scheduleFlush() }
    }

    // MARK: Inbound (on the event loop)

    func receive(_ frame: Frame) {
        switch frame.type {
        case .end:
            guard let entry = state.withLockedValue({ $0.calls.removeValue(forKey: frame.callID) }) else { return }
            if case .unary(let continuation) = entry.call {
                // Decoded by the caller, which knows whether it wants the metadata.
                continuation.resume(returning: .success(frame.payload))
                return
            }
            var payload = frame.payload
            let head: EndHead
            do {
                head = try EndHead.read(from: &payload)
            } catch {
                Self.fail(entry.call, Self.malformedEnd(error))
                return
            }
            switch entry.call {
            case .unary:
                break  // answered above
            case .callback(let completion):
                completion(.success((head, payload)))
            case .stream(let continuation):
                if head.status == .ok {
                    continuation.finish()
                } else {
                    continuation.finish(throwing: RPCError(code: head.status, message: head.message, metadata: head.metadata))
                }
            }
        case .message:
            let bytes = frame.payload.readableBytes
            let limit = maxBufferedStreamBytes
            let (found, pause): (CallEntry?, Bool) = state.withLockedValue { state in
                guard let entry = state.calls[frame.callID], case .stream = entry.call else { return (nil, false) }
                state.streamBytes[frame.callID, default: 0] += bytes
                state.bufferedStreamBytes += bytes
                guard !state.readingPaused, state.bufferedStreamBytes > limit else { return (entry, false) }
                state.readingPaused = true
                return (entry, true)
            }
            if case .stream(let continuation)? = found?.call {
                continuation.yield(frame.payload)
            }
            if pause {
                applyReading()
                let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(maxStreamStall.nanoseconds)) { self.stallTimerFired() }
                let stale: Scheduled<Void>? = state.withLockedValue { state in
                    guard state.readingPaused else { return timer }  // resumed meanwhile
                    defer { state.stallTimer = timer }
                    return state.stallTimer
                }
                stale?.cancel()
            }
        case .hello:
            if let hello = try? HelloPayload.parse(frame.payload), hello.maxFrameLength > 0 {
                state.withLockedValue { $0.serverMaxFrameLength = hello.maxFrameLength }
            }
        case .goAway:
            let goAway = try? GoAwayPayload.read(from: frame.payload)
            let message = goAway?.message ?? "the server is going away"
            let notRun: [CallEntry] = state.withLockedValue { state in
                state.draining = true
                state.goAwayMessage = message
                guard let last = goAway?.lastCallID else { return [] }
                state.goAwayLastCallID = last
                let ids = state.calls.keys.filter { $0 > last }
                return ids.compactMap { state.calls.removeValue(forKey: $0) }
            }
            for entry in notRun {
                Self.fail(entry.call, RPCError(code: .unavailable, message: "the server did not run the call: \(message); retry"), notRun: true)
            }
        case .ping, .request, .cancel:
            break  // PING is handled by ClientInboundHandler; the others never come from a server.
        }
    }

    /// The error of a call whose END frame cannot be read.
    static func malformedEnd(_ error: WireFormatError) -> RPCError {
        RPCError(code: .internalError, message: "malformed END frame from the server: \(error)")
    }

    /// The channel closed: every waiting call fails with UNAVAILABLE.
    func closed() {
        let (entries, reason, lastRun): ([(UInt32, CallEntry)], String?, UInt32?) = state.withLockedValue { state in
            state.closed = true
            state.timer?.cancel()
            state.timer = nil
            state.stallTimer?.cancel()
            state.stallTimer = nil
            state.pending = nil
            defer { state.calls.removeAll() }
            return (state.calls.map { ($0.key, $0.value) }, state.goAwayMessage, state.goAwayLastCallID)
        }
        let message = "the connection to \(target) closed" + (reason.map { " (\($0))" } ?? "") + " before the call finished"
        for (id, entry) in entries {
            Self.fail(entry.call, RPCError(code: .unavailable, message: message), notRun: lastRun.map { id > $0 } ?? false)
        }
    }

    func close() async {
        try? await channel.close()
    }
}

/// Links a calling task's cancellation to the call id assigned later under the connection lock.
/// It has no lock of its own (a lock per call cost an allocation and a mutex set-up per call).
final class CallToken: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `state` is read and written only while the lock of the
    // ClientConnection that the token was made for is held (`start`, `cancel`, `consumed`).
    private enum State { case waiting, started(UInt32), cancelled }
    @exclusivity(unchecked) private var state = State.waiting  // lock-protected (above): no dynamic tracking

    /// Records the call id; false when the task was cancelled first. Under the connection's lock.
    func begin(_ id: UInt32) -> Bool {
        if case .cancelled = state { return false }
        state = .started(id)
        return true
    }

    /// The call id, once the call has started and until it is cancelled. Under the connection's lock.
    var id: UInt32? {
        if case .started(let id) = state { return id }
        return nil
    }

    /// Marks the token cancelled; returns the call id when the call had started. Under the
    /// connection's lock.
    func cancel() -> UInt32? {
        defer { state = .cancelled }
        if case .started(let id) = state { return id }
        return nil
    }
}

/// Splits the bytes into frames, feeds them to the connection, and answers and sends PINGs.
final class ClientInboundHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let connection: ClientConnection
    private let keepalive: Duration?
    private var keepaliveTask: RepeatedTask?
    private var awaitingPingAck = false
    private var reader: FrameReader
    private var broken = false

    init(connection: ClientConnection, keepalive: Duration?, maxFrameLength: UInt32) {
        self.connection = connection
        self.keepalive = keepalive
        self.reader = FrameReader(maxFrameLength: maxFrameLength)
    }

    func channelActive(context: ChannelHandlerContext) {
        if let keepalive {
            let interval = TimeAmount.nanoseconds(keepalive.nanoseconds)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            keepaliveTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                let (handler, context) = bound.value
                handler.keepaliveTick(context: context)
            }
        }
        context.fireChannelActive()
    }

    private func keepaliveTick(context: ChannelHandlerContext) {
        if connection.isReadingPaused {
            // Acks cannot be read while reading waits for a stream's consumer; that is not a
            // dead connection.
            awaitingPingAck = false
            return
        }
        if awaitingPingAck {
            context.close(promise: nil)
            return
        }
        awaitingPingAck = true
        var frame = ByteBufferAllocator().buffer(capacity: Frame.headerSize + 8)
        Frame.writeHeader(type: .ping, flags: 0, callID: 0, payloadLength: 8, to: &frame)
        frame.writeInteger(UInt64(NIODeadline.now().uptimeNanoseconds))
        connection.send(frame)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !broken else { return }
        reader.read(unwrapInboundIn(data)) { decoded in
            receive(decoded, context: context)
            return !broken
        }
    }

    private func receive(_ decoded: DecodedFrame, context: ChannelHandlerContext) {
        switch decoded {
        case .frame(let frame):
            if frame.type == .ping {
                if frame.flags & Frame.flagAck != 0 {
                    awaitingPingAck = false
                } else {
                    var reply = ByteBufferAllocator().buffer(capacity: Frame.headerSize + frame.payload.readableBytes)
                    Frame(type: .ping, flags: Frame.flagAck, callID: 0, payload: frame.payload).write(to: &reply)
                    connection.send(reply)
                }
            } else {
                connection.receive(frame)
            }
        case .oversized, .malformed:
            broken = true
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Not `reader.reset()`: this can run inside `reader.read` (a close on a bad frame).
        keepaliveTask?.cancel()
        connection.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Why a call failed on a connection, and whether the server certainly did not run it (then the
/// client may send it again on a new connection without risk of running it twice).
struct ClientCallFailure: Error {
    var error: RPCError
    var notRun: Bool
    /// The connection refused the call before sending it because it is closing (it was closed, or
    /// the server sent GOAWAY): the call may go to a fresh connection.
    var refused = false
}

/// A running server-streaming call as its consumer holds it. The connection's call table keeps the
/// stream's continuation alive, so the stream alone cannot tell that nobody listens any more; this
/// handle can: releasing it cancels the call.
final class ClientStreamHandle: Sendable {
    let stream: AsyncThrowingStream<ByteBuffer, any Error>
    private let cancel: @Sendable () -> Void
    private let consumedBytes: @Sendable (Int) -> Void

    init(
        stream: AsyncThrowingStream<ByteBuffer, any Error>, cancel: @escaping @Sendable () -> Void,
        consumed: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.stream = stream
        self.cancel = cancel
        self.consumedBytes = consumed
    }

    /// The consumer took a message of `bytes` bytes from the stream.
    func consumed(_ bytes: Int) {
        consumedBytes(bytes)
    }

    deinit { cancel() }
}
