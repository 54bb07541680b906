import CoreMetrics
import Logging
import NIOCore

/// Events the server sends down a connection's pipeline.
enum RPCServerEvent: Sendable {
    /// Send GOAWAY, refuse new calls, close once the calls in flight are done.
    case gracefulShutdown
    /// Close now, cancelling calls in flight (the grace period ran out).
    case forceClose
}

/// One server connection: handshake, call table, deadlines, cancellation, limits, GOAWAY.
///
/// Lives on its channel's event loop and is not `Sendable`; call tasks reach it only through
/// ``ServerOutbound``, whose drain runs here.
///
/// It splits the byte stream into frames itself (with ``FrameDecoder``), rather than behind a
/// separate decoding handler, so that a frame costs no trip through the pipeline. Answers of
/// inline methods (``RPCMethodHandler/inlineUnary(_:)``) are encoded straight into one outgoing
/// buffer per read, written and flushed once when the read is done.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct ActiveCall: Sendable {
        var task: Task<Void, Never>?
        /// `NIODeadline.uptimeNanoseconds` of the call's deadline, if it has one.
        var deadline: UInt64?
        var timeoutMicros: UInt64 = 0
        var requestID = ""
    }

    private let configuration: RPCServerConfiguration
    private let methods: MethodTable
    private let connectionID: UInt64
    /// The server's graceful-shutdown signal, handed to every call's context.
    private let drain: ServerDrain
    // The handler lives on one event loop and never hands out its state, so its fields skip the
    // runtime's dynamic exclusivity tracking (measurable per call; see BENCHMARKS.md).
    @exclusivity(unchecked) private var logger: Logger

    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    @exclusivity(unchecked) private var outbound: ServerOutbound?
    @exclusivity(unchecked) private var spare: [ServerOutbound.Item] = []
    @exclusivity(unchecked) private var peer = "unknown"
    /// Shared by the contexts of this connection's calls.
    @exclusivity(unchecked) private var connectionContext: ConnectionContext

    @exclusivity(unchecked) private var handshakeDone = false
    @exclusivity(unchecked) private var draining = false
    @exclusivity(unchecked) private var closing = false
    @exclusivity(unchecked) private var lastCallID: UInt32 = 0
    @exclusivity(unchecked) private var calls: [UInt32: ActiveCall] = [:]
    @exclusivity(unchecked) private var needsFlush = false
    @exclusivity(unchecked) private var lastActivity = NIODeadline.now()
    @exclusivity(unchecked) private var handshakeTimer: Scheduled<Void>?
    /// The calls' deadlines, and the one timer armed for the earliest of them.
    @exclusivity(unchecked) private var deadlines = DeadlineQueue()
    @exclusivity(unchecked) private var deadlineTimer: Scheduled<Void>?
    @exclusivity(unchecked) private var deadlineTimerAt: UInt64 = .max
    @exclusivity(unchecked) private var bound: NIOLoopBound<ServerConnectionHandler>?
    @exclusivity(unchecked) private var idleTimer: Scheduled<Void>?

    /// Not `@exclusivity(unchecked)`: one access per read, and the runtime keeps checking it.
    private var reader: FrameReader
    /// Answers of inline calls read since the last flush, in one buffer.
    @exclusivity(unchecked) private var batch: ByteBuffer?
    @exclusivity(unchecked) private var batchCapacity = 1024
    /// The clock read once per read (lazily): the arrival time of its requests.
    @exclusivity(unchecked) private var readTimeNIO: UInt64?
    /// The method of the previous call, so that a connection calling one method over and over
    /// looks it up without hashing its name.
    @exclusivity(unchecked) private var lastMethod: MethodTable.Entry?
    /// Unary calls of ordinary async methods read in this read, started together when the read is
    /// done (``startUnaryBatch()``).
    @exclusivity(unchecked) private var pendingUnary: [UnaryBatch.Call] = []
    /// Whether this connection is counted in ``ServerMetrics/connections`` (once, until teardown).
    @exclusivity(unchecked) private var countedOpen = false

    init(configuration: RPCServerConfiguration, methods: MethodTable, connectionID: UInt64, logger: Logger, drain: ServerDrain = ServerDrain()) {
        self.drain = drain
        self.configuration = configuration
        self.methods = methods
        self.connectionID = connectionID
        self.logger = logger
        self.reader = FrameReader(maxFrameLength: configuration.maxFrameLength)
        self.logger[metadataKey: "connection"] = .stringConvertible(connectionID)
        self.connectionContext = ConnectionContext(peer: "unknown", logger: self.logger, drain: drain)
    }

    // MARK: Pipeline life

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let outbound = ServerOutbound(eventLoop: context.eventLoop)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.bound = bound
        outbound.install(drain: { bound.value.drainOutbound() }, endSink: { bound.value.endNow($0) })
        self.outbound = outbound
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard handshakeTimer == nil, !handshakeDone else { return }
        if !countedOpen, let metrics = methods.metrics {
            countedOpen = true
            metrics.connections.increment()
        }
        if let remote = context.remoteAddress {
            peer = "\(remote.ipAddress ?? "?"):\(remote.port ?? 0)"
        }
        logger[metadataKey: "peer"] = .string(peer)
        connectionContext = ConnectionContext(peer: peer, logger: logger, drain: drain)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: .nanoseconds(configuration.handshakeTimeout.nanoseconds)) {
            bound.value.handshakeTimedOut()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown()
        self.context = nil
    }

    private func tearDown() {
        if countedOpen {
            countedOpen = false
            methods.metrics?.connections.decrement()
        }
        closing = true
        handshakeTimer?.cancel()
        handshakeTimer = nil
        idleTimer?.cancel()
        idleTimer = nil
        deadlineTimer?.cancel()
        deadlineTimer = nil
        for (_, call) in calls {
            call.task?.cancel()
        }
        calls.removeAll()
        bound = nil
        // Not `reader.reset()`: teardown can run inside `reader.read` (a close from a frame's
        // handling fires channelInactive synchronously); the partial frame goes with the handler.
        batch = nil
        outbound?.close()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        outbound?.setWritable(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? RPCServerEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch event {
        case .gracefulShutdown:
            beginDraining(message: "the server is shutting down; open a new connection to retry")
        case .forceClose:
            closing = true
            context.close(promise: nil)
        }
    }

    // MARK: Inbound frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        readTimeNIO = nil
        reader.read(unwrapInboundIn(data)) { decoded in
            process(decoded)
            return !closing
        }
        startUnaryBatch()
    }

    /// The time this read's requests arrived (`NIODeadline` nanoseconds), read once per read.
    private var readTime: UInt64 {
        if let readTimeNIO { return readTimeNIO }
        let now = NIODeadline.now().uptimeNanoseconds
        readTimeNIO = now
        return now
    }

    private func process(_ decoded: DecodedFrame) {
        switch decoded {
        case .frame(let frame):
            handle(frame)
        case .oversized(let rawType, let callID, let length, let limit):
            startUnaryBatch()  // the calls read before this frame first
            let message = "frame of \(length) bytes exceeds this server's limit of \(limit) bytes"
            if handshakeDone, rawType == FrameType.request.rawValue, callID != 0, calls[callID] == nil {
                write(FrameBuilder.end(callID: callID, status: .resourceExhausted, message: message, requestID: "", body: ByteBuffer()))
            }
            goAwayAndClose(status: .resourceExhausted, message: message)
        case .malformed(let reason):
            goAwayAndClose(status: .invalidArgument, message: "protocol error: \(reason)")
        }
    }

    private func handle(_ frame: Frame) {
        // Frames are handled in the order they came: the async unary calls read before this frame
        // start first (a PING is acknowledged after the END of a call before it that answered at
        // once, a CANCEL finds its call started, as when every call started as it was read).
        if frame.type != .request { startUnaryBatch() }
        guard handshakeDone else {
            guard frame.type == .hello else {
                goAwayAndClose(status: .failedPrecondition, message: "protocol error: the first frame must be HELLO, got \(frame.type)")
                return
            }
            receiveHello(frame)
            return
        }
        switch frame.type {
        case .request:
            receiveRequest(frame)
        case .cancel:
            if var call = calls.removeValue(forKey: frame.callID) {
                call.task?.cancel()
                call.task = nil
                outbound?.wakeWaiters()
                callsChanged()
            }
        case .ping:
            if frame.flags & Frame.flagAck == 0 {
                var buffer = ByteBufferAllocator().buffer(capacity: Frame.headerSize + frame.payload.readableBytes)
                Frame(type: .ping, flags: Frame.flagAck, callID: 0, payload: frame.payload).write(to: &buffer)
                write(buffer)
            }
        case .hello:
            goAwayAndClose(status: .invalidArgument, message: "protocol error: HELLO sent twice")
        case .message, .end, .goAway:
            goAwayAndClose(status: .invalidArgument, message: "protocol error: \(frame.type) frames are sent only by servers")
        }
    }

    private func receiveHello(_ frame: Frame) {
        let hello: HelloPayload
        do {
            hello = try HelloPayload.parse(frame.payload)
        } catch {
            goAwayAndClose(status: .invalidArgument, message: "protocol error: \(error)")
            return
        }
        guard hello.version == HelloPayload.currentVersion else {
            goAwayAndClose(
                status: .failedPrecondition,
                message: "unsupported protocol version \(hello.version); this server speaks version \(HelloPayload.currentVersion)")
            return
        }
        handshakeDone = true
        handshakeTimer?.cancel()
        handshakeTimer = nil
        let idleMillis = UInt32(clamping: configuration.idleTimeout.nanoseconds / 1_000_000)
        let reply = HelloPayload(
            maxFrameLength: configuration.maxFrameLength,
            maxConcurrentCalls: UInt32(clamping: configuration.maxConcurrentCallsPerConnection),
            idleTimeoutMilliseconds: idleMillis)
        var payload = ByteBufferAllocator().buffer(capacity: 32)
        reply.write(to: &payload)
        var buffer = ByteBufferAllocator().buffer(capacity: 48)
        Frame(type: .hello, callID: 0, payload: payload).write(to: &buffer)
        write(buffer)
        lastActivity = .now()
        scheduleIdleCheck(at: lastActivity + .nanoseconds(configuration.idleTimeout.nanoseconds))
    }

    private func receiveRequest(_ frame: Frame) {
        let callID = frame.callID
        guard callID != 0, callID > lastCallID else {
            goAwayAndClose(
                status: .invalidArgument,
                message: "protocol error: call id \(callID) is not above the previous call id \(lastCallID)")
            return
        }
        lastCallID = callID
        lastActivity = .uptimeNanoseconds(readTime)
        var payload = frame.payload
        var timeoutMicros: UInt64 = 0
        var methodBytes = ByteBuffer()
        var metadata = Metadata()
        var found: MethodTable.Entry?
        // The common case in one look at the bytes: no metadata, and often the method of the
        // previous call (compared without hashing).
        let cached = lastMethod
        let quick: (timeout: UInt64, methodLength: Int, same: Bool)? = payload.withUnsafeReadableBytes { raw in
            guard raw.count >= 12 else { return nil }
            let length = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
            guard raw.count >= 12 + length,
                  raw.loadUnaligned(fromByteOffset: 10 + length, as: UInt16.self) == 0
            else { return nil }
            let same = cached?.isNamed(by: raw.baseAddress! + 10, length: length) ?? false
            return (UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)), length, same)
        }
        if let quick {
            timeoutMicros = quick.timeout
            if quick.same {
                found = cached
            } else {
                methodBytes = payload.getSlice(at: payload.readerIndex + 10, length: quick.methodLength)!
            }
            payload.moveReaderIndex(forwardBy: 12 + quick.methodLength)
        } else {
            do {
                guard let timeout: UInt64 = payload.readInteger(), let methodLength: UInt16 = payload.readInteger(),
                      let bytes = payload.readSlice(length: Int(methodLength))
                else { throw WireFormatError("the REQUEST payload is truncated before the end of its method name") }
                timeoutMicros = timeout
                methodBytes = bytes
                metadata = try MetadataCodec.read(from: &payload)
            } catch {
                refuse(callID, .invalidArgument, "malformed REQUEST: \(error)", requestID: "")
                return
            }
        }
        // From here on every answer carries the call's request id (the caller's, or a new one).
        // A caller's id is kept when it is 1-128 bytes; otherwise the server makes one.
        let requestID = (metadata.isEmpty ? nil : metadata[Metadata.Keys.requestID]).flatMap { $0.isEmpty || $0.utf8.count > 128 ? nil : $0 } ?? RequestIDGenerator.next()
        if draining {
            refuse(callID, .unavailable, "the server is shutting down; open a new connection to retry", requestID: requestID)
            return
        }
        guard calls.count + pendingUnary.count < configuration.maxConcurrentCallsPerConnection else {
            refuse(callID, .resourceExhausted,
                   "too many calls in flight on this connection (limit \(configuration.maxConcurrentCallsPerConnection)); wait for some to finish or open another connection",
                   requestID: requestID)
            return
        }
        if found == nil {
            found = methods.lookup(methodBytes)
            if let found { lastMethod = found }
        }
        guard let method = found else {
            let name = String(buffer: methodBytes)
            refuse(callID, .unimplemented, "unknown method '\(name)'; methods are named like 'waqtor.v1.HealthService/Ping'", requestID: requestID)
            return
        }
        // Deadlines count from when the request was read.
        var deadline: UInt64?
        if timeoutMicros > 0 {
            let (micros, overflow) = timeoutMicros.multipliedReportingOverflow(by: 1000)
            let (at, overflow2) = readTime.addingReportingOverflow(micros)
            deadline = overflow || overflow2 || at > UInt64(Int64.max) ? UInt64(Int64.max) : at
        }
        let serverContext = ServerContext(
            method: method.name, metadata: metadata, deadlineUptimeNanos: deadline, requestID: requestID,
            connection: connectionContext, metrics: method.metrics)
        if case .inlineUnary = method.handler {} else { method.metrics?.started() }
        if case .unary(let run) = method.handler, outbound != nil {
            // Started with the async unary calls read right after it, once the read is done or
            // another kind of frame or call comes, in one task for as long as none of them
            // suspends (``startUnaryBatch()``).
            var call = ActiveCall()
            if let deadline {
                call.deadline = deadline
                call.timeoutMicros = timeoutMicros
                call.requestID = requestID
            }
            pendingUnary.append(UnaryBatch.Call(callID: callID, run: run, request: payload, context: serverContext, active: call))
            return
        }
        // Any other call starts now, after those read before it.
        startUnaryBatch()
        if case .inlineUnary(let run) = method.handler {
            runInline(run, callID: callID, request: payload, context: serverContext)
            return
        }
        guard let outbound else { return }

        var call = ActiveCall()
        if let deadline {
            call.deadline = deadline
            call.timeoutMicros = timeoutMicros
            call.requestID = requestID
        }
        call.task = CallRunner.start(
            callID: callID, handler: method.handler, request: payload, context: serverContext, outbound: outbound)
        // Nothing to track when the connection went away meanwhile.
        if closing {
            call.task?.cancel()
            return
        }
        calls[callID] = call
        if let at = call.deadline { trackDeadline(at: at, callID: callID) }
    }

    /// Starts the unary calls of async methods read since the last frame of another kind (at the
    /// end of a read at the latest), in order, in as few tasks as their handlers allow: a task runs one call after the other for as long as each answers
    /// without suspending (on this event loop, inside `Task.immediate`, as one task per call did
    /// before its first suspension); when one suspends, that task carries on with that call only
    /// (which enters the call table, with its deadline) and a new task takes the next call. A read
    /// of 32 calls that never suspend costs one task instead of 32. Their ENDs go into the read's
    /// outgoing batch.
    private func startUnaryBatch() {
        guard !pendingUnary.isEmpty else { return }
        guard !closing, let outbound else {
            pendingUnary.removeAll()
            return
        }
        var calls: [UnaryBatch.Call] = []
        swap(&calls, &pendingUnary)
        var next = 0
        while next < calls.count {
            outbound.beginBatch(at: next, callID: calls[next].callID)
            let task = UnaryBatch.start(calls, from: next, outbound: outbound)
            let (finished, current) = outbound.endBatch()
            if finished { break }
            // The task suspended in call `current`: it now serves that call alone.
            let suspended = calls[current]
            next = current + 1
            if closing {
                // The connection went away meanwhile: the calls not started yet do not run.
                task.cancel()
                return
            }
            var call = suspended.active
            call.task = task
            self.calls[suspended.callID] = call
            if let at = call.deadline { trackDeadline(at: at, callID: suspended.callID) }
        }
        // The tasks that ran to the end have released the array: its storage serves the next read.
        calls.removeAll(keepingCapacity: true)
        if pendingUnary.isEmpty { pendingUnary = calls }
    }

    /// Takes the END of a unary call that ended before its task first suspended (the call is not
    /// in the table): into this read's outgoing batch.
    private func endNow(_ item: ServerOutbound.Item) {
        // With no batch yet, the frame's own buffer starts it: no copy, no allocation.
        appendToBatch(startingWith: item.frame) { $0.writeImmutableBuffer(item.frame) }
    }

    /// Runs an inline method now and appends its END frame to this read's outgoing batch. It ends
    /// before anything else happens on the connection, so it never enters the call table: its
    /// deadline cannot pass and it cannot be cancelled while it runs.
    private func runInline(
        _ run: @Sendable (ByteBuffer, ServerContext, inout ByteBuffer) throws -> Void,
        callID: UInt32, request: ByteBuffer, context serverContext: ServerContext
    ) {
        let started = serverContext.observesCalls ? NIODeadline.now().uptimeNanoseconds : nil
        var status = RPCStatusCode.ok
        appendToBatch { out in
            let start = out.writerIndex
            FrameBuilder.beginEnd(callID: callID, requestID: serverContext.requestID, into: &out)
            do {
                try run(request, serverContext, &out)
                FrameBuilder.finishEnd(startingAt: start, in: &out)
            } catch {
                out.moveWriterIndex(to: start)
                let rpcError = CallRunner.errorToStatus(error, context: serverContext)
                status = rpcError.code
                let frame = FrameBuilder.end(
                    callID: callID, status: rpcError.code, message: rpcError.message, requestID: serverContext.requestID,
                    extra: rpcError.metadata, body: ByteBuffer())
                out.writeImmutableBuffer(frame)
            }
        }
        if let started { CallRunner.finished(serverContext, status: status, startedAt: started, counted: false) }
    }

    /// Appends to this read's outgoing batch (started with `initial`, or a new buffer, when there
    /// is none yet). A read can carry thousands of requests: a batch is handed to the channel once
    /// it holds 64 KiB (flushed once, when the read is done), so that one buffer stays small.
    private func appendToBatch(startingWith initial: ByteBuffer? = nil, _ body: (inout ByteBuffer) -> Void) {
        if batch == nil, let initial {
            batch = initial
        } else {
            // Taken out, so that the buffer stays uniquely referenced and grows in place.
            var out = batch.take() ?? ByteBufferAllocator().buffer(capacity: batchCapacity)
            body(&out)
            batch = out
        }
        needsFlush = true
        if (batch?.readableBytes ?? 0) >= 64 * 1024, let context { writeBatch(context: context) }
    }

    // MARK: Deadlines

    /// Records a call's deadline and re-arms the connection's timer if it is now the earliest.
    private func trackDeadline(at: UInt64, callID: UInt32) {
        deadlines.push(.init(at: at, callID: callID))
        if deadlines.count > 2 * calls.count + 64 {
            deadlines.compact { calls[$0.callID]?.deadline == $0.at }
        }
        if at < deadlineTimerAt { armDeadlineTimer(at: at) }
    }

    private func armDeadlineTimer(at: UInt64) {
        guard let context, let bound else { return }
        deadlineTimer?.cancel()
        deadlineTimerAt = at
        deadlineTimer = context.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(at)) {
            bound.value.deadlineTimerFired()
        }
    }

    /// Ends every call whose deadline passed, then re-arms for the earliest one left.
    private func deadlineTimerFired() {
        deadlineTimer = nil
        deadlineTimerAt = .max
        let now = NIODeadline.now().uptimeNanoseconds
        while let top = deadlines.first {
            guard let call = calls[top.callID], call.deadline == top.at else {
                deadlines.popFirst()  // the call ended before its deadline
                continue
            }
            guard top.at <= now else { break }
            deadlines.popFirst()
            deadlinePassed(callID: top.callID, requestID: call.requestID, timeoutMicros: call.timeoutMicros)
        }
        if let next = deadlines.first { armDeadlineTimer(at: next.at) }
    }

    private func refuse(_ callID: UInt32, _ status: RPCStatusCode, _ message: String, requestID: String) {
        methods.metrics?.refused(status)
        startUnaryBatch()  // the calls read before this one first
        write(FrameBuilder.end(callID: callID, status: status, message: message, requestID: requestID, body: ByteBuffer()))
    }

    private func deadlinePassed(callID: UInt32, requestID: String, timeoutMicros: UInt64) {
        guard let call = calls.removeValue(forKey: callID) else { return }
        call.task?.cancel()
        outbound?.wakeWaiters()
        lastActivity = .now()
        let millis = Double(timeoutMicros) / 1000
        write(FrameBuilder.end(
            callID: callID, status: .deadlineExceeded,
            message: "the call's deadline (\(millis) ms) passed before it finished", requestID: requestID,
            body: ByteBuffer()))
        flushIfNeeded()
        callsChanged()
    }

    // MARK: Outbound

    /// Writes what call tasks queued (see ``ServerOutbound``), dropping frames of calls that were
    /// cancelled or timed out meanwhile, then flushes once.
    private func drainOutbound() {
        guard let outbound else { return }
        outbound.take(into: &spare)
        var ended = false
        for item in spare {
            switch item.kind {
            case .message:
                guard calls[item.callID] != nil else { continue }
            case .end:
                guard calls.removeValue(forKey: item.callID) != nil else { continue }
                ended = true
            }
            write(item.frame)
        }
        spare.removeAll(keepingCapacity: true)
        flushIfNeeded()
        // Last, so that the loop is likely to poll its sockets before producers refill the queue.
        outbound.wakeWaiters()
        if ended {
            lastActivity = .now()
            callsChanged()
        }
    }

    private func write(_ buffer: ByteBuffer) {
        guard let context else { return }
        writeBatch(context: context)  // keeps the connection's frames in the order they were made
        context.write(wrapOutboundOut(buffer), promise: nil)
        needsFlush = true
    }

    private func writeBatch(context: ChannelHandlerContext) {
        guard let out = batch.take() else { return }
        // The next batch starts at about this one's size (at least 1 KiB, at most 64 KiB).
        batchCapacity = min(max(out.readableBytes + out.readableBytes / 4, 1024), 64 * 1024)
        context.write(wrapOutboundOut(out), promise: nil)
    }

    private func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        writeBatch(context: context)
        context.flush()
    }

    // MARK: Shutdown, idle, handshake

    private func callsChanged() {
        if draining && calls.isEmpty {
            closing = true
            context?.close(promise: nil)
        }
    }

    private func beginDraining(message: String) {
        guard !draining, !closing else { return }
        draining = true
        guard handshakeDone else {
            closing = true
            context?.close(promise: nil)
            return
        }
        var payload = ByteBufferAllocator().buffer(capacity: 64)
        GoAwayPayload(lastCallID: lastCallID, status: .ok, message: message).write(to: &payload)
        var buffer = ByteBufferAllocator().buffer(capacity: 80)
        Frame(type: .goAway, callID: 0, payload: payload).write(to: &buffer)
        write(buffer)
        flushIfNeeded()
        callsChanged()
    }

    private func goAwayAndClose(status: RPCStatusCode, message: String) {
        guard !closing else { return }
        startUnaryBatch()  // the calls read before the problem run, as they did when read
        logger.debug("closing connection", metadata: ["status": "\(status)", "reason": "\(message)"])
        var payload = ByteBufferAllocator().buffer(capacity: 64)
        GoAwayPayload(lastCallID: lastCallID, status: status, message: message).write(to: &payload)
        var buffer = ByteBufferAllocator().buffer(capacity: 80)
        Frame(type: .goAway, callID: 0, payload: payload).write(to: &buffer)
        write(buffer)
        flushIfNeeded()
        closing = true
        context?.close(promise: nil)
    }

    private func handshakeTimedOut() {
        guard !handshakeDone, !closing else { return }
        logger.debug("no HELLO within the handshake timeout")
        closing = true
        context?.close(promise: nil)
    }

    private func scheduleIdleCheck(at deadline: NIODeadline) {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(deadline: deadline) { bound.value.idleCheck() }
    }

    private func idleCheck() {
        guard !closing else { return }
        let idleFor = NIODeadline.now() - lastActivity
        let limit = TimeAmount.nanoseconds(configuration.idleTimeout.nanoseconds)
        if calls.isEmpty && idleFor >= limit {
            beginDraining(message: "closing a connection idle for \(configuration.idleTimeout)")
        } else {
            scheduleIdleCheck(at: (calls.isEmpty ? lastActivity : .now()) + limit)
        }
    }
}

/// Unary calls of async methods started together (see `ServerConnectionHandler.startUnaryBatch`).
enum UnaryBatch {
    struct Call: Sendable {
        let callID: UInt32
        let run: @Sendable (ByteBuffer, ServerContext) async throws -> ByteBuffer
        let request: ByteBuffer
        let context: ServerContext
        /// The call's entry for the call table (deadline), used if it suspends.
        let active: ServerConnectionHandler.ActiveCall
    }

    /// Starts a task running `calls[first...]` one after the other while none suspends (see
    /// `ServerConnectionHandler.startUnaryBatch`), between ``ServerOutbound/beginBatch(at:callID:)``
    /// and ``ServerOutbound/endBatch()``. On the event loop.
    static func start(_ calls: [Call], from first: Int, outbound: ServerOutbound) -> Task<Void, Never> {
        // `Task.immediate` runs the task on the event loop until its first suspension (see
        // `CallRunner.start`).
        Task.immediate {
            var index = first
            while true {
                await CallRunner.runUnary(calls[index], outbound: outbound)
                index += 1
                // On only while the task has never suspended (then the calls after this one
                // belong to another task).
                guard outbound.batchContinues(to: index, of: calls.count, callID: index < calls.count ? calls[index].callID : nil)
                else { return }
            }
        }
    }
}

/// Runs calls' handlers and queues their frames: a streaming call in its own task (``start``),
/// a unary call inside a batch's task (``runUnary``, see ``UnaryBatch``).
enum CallRunner {
    /// Runs one unary call of a batch (``UnaryBatch``) and queues its END.
    static func runUnary(_ call: UnaryBatch.Call, outbound: ServerOutbound) async {
        let context = call.context
        let started = context.observesCalls ? NIODeadline.now().uptimeNanoseconds : nil
        var status = RPCStatusCode.ok
        let frame: ByteBuffer
        do {
            let response = try await call.run(call.request, context)
            frame = FrameBuilder.end(callID: call.callID, status: .ok, message: "", requestID: context.requestID, body: response)
        } catch {
            let rpcError = errorToStatus(error, context: context)
            status = rpcError.code
            frame = FrameBuilder.end(
                callID: call.callID, status: rpcError.code, message: rpcError.message, requestID: context.requestID,
                extra: rpcError.metadata, body: ByteBuffer())
        }
        outbound.enqueue(.init(callID: call.callID, kind: .end, frame: frame))
        if let started { finished(context, status: status, startedAt: started) }
    }

    static func start(
        callID: UInt32, handler: RPCMethodHandler, request: ByteBuffer, context: ServerContext, outbound: ServerOutbound
    ) -> Task<Void, Never> {
        // `Task.immediate` runs the handler on the event loop until its first suspension: a handler
        // that answers without awaiting anything (Ping) costs no thread hop at all, and one that
        // awaits I/O (a database query) continues on the global executor after it. Handlers must
        // therefore not do slow work before their first `await`.
        Task.immediate {
            let started = context.observesCalls ? NIODeadline.now().uptimeNanoseconds : nil
            var status = RPCStatusCode.ok
            let frame: ByteBuffer
            do {
                switch handler {
                case .unary(let run):
                    let response = try await run(request, context)
                    frame = FrameBuilder.end(callID: callID, status: .ok, message: "", requestID: context.requestID, body: response)
                case .serverStreaming(let run):
                    let writer = ServerStreamWriter<RawMessage>(sink: { body in
                        try Task.checkCancellation()
                        try await outbound.waitForRoom()
                        guard outbound.enqueue(.init(callID: callID, kind: .message, frame: FrameBuilder.message(callID: callID, body: body))) else {
                            throw CancellationError()
                        }
                    })
                    try await run(request, context, writer)
                    frame = FrameBuilder.end(callID: callID, status: .ok, message: "", requestID: context.requestID, body: ByteBuffer())
                case .inlineUnary(let run):
                    // Not reached: the connection runs inline methods itself. Kept correct anyway.
                    var response = ByteBuffer.withReservedHead()
                    try run(request, context, &response)
                    frame = FrameBuilder.end(callID: callID, status: .ok, message: "", requestID: context.requestID, body: response)
                }
            } catch {
                let rpcError = errorToStatus(error, context: context)
                status = rpcError.code
                frame = FrameBuilder.end(
                    callID: callID, status: rpcError.code, message: rpcError.message, requestID: context.requestID,
                    extra: rpcError.metadata, body: ByteBuffer())
            }
            outbound.enqueue(.init(callID: callID, kind: .end, frame: frame))
            if let started { finished(context, status: status, startedAt: started) }
        }
    }

    /// A call ended: its metrics, and one line at debug level carrying the request id (callers
    /// take `startedAt` only when either is on, so that the hot path does not pay for it otherwise).
    static func finished(_ context: ServerContext, status: RPCStatusCode, startedAt started: UInt64, counted: Bool = true) {
        let elapsed = NIODeadline.now().uptimeNanoseconds &- started
        context.metrics?.finished(status, nanoseconds: elapsed, counted: counted)
        guard context.logsCalls else { return }
        context.logger.debug("call finished", metadata: [
            "status": .string(status.name),
            "duration_us": .stringConvertible(elapsed / 1000),
        ])
    }

    /// Maps what a handler threw to the status the caller sees, and logs it at the level it
    /// deserves. ``RPCErrorConvertible`` errors choose their status and message; anything else is
    /// INTERNAL without detail, so that nothing internal leaks to the caller. Cancellation (a
    /// `CancellationError`, or an error that converts to CANCELLED) is DEADLINE_EXCEEDED when the
    /// call's deadline has passed and CANCELLED otherwise, logged at debug: the caller or the
    /// deadline ended the call, nothing failed. INTERNAL answers carry the request id to quote,
    /// and their cause is logged at error level; UNAVAILABLE from a backend is logged as a warning.
    static func errorToStatus(_ error: any Error, context: ServerContext) -> RPCError {
        var rpcError: RPCError
        if let convertible = error as? any RPCErrorConvertible {
            rpcError = convertible.rpcError
            if rpcError.code == .ok { rpcError.code = .unknown }
        } else if error is CancellationError {
            rpcError = RPCError(code: .cancelled, message: "the call was cancelled")
        } else {
            rpcError = RPCError(code: .internalError, message: "internal error")
        }
        let chosenByHandler = error is RPCError
        switch rpcError.code {
        case .cancelled:
            if let deadline = context.deadlineUptimeNanos, deadline <= NIODeadline.now().uptimeNanoseconds {
                rpcError = RPCError(code: .deadlineExceeded, message: "the call's deadline passed before it finished")
            }
            context.logger.debug("call ended early", metadata: ["status": .string(rpcError.code.name), "error": "\(error)"])
        case .internalError, .unknown, .dataLoss:
            context.logger.error("handler failed", metadata: ["status": .string(rpcError.code.name), "error": "\(error)"])
            if !chosenByHandler {
                rpcError.message = "internal error; quote request id \(context.requestID) when reporting it"
            }
        case .unavailable where !chosenByHandler:
            context.logger.warning("backend unavailable", metadata: ["error": "\(error)"])
        default:
            break
        }
        return rpcError
    }
}

/// Request ids for calls that came without one: 15 characters, so that Swift stores them inline
/// without a heap allocation.
enum RequestIDGenerator {
    private static let counter = ManagedAtomicCounter()

    /// `s` and 14 hexadecimal digits of a process-wide counter (started at a random value), written
    /// straight into a small string.
    static func next() -> String {
        let value = counter.next()
        return String(unsafeUninitializedCapacity: 15) { buffer in
            buffer[0] = UInt8(ascii: "s")
            for index in 1...14 {
                let nibble = UInt8(truncatingIfNeeded: value &>> UInt64(4 * (14 - index))) & 0x0F
                buffer[index] = nibble < 10 ? nibble &+ 0x30 : nibble &+ 0x57  // 0-9, a-f
            }
            return 15
        }
    }
}
