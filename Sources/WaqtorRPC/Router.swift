import Logging
import NIOCore

/// What a handler knows about the call it is serving.
public struct ServerContext: Sendable {
    /// The full method name, e.g. `waqtor.v1.HealthService/Ping`.
    public let method: String
    /// The metadata the caller sent.
    public let metadata: Metadata
    /// When the caller stops waiting, if it said so.
    public var deadline: ContinuousClock.Instant? {
        guard let deadlineUptimeNanos else { return nil }
        // Kept on NIO's clock (one clock read per socket read serves every call of that read) and
        // converted when asked for.
        let left = Int64(bitPattern: deadlineUptimeNanos &- NIODeadline.now().uptimeNanoseconds)
        return ContinuousClock.now.advanced(by: .nanoseconds(left))
    }
    /// The deadline as `NIODeadline.uptimeNanoseconds`.
    let deadlineUptimeNanos: UInt64?
    /// The call's request id (the caller's, or one the server made).
    public let requestID: String
    /// The peer's address, e.g. `127.0.0.1:51234`.
    public var peer: String { connection.peer }
    /// What the calls of one connection share (one reference to count instead of several).
    let connection: ConnectionContext
    /// The method's metrics (nil when the server records none, and in contexts tests build).
    let metrics: MethodMetrics?

    /// A context as the server makes it (tests build their own).
    public init(
        method: String, metadata: Metadata, deadline: ContinuousClock.Instant?, requestID: String,
        peer: String, logger: Logger
    ) {
        self.init(method: method, metadata: metadata, deadline: deadline, requestID: requestID, peer: peer, logger: logger, drain: ServerDrain())
    }

    /// A context whose ``isDraining`` follows `drain` (tests of streaming handlers).
    public init(
        method: String, metadata: Metadata, deadline: ContinuousClock.Instant?, requestID: String,
        peer: String, logger: Logger, drain: ServerDrain
    ) {
        self.method = method
        self.metadata = metadata
        self.deadlineUptimeNanos = deadline.map { deadline in
            let nanos = ContinuousClock.now.duration(to: deadline).nanoseconds  // saturating
            let now = NIODeadline.now().uptimeNanoseconds
            if nanos <= 0 { return now &- min(now, UInt64(-(nanos + 1)) &+ 1) }
            let (at, overflow) = now.addingReportingOverflow(UInt64(nanos))
            return overflow || at > UInt64(Int64.max) ? UInt64(Int64.max) : at
        }
        self.requestID = requestID
        self.connection = ConnectionContext(peer: peer, logger: logger, drain: drain)
        self.metrics = nil
    }

    init(
        method: String, metadata: Metadata, deadlineUptimeNanos: UInt64?, requestID: String,
        connection: ConnectionContext, metrics: MethodMetrics? = nil
    ) {
        self.method = method
        self.metadata = metadata
        self.deadlineUptimeNanos = deadlineUptimeNanos
        self.requestID = requestID
        self.connection = connection
        self.metrics = metrics
    }

    /// Whether the server logs a line per call (its logger is at debug level or finer).
    public var logsCalls: Bool { connection.logsCalls }

    /// Whether the call's end is logged or measured, so its start time is worth taking.
    var observesCalls: Bool { metrics != nil || connection.logsCalls }

    /// A logger whose metadata carries `request-id` and `method` (built on first use, so that calls
    /// that do not log do not pay for it).
    public var logger: Logger {
        var logger = connection.logger
        logger[metadataKey: "request-id"] = .string(requestID)
        logger[metadataKey: "method"] = .string(method)
        return logger
    }
}

/// The part of a call's context that all calls of a connection share.
final class ConnectionContext: Sendable {
    let peer: String
    let logger: Logger
    /// The logger's level, read once per connection rather than per call.
    let logsCalls: Bool
    /// The server's graceful-shutdown signal.
    let drain: ServerDrain

    init(peer: String, logger: Logger, drain: ServerDrain) {
        self.peer = peer
        self.logger = logger
        self.drain = drain
        self.logsCalls = logger.logLevel <= .debug
    }
}

/// Sends the messages of a server-streaming call. `send` suspends while the connection cannot take
/// more (back-pressure) and throws once the call is over (cancelled, deadline passed, connection gone).
public struct ServerStreamWriter<Message: ProtoMessage>: Sendable {
    @usableFromInline
    let sink: @Sendable (ByteBuffer) async throws -> Void

    public init(sink: @escaping @Sendable (ByteBuffer) async throws -> Void) {
        self.sink = sink
    }

    /// Sends one message to the caller.
    public func send(_ message: Message) async throws {
        var buffer = ByteBuffer.withReservedHead()
        message.serialize(into: &buffer)
        try await sink(buffer)
    }
}

/// A method's handler with its messages type-erased to bytes, as the server runs it.
public enum RPCMethodHandler: Sendable {
    /// One request, one response.
    case unary(@Sendable (ByteBuffer, ServerContext) async throws -> ByteBuffer)
    /// One request, a stream of responses.
    case serverStreaming(@Sendable (ByteBuffer, ServerContext, ServerStreamWriter<RawMessage>) async throws -> Void)
    /// One request, one response, answered without suspending: run on the connection's event loop
    /// as the request is read, with no task, appending the response's encoding to the buffer it is
    /// given (the connection's outgoing batch). See ``RPCRouter/registerInlineUnary(_:request:response:handler:)``.
    case inlineUnary(@Sendable (ByteBuffer, ServerContext, inout ByteBuffer) throws -> Void)
}

/// Bytes passed through as they are (the type-erased form of a streamed message).
public struct RawMessage: ProtoMessage {
    public static var protoMessageName: String { "bytes" }
    public var bytes: ByteBuffer
    public init() { bytes = ByteBuffer() }
    public init(bytes: ByteBuffer) { self.bytes = bytes }
    public init(serializedBytes bytes: UnsafeRawBufferPointer) throws(ProtoDecodingError) {
        self.bytes = ByteBuffer(bytes: bytes)
    }
    public func serialize(into buffer: inout ByteBuffer) {
        var copy = bytes
        buffer.writeBuffer(&copy)
    }
}

/// Maps method names to handlers. Generated service code registers into it
/// (`SomeServiceHandler.register(into:)`).
public struct RPCRouter: Sendable {
    public private(set) var handlers: [String: RPCMethodHandler] = [:]

    public init() {}

    /// The registered method names, sorted.
    public var methods: [String] { handlers.keys.sorted() }

    /// Registers a unary method. A later registration of the same name replaces the earlier one.
    public mutating func registerUnary<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        request: Request.Type = Request.self,
        response: Response.Type = Response.self,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        handlers[method] = .unary { bytes, context in
            let request = try Request(buffer: bytes)
            let response = try await handler(request, context)
            var out = ByteBuffer.withReservedHead()
            response.serialize(into: &out)
            return out
        }
    }

    /// Registers a unary method whose handler answers at once, without awaiting anything: it runs
    /// on the connection's event loop while the request is being read, without a Swift task, and
    /// its answer goes out in the same write as the other answers of that read.
    ///
    /// Only for work of a few microseconds that never blocks (Ping): while it runs, no other
    /// connection of that event loop is served. Anything that does I/O or may take longer belongs
    /// in ``registerUnary(_:request:response:handler:)``.
    public mutating func registerInlineUnary<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        request: Request.Type = Request.self,
        response: Response.Type = Response.self,
        handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        handlers[method] = .inlineUnary { bytes, context, out in
            let request = try Request(buffer: bytes)
            let response = try handler(request, context)
            response.serialize(into: &out)
        }
    }

    /// Registers a server-streaming method.
    public mutating func registerServerStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: String,
        request: Request.Type = Request.self,
        response: Response.Type = Response.self,
        handler: @escaping @Sendable (Request, ServerContext, ServerStreamWriter<Response>) async throws -> Void
    ) {
        handlers[method] = .serverStreaming { bytes, context, raw in
            let request = try Request(buffer: bytes)
            let typed = ServerStreamWriter<Response>(sink: raw.sink)
            try await handler(request, context, typed)
        }
    }
}

extension ByteBuffer {
    /// Bytes kept free in front of a serialized message so that the frame head (and an END's
    /// status and request id) can be written in place, without a second buffer.
    public static let reservedHeadSize = 128

    /// An empty buffer whose reader and writer indices sit after ``reservedHeadSize`` free bytes.
    public static func withReservedHead(capacity: Int = 256) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        buffer.moveWriterIndex(forwardBy: reservedHeadSize)
        buffer.moveReaderIndex(forwardBy: reservedHeadSize)
        return buffer
    }
}

/// Runs around every call of the methods it is installed on (authentication, auditing), before the
/// request message is decoded. It may throw to refuse the call, or run `next` inside a scope
/// (for example a task-local value the handler reads).
public protocol RPCInterceptor: Sendable {
    func intercept<Result: Sendable>(
        context: ServerContext, next: @Sendable () async throws -> Result
    ) async throws -> Result

    /// Whether the interceptor has nothing to do for any call of `method` (a public method, for an
    /// authentication interceptor), so that the method is left unwrapped. Defaults to false.
    func passesThrough(method: String) -> Bool
}

extension RPCInterceptor {
    public func passesThrough(method: String) -> Bool { false }
}

extension RPCRouter {
    /// Wraps every method registered so far with `interceptor` (register the services first),
    /// except those it passes through. An inline method it wraps becomes an ordinary unary one
    /// (the interceptor may suspend).
    public mutating func intercept(with interceptor: some RPCInterceptor) {
        for (method, handler) in handlers where !interceptor.passesThrough(method: method) {
            switch handler {
            case .inlineUnary(let inner):
                handlers[method] = .unary { bytes, context in
                    try await interceptor.intercept(context: context) {
                        var out = ByteBuffer.withReservedHead()
                        try inner(bytes, context, &out)
                        return out
                    }
                }
            case .unary(let inner):
                handlers[method] = .unary { bytes, context in
                    try await interceptor.intercept(context: context) { try await inner(bytes, context) }
                }
            case .serverStreaming(let inner):
                handlers[method] = .serverStreaming { bytes, context, writer in
                    try await interceptor.intercept(context: context) { try await inner(bytes, context, writer) }
                }
            }
        }
    }
}
