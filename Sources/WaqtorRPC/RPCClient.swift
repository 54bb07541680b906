import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Settings of an ``RPCClient``.
public struct RPCClientConfiguration: Sendable {
    /// How long establishing a TCP connection may take. Default 5 s.
    public var connectTimeout: Duration
    /// Timeout for calls whose ``CallOptions/timeout`` is nil; nil means no deadline. Default nil.
    public var defaultTimeout: Duration?
    /// How often an open connection sends PING; a connection whose PING is not acknowledged within
    /// one interval is closed (calls on it fail with UNAVAILABLE). nil disables it. Default 30 s.
    public var keepaliveInterval: Duration?
    /// Largest frame accepted from the server. Default 16 MiB.
    public var maxFrameLength: UInt32
    /// Most bytes of server-stream messages a connection holds for consumers that have not taken
    /// them yet: above it, the connection stops reading from the socket (every call on it waits,
    /// and the server's streams slow down through TCP) until the consumers have taken all but a
    /// quarter of it. Default 4 MiB.
    public var maxBufferedStreamBytes: Int
    /// How long reading may stay paused that way. Then the streams holding unread messages fail
    /// with RESOURCE_EXHAUSTED (after their consumers have been given what was received) and are
    /// cancelled on the server, and reading resumes: a consumer that stops, or that waits for
    /// another call on the same client, holds the connection up at most this long. Default 10 s.
    public var maxStreamStall: Duration

    public init(
        connectTimeout: Duration = .seconds(5), defaultTimeout: Duration? = nil,
        keepaliveInterval: Duration? = .seconds(30), maxFrameLength: UInt32 = 16 * 1024 * 1024,
        maxBufferedStreamBytes: Int = 4 * 1024 * 1024, maxStreamStall: Duration = .seconds(10)
    ) {
        self.connectTimeout = connectTimeout
        self.defaultTimeout = defaultTimeout
        self.keepaliveInterval = keepaliveInterval
        self.maxFrameLength = maxFrameLength
        self.maxBufferedStreamBytes = maxBufferedStreamBytes
        self.maxStreamStall = maxStreamStall
    }
}

/// A client of one server address: one multiplexed connection, opened on first use, reopened
/// after it closes or after the server sent GOAWAY. Thread-safe; share one per server.
///
/// Every failure is an ``RPCError``: the server's status, or UNAVAILABLE (cannot connect,
/// connection lost), DEADLINE_EXCEEDED (the call's timeout passed), CANCELLED (the calling task
/// was cancelled), RESOURCE_EXHAUSTED (request larger than the server accepts).
public final class RPCClient: Sendable {
    public let host: String
    public let port: Int
    public let configuration: RPCClientConfiguration
    /// The event loop every connection of this client runs on (chosen once, at creation).
    public let eventLoop: any EventLoop
    /// Runs tasks on ``eventLoop``: calls made from tasks that prefer it are resumed on the loop
    /// and queue their frames from it, without a thread hop each way. See
    /// ``withPreferredExecutor(_:)``.
    public let taskExecutor: EventLoopTaskExecutor

    private enum ConnectionState {
        case idle
        case connecting([CheckedContinuation<Result<ClientConnection, RPCError>, Never>])
        case ready(ClientConnection)
        case closed
    }
    private let state = NIOLockedValueBox(ConnectionState.idle)

    public init(
        host: String, port: Int, configuration: RPCClientConfiguration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.configuration = configuration
        let eventLoop = eventLoopGroup.next()
        self.eventLoop = eventLoop
        self.taskExecutor = EventLoopTaskExecutor(eventLoop: eventLoop)
    }

    /// Runs `body` with this client's ``taskExecutor`` as the task's executor preference: its
    /// nonisolated code, and the calls it awaits on this client, run on the connection's event
    /// loop. This is the fast way to make many calls from tasks (a hop to the global executor and
    /// one back to the loop per call are saved). `body` must not block or compute for long: it
    /// holds up every connection of that loop while it runs. Child tasks inherit the preference;
    /// code isolated to an actor still runs on that actor.
    public func withPreferredExecutor<T, Failure: Error>(
        _ body: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        try await withTaskExecutorPreference(taskExecutor, operation: body)
    }

    /// Makes a unary call.
    ///
    /// Runs where the calling task runs (`nonisolated(nonsending)`): on the caller's actor, if it
    /// has one, or on its executor preference (``withPreferredExecutor(_:)``); only the request's
    /// encoding and the answer's decoding run there, the wait itself occupies nothing.
    @inlinable
    nonisolated(nonsending)
    public func unary<Request: ProtoMessage, Response: ProtoMessage>(
        method: String, request: Request, responseType: Response.Type = Response.self, options: CallOptions = .init()
    ) async throws(RPCError) -> Response {
        // Inlinable around a non-generic core, as `startUnary`: the caller's message types are
        // known where the request is encoded and the answer decoded.
        let frame = try encodeRequest(method: method, request: request, options: options)
        let body = try await unaryBody(frame: frame, timeout: options.timeout)
        do {
            return try Response(buffer: body)
        } catch {
            throw RPCError(code: .internalError, message: "the server's answer is not a valid \(Response.protoMessageName): \(error)")
        }
    }

    /// Makes a unary call and also returns the metadata the server sent with its answer.
    @inlinable
    nonisolated(nonsending)
    public func unaryWithMetadata<Request: ProtoMessage, Response: ProtoMessage>(
        method: String, request: Request, responseType: Response.Type = Response.self, options: CallOptions = .init()
    ) async throws(RPCError) -> (message: Response, metadata: Metadata) {
        let frame = try encodeRequest(method: method, request: request, options: options)
        let (metadata, body) = try await unaryMetadataAndBody(frame: frame, timeout: options.timeout)
        do {
            return (try Response(buffer: body), metadata)
        } catch {
            throw RPCError(code: .internalError, message: "the server's answer is not a valid \(Response.protoMessageName): \(error)")
        }
    }

    /// Makes a unary call from its encoded REQUEST frame; the metadata and body of an OK answer.
    @usableFromInline
    nonisolated(nonsending)
    func unaryMetadataAndBody(frame: ByteBuffer, timeout: Duration?) async throws(RPCError) -> (Metadata, ByteBuffer) {
        var end = try await unary(frame: frame, timeout: timeout)
        let head: EndHead
        do { head = try EndHead.read(from: &end) } catch { throw ClientConnection.malformedEnd(error) }
        guard head.status == .ok else {
            throw RPCError(code: head.status, message: head.message, metadata: head.metadata)
        }
        return (head.metadata, end)
    }

    /// Makes a unary call from its encoded REQUEST frame; the body of an OK answer. The answer's
    /// head is walked by its lengths without building its strings when the status is OK (the
    /// caller does not want the metadata), and read in full for the error otherwise.
    @usableFromInline
    nonisolated(nonsending)
    func unaryBody(frame: ByteBuffer, timeout: Duration?) async throws(RPCError) -> ByteBuffer {
        var end = try await unary(frame: frame, timeout: timeout)
        var body = end
        let status: RPCStatusCode
        do { status = try EndHead.skip(from: &body) } catch { throw ClientConnection.malformedEnd(error) }
        if status == .ok { return body }
        let head: EndHead
        do { head = try EndHead.read(from: &end) } catch { throw ClientConnection.malformedEnd(error) }
        throw RPCError(code: head.status, message: head.message, metadata: head.metadata)
    }

    /// Makes a unary call from its encoded REQUEST frame; the answer's END payload (head and body,
    /// not decoded), whatever its status.
    nonisolated(nonsending)
    func unary(frame: ByteBuffer, timeout: Duration?) async throws(RPCError) -> ByteBuffer {
        let timeout = timeout ?? configuration.defaultTimeout
        // First on the connection at hand, without asking it whether it is closing (`start` checks
        // that under its own lock anyway): a call it refuses for that was never sent, and goes to
        // a fresh connection without counting as an attempt.
        if let ready = readyConnection() {
            do {
                return try await ready.unary(frame: frame, timeout: timeout)
            } catch where !error.refused {
                guard error.notRun else { throw error.error }
                return try await unaryRetrying(frame: frame, timeout: timeout, attempt: 1)
            } catch {}
        }
        return try await unaryRetrying(frame: frame, timeout: timeout, attempt: 0)
    }

    /// The slow path of ``unary(frame:timeout:)``: waits for a usable connection (opening one if
    /// needed); a call the server never ran (it sent GOAWAY first) is sent again, up to 3 attempts.
    /// A call the connection refused before sending it (it had turned to closing since it was
    /// handed out: an idle GOAWAY on a loaded machine, say) goes to a fresh connection without
    /// counting as an attempt, up to 10 such refusals.
    nonisolated(nonsending)
    private func unaryRetrying(frame: ByteBuffer, timeout: Duration?, attempt: Int) async throws(RPCError) -> ByteBuffer {
        var attempt = attempt
        var refusals = 0
        while true {
            let connection = try await connection()
            do {
                return try await connection.unary(frame: frame, timeout: timeout)
            } catch {
                if error.refused {
                    refusals += 1
                    guard refusals < 10 else { throw error.error }
                    continue
                }
                // A call the server never ran (it sent GOAWAY first) is safe to send again once,
                // on a fresh connection.
                attempt += 1
                guard error.notRun, attempt < 3 else { throw error.error }
            }
        }
    }

    /// The open connection, without checking whether it still takes calls.
    private func readyConnection() -> ClientConnection? {
        state.withLockedValue { state in
            if case .ready(let connection) = state { return connection }
            return nil
        }
    }

    /// Starts a unary call without a task per call; `completion` runs once with the answer or the
    /// error, on the connection's event loop (or on the calling thread when the call cannot start).
    /// Meant for load generators and other callers that drive many calls from callbacks; most code
    /// wants ``unary(method:request:responseType:options:)``. It must not block.
    @inlinable
    public func startUnary<Request: ProtoMessage, Response: ProtoMessage>(
        method: String, request: Request, responseType: Response.Type = Response.self, options: CallOptions = .init(),
        completion: @escaping @Sendable (Result<Response, RPCError>) -> Void
    ) {
        // Inlinable, so that the caller's message types are known where the answer is decoded
        // (no generic metadata is looked up per call).
        let frame: ByteBuffer
        do { frame = try encodeRequest(method: method, request: request, options: options) } catch {
            completion(.failure(error))
            return
        }
        startUnary(frame: frame, timeout: options.timeout) { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let (head, body)):
                guard head.status == .ok else {
                    completion(.failure(RPCError(code: head.status, message: head.message, metadata: head.metadata)))
                    return
                }
                do {
                    completion(.success(try Response(buffer: body)))
                } catch {
                    completion(.failure(RPCError(code: .internalError, message: "the server's answer is not a valid \(Response.protoMessageName): \(error)")))
                }
            }
        }
    }

    /// Starts a unary call from its encoded REQUEST frame (see ``startUnary(method:request:responseType:options:completion:)``).
    @usableFromInline
    func startUnary(
        frame: ByteBuffer, timeout: Duration?, finish: @escaping @Sendable (Result<(EndHead, ByteBuffer), RPCError>) -> Void
    ) {
        let timeout = timeout ?? configuration.defaultTimeout
        let ready: ClientConnection? = state.withLockedValue { state in
            if case .ready(let connection) = state, connection.isUsable { return connection }
            return nil
        }
        if let ready {
            ready.unary(frame: frame, timeout: timeout, completion: finish)
            return
        }
        Task {
            do throws(RPCError) {
                try await self.connection().unary(frame: frame, timeout: timeout, completion: finish)
            } catch {
                finish(.failure(error))
            }
        }
    }

    /// Makes a server-streaming call; the call starts when iteration starts, and ends early when the
    /// iterating task is cancelled or the iterator is dropped.
    public func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        method: String, request: Request, responseType: Response.Type = Response.self, options: CallOptions = .init()
    ) -> RPCResponseStream<Response> {
        RPCResponseStream { () async throws(RPCError) -> ClientStreamHandle in
            let frame = try self.encodeRequest(method: method, request: request, options: options)
            let connection = try await self.connection()
            return connection.serverStreaming(frame: frame, timeout: options.timeout ?? self.configuration.defaultTimeout)
        }
    }

    /// The open connection, if any (for tests and diagnostics).
    var currentConnection: ClientConnection? {
        state.withLockedValue { state in
            if case .ready(let connection) = state { return connection }
            return nil
        }
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE and later calls with UNAVAILABLE.
    public func close() async {
        let current: ClientConnection? = state.withLockedValue { state in
            defer { state = .closed }
            if case .ready(let connection) = state { return connection }
            return nil
        }
        await current?.close()
    }

    @inlinable
    func encodeRequest<Request: ProtoMessage>(method: String, request: Request, options: CallOptions) throws(RPCError) -> ByteBuffer {
        var frame = ByteBufferAllocator().buffer(capacity: 128 + method.utf8.count)
        let timeout = options.timeout ?? configuration.defaultTimeout
        let micros: UInt64 = timeout.map { UInt64(clamping: max(1, $0.nanoseconds / 1000)) } ?? 0
        Self.writeRequestHeads(method: method, timeoutMicros: micros, metadata: options.metadata, to: &frame)
        request.serialize(into: &frame)
        frame.setInteger(UInt32(frame.readableBytes - 4), at: frame.readerIndex)
        return frame
    }

    /// Writes a REQUEST frame's header (its length left 0, its call id 0, both set later) and the
    /// request head. Without metadata (the common case) in one write to the buffer's bytes rather
    /// than one per field (each a dynamically checked access to the buffer's storage).
    @usableFromInline
    static func writeRequestHeads(method: String, timeoutMicros: UInt64, metadata: Metadata, to frame: inout ByteBuffer) {
        let methodLength = method.utf8.count
        guard metadata.isEmpty, methodLength <= Int(UInt16.max) else {
            frame.moveWriterIndex(forwardBy: Frame.headerSize)
            frame.setInteger(FrameType.request.rawValue, at: frame.readerIndex + 4)
            frame.setInteger(UInt8(0), at: frame.readerIndex + 5)
            RequestHead(method: method, timeoutMicros: timeoutMicros, metadata: metadata).write(to: &frame)
            return
        }
        let size = Frame.headerSize + 8 + 2 + methodLength + 2
        var method = method
        method.withUTF8 { name in
            frame.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                // length:u32 (set later) | type:u8 | flags:u8 | call id:u32 (set later)
                raw.storeBytes(of: 0, toByteOffset: 0, as: UInt32.self)
                raw.storeBytes(of: FrameType.request.rawValue, toByteOffset: 4, as: UInt8.self)
                raw.storeBytes(of: 0, toByteOffset: 5, as: UInt8.self)
                raw.storeBytes(of: 0, toByteOffset: 6, as: UInt32.self)
                // timeout_micros:u64 | method_len:u16 | method | metadata count:u16 (0)
                raw.storeBytes(of: timeoutMicros.bigEndian, toByteOffset: 10, as: UInt64.self)
                raw.storeBytes(of: UInt16(methodLength).bigEndian, toByteOffset: 18, as: UInt16.self)
                if methodLength > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: raw[20..<(20 + methodLength)]).copyMemory(from: UnsafeRawBufferPointer(name))
                }
                raw.storeBytes(of: 0, toByteOffset: 20 + methodLength, as: UInt16.self)
                return size
            }
        }
    }

    // MARK: Connection management

    nonisolated(nonsending)
    private func connection() async throws(RPCError) -> ClientConnection {
        enum Next { case use(ClientConnection), wait, connect, closed }
        // Fast path without a continuation.
        let fast: ClientConnection? = state.withLockedValue { state in
            if case .ready(let connection) = state, connection.isUsable { return connection }
            return nil
        }
        if let fast { return fast }

        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<ClientConnection, RPCError>, Never>) in
            let next: Next = state.withLockedValue { state in
                switch state {
                case .ready(let connection) where connection.isUsable:
                    return .use(connection)
                case .connecting(var waiters):
                    waiters.append(continuation)
                    state = .connecting(waiters)
                    return .wait
                case .closed:
                    return .closed
                case .idle, .ready:
                    state = .connecting([continuation])
                    return .connect
                }
            }
            switch next {
            case .use(let connection): continuation.resume(returning: .success(connection))
            case .wait: break
            case .closed: continuation.resume(returning: .failure(RPCError(code: .unavailable, message: "the client was closed")))
            case .connect: startConnecting()
            }
        }
        return try result.get()
    }

    private func startConnecting() {
        let host = self.host, port = self.port, configuration = self.configuration
        let target = "\(host):\(port)"
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = ClientConnection(channel: channel, target: target, configuration: configuration)
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ClientInboundHandler(connection: connection, keepalive: configuration.keepaliveInterval, maxFrameLength: configuration.maxFrameLength))
                }
            }
        bootstrap.connect(host: host, port: port).flatMap { channel in
            channel.pipeline.handler(type: ClientInboundHandler.self).map { $0.connection }
        }.whenComplete { result in
            let mapped: Result<ClientConnection, RPCError> = result.mapError { error in
                RPCError(code: .unavailable, message: "cannot connect to the server at \(target): \(error)")
            }
            let waiters: [CheckedContinuation<Result<ClientConnection, RPCError>, Never>] = self.state.withLockedValue { state in
                guard case .connecting(let waiters) = state else {
                    // close() ran meanwhile.
                    if case .success(let connection) = mapped { Task { await connection.close() } }
                    return []
                }
                switch mapped {
                case .success(let connection): state = .ready(connection)
                case .failure: state = .idle
                }
                return waiters
            }
            if case .success(let connection) = mapped { connection.sendHello() }
            for waiter in waiters { waiter.resume(returning: mapped) }
        }
    }
}

/// The messages of a server-streaming call (`for try await message in stream`).
public struct RPCResponseStream<Element: ProtoMessage>: AsyncSequence, Sendable {
    public typealias Failure = RPCError
    let start: @Sendable () async throws(RPCError) -> ClientStreamHandle

    init(start: @escaping @Sendable () async throws(RPCError) -> ClientStreamHandle) {
        self.start = start
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(start: start) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        private var start: (@Sendable () async throws(RPCError) -> ClientStreamHandle)?
        private var handle: ClientStreamHandle?
        private var iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator?

        init(start: @escaping @Sendable () async throws(RPCError) -> ClientStreamHandle) {
            self.start = start
        }

        public mutating func next() async throws(RPCError) -> Element? {
            try await next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(RPCError) -> Element? {
            if let start {
                self.start = nil
                let handle = try await start()
                self.handle = handle
                iterator = handle.stream.makeAsyncIterator()
            }
            guard var current = iterator else { return nil }
            do {
                let next = try await current.next(isolation: actor)
                iterator = current
                guard let bytes = next else {
                    iterator = nil
                    handle = nil
                    return nil
                }
                handle?.consumed(bytes.readableBytes)
                do {
                    return try Element(buffer: bytes)
                } catch {
                    iterator = nil
                    handle = nil
                    throw RPCError(code: .internalError, message: "the server sent a message that is not a valid \(Element.protoMessageName)")
                }
            } catch let error as RPCError {
                iterator = nil
                handle = nil
                throw error
            } catch {
                iterator = nil
                handle = nil
                throw RPCError(code: .cancelled, message: "the call was cancelled")
            }
        }
    }
}
