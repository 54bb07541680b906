import CoreMetrics
import WaqtorCore
import WaqtorPostgres
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import WaqtorTenants
import WaqtorInstances

/// The header carrying the per-instance webhook secret (set in the gateway's webhook `headers`).
public let webhookSecretHeader = "x-waqtor-webhook-secret"

/// What the listener answers one request with.
struct WebhookOutcome: Sendable {
    var status: HTTPResponseStatus
    var body: String
    /// Sent as `Retry-After` (seconds) when set.
    var retryAfterSeconds: Int? = nil

    static func json(_ status: HTTPResponseStatus, _ fields: [String: String]) -> WebhookOutcome {
        let text = fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\(jsonString($0.value))" }.joined(separator: ",")
        return WebhookOutcome(status: status, body: "{\(text)}")
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> WebhookOutcome {
        json(status, ["error": message])
    }

    static func jsonString(_ s: String) -> String {
        if s == "true" || s == "false" { return s }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Authenticates, parses and stores one webhook delivery. Independent of the HTTP layer.
struct WebhookProcessor: Sendable {
    let instances: InstanceStore
    let logger: Logger
    /// Events without a connection change are stored in batches (group commit).
    var batcher: EventBatcher? = nil
    /// Gateway names resolved in the last 2 s.
    var targets: TargetCache? = nil
    /// Runs after authentication, before the event is stored (tests use it to race a deletion).
    var beforeStore: (@Sendable (WebhookTarget) async -> Void)? = nil
    /// Runs after a new event is stored, before the answer (the chat projector's wake-up, the live
    /// feed's number state): the event's name and whether it was a connection event.
    var afterStore: (@Sendable (WebhookTarget, String, Bool) async -> Void)? = nil
    /// Deliveries by event and outcome (nil: none recorded).
    var metrics: WebhookMetrics? = nil

    /// Gateway names we ever create: `wq-…`, lowercase letters, digits and hyphens.
    static func plausibleGatewayName(_ name: String) -> Bool {
        (3...64).contains(name.utf8.count) && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    func process(gatewayName: String, secret: String?, body: [UInt8]) async -> WebhookOutcome {
        let started = ContinuousClock.now
        let (outcome, event, label) = await handle(gatewayName: gatewayName, secret: secret, body: body)
        metrics?.record(event: event, outcome: label, since: started)
        return outcome
    }

    /// ``process(gatewayName:secret:body:)`` with what the metrics count: the event's name (nil
    /// before it is parsed) and the outcome's label.
    private func handle(gatewayName: String, secret: String?, body: [UInt8]) async -> (WebhookOutcome, String?, String) {
        // 1. Authentication: nothing is parsed or stored before the instance's secret is checked.
        let target: WebhookTarget?
        do {
            if let cached = targets?.get(gatewayName) {
                target = cached
            } else {
                target = Self.plausibleGatewayName(gatewayName) ? try await instances.resolveWebhookTarget(gatewayName: gatewayName) : nil
                if let target { targets?.put(gatewayName, target) }
            }
        } catch {
            logger.error("webhook: instance lookup failed", metadata: ["error": "\(error)"])
            return (.error(.serviceUnavailable, "try again later"), nil, "unavailable")
        }
        guard let target, let secret, target.accepts(secret: secret) else {
            // Same work whether the instance is unknown or the secret wrong.
            if target == nil { _ = WebhookTarget(instanceID: InstanceID(trusted: ""), tenantID: TenantID(trusted: ""), secretHash: [UInt8](repeating: 0, count: 32)).accepts(secret: secret ?? "") }
            logger.notice("webhook: refused", metadata: ["gateway-name": "\(gatewayName.prefix(64))", "reason": target == nil ? "unknown instance" : "bad secret"])
            return (.error(.unauthorized, "unauthorized"), nil, "unauthorized")
        }
        // 2. The envelope.
        let envelope: WebhookEnvelope
        do {
            envelope = try WebhookEnvelope.parse(body)
        } catch {
            switch error {
            case .malformedJSON: return (.error(.badRequest, "malformed JSON"), nil, "bad_request")
            case .notAnEnvelope(let why): return (.error(.badRequest, "not a webhook envelope: \(why)"), nil, "bad_request")
            }
        }
        // 3. Durable before 200; a repeated delivery is acknowledged and changes nothing.
        await beforeStore?(target)
        do {
            let payload = String(decoding: body, as: UTF8.self)
            let recorded: RecordedEvent
            if envelope.connectionEvent == nil, let batcher {
                recorded = try await batcher.record(PlainEvent(target: target, event: envelope.event, dedupeKey: envelope.dedupeKey, payload: payload))
            } else {
                recorded = try await instances.recordEvent(
                    target, event: envelope.event, dedupeKey: envelope.dedupeKey,
                    payload: payload, connectionEvent: envelope.connectionEvent, at: envelope.time)
            }
            logger.debug("webhook: event", metadata: [
                "instance-id": "\(target.instanceID)", "event": "\(envelope.event)", "outcome": "\(recorded)",
            ])
            switch recorded {
            case .stored:
                await afterStore?(target, envelope.event, envelope.connectionEvent != nil)
                return (.json(.ok, ["ok": "true", "duplicate": "false"]), envelope.event, "stored")
            case .duplicate: return (.json(.ok, ["ok": "true", "duplicate": "true"]), envelope.event, "duplicate")
            case .instanceGone:
                // Deleted while this delivery was in flight: there is nothing to store it for, and
                // a retry would find nothing either. The gateway does not retry a 404.
                return (.error(.notFound, "the instance was deleted"), envelope.event, "instance_gone")
            }
        } catch let error as TenantStoreError where error.underlying?.sqlState?.hasPrefix("22") == true {
            // JSON that PostgreSQL's jsonb refuses (e.g. \u0000 in a string: 22P05): a data
            // exception, not an outage; a retry would fail the same way.
            return (.error(.badRequest, "the event cannot be stored as JSON"), envelope.event, "bad_request")
        } catch {
            logger.error("webhook: storing the event failed", metadata: ["instance-id": "\(target.instanceID)", "error": "\(error)"])
            return (.error(.serviceUnavailable, "try again later"), envelope.event, "unavailable")
        }
    }
}

public struct WebhookServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var maxBodyBytes: Int
    /// Requests accepted and not answered yet (body being read, or being authenticated and
    /// stored, waiting for the batcher included). A request that would pass it is answered 503
    /// with `Retry-After` from its head, before its body is read. Bounds what a flood can hold:
    /// at most this many bodies (each ≤ `maxBodyBytes`) and this many deliveries in the pipeline.
    public var maxInFlight: Int
    /// The `Retry-After` of a shed request, in seconds.
    public var retryAfterSeconds: Int
    /// Connections open at once; one more is closed as soon as it is accepted.
    public var maxConnections: Int
    /// A connection with no bytes read for this long (and no request in progress) is closed.
    public var idleTimeout: TimeAmount
    /// How long requests in flight get to finish at shutdown.
    public var shutdownGrace: Duration

    public init(host: String = "127.0.0.1", port: Int = 7421, maxBodyBytes: Int = 1 << 20,
                maxInFlight: Int = 256, retryAfterSeconds: Int = 2, maxConnections: Int = 10_000,
                idleTimeout: TimeAmount = .seconds(60), shutdownGrace: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxInFlight = max(1, maxInFlight)
        self.retryAfterSeconds = max(1, retryAfterSeconds)
        self.maxConnections = max(1, maxConnections)
        self.idleTimeout = idleTimeout
        self.shutdownGrace = shutdownGrace
    }
}

/// The HTTP/1.1 listener for the Evolution API's webhooks (docs/WEBHOOKS.md):
/// `POST /webhooks/evolution/{gateway_name}[/{kebab-event}]`.
public final class WebhookServer: Sendable {
    public let configuration: WebhookServerConfiguration
    let processor: WebhookProcessor
    private let logger: Logger
    private let group: any EventLoopGroup

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var inFlight = 0
        var shuttingDown = false
    }
    private let state = NIOLockedValueBox(State())

    /// The listener's own event loop (one thread, for the process's lifetime, as NIO's singleton):
    /// a flood of webhook requests is read and answered there, never on the event loops that
    /// serve the RPC connections, whose reads would otherwise wait behind hundreds of webhook
    /// connections in each loop round (docs/RELIABILITY.md, "webhook flood").
    public static let listenerEventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    public convenience init(
        configuration: WebhookServerConfiguration, instances: InstanceStore, logger: Logger,
        eventLoopGroup: any EventLoopGroup = WebhookServer.listenerEventLoopGroup,
        afterStore: (@Sendable (WebhookTarget, String, Bool) async -> Void)? = nil,
        metrics: (any MetricsFactory)? = nil
    ) {
        self.init(configuration: configuration,
                  processor: WebhookProcessor(instances: instances, logger: logger, batcher: EventBatcher(store: instances), targets: TargetCache(),
                                             afterStore: afterStore, metrics: metrics.map(WebhookMetrics.init)),
                  logger: logger, eventLoopGroup: eventLoopGroup)
    }

    init(configuration: WebhookServerConfiguration, processor: WebhookProcessor, logger: Logger,
         eventLoopGroup: any EventLoopGroup = WebhookServer.listenerEventLoopGroup) {
        self.configuration = configuration
        self.processor = processor
        self.logger = logger
        self.group = eventLoopGroup
    }

    /// The port listened on (useful with port 0), once started.
    public var localPort: Int? { state.withLockedValue { $0.listener?.localAddress?.port } }

    public func start() async throws {
        let configuration = self.configuration
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                guard admit(channel) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(WebhookHTTPHandler(server: self, maxBodyBytes: configuration.maxBodyBytes))
                }
            }
        let listener = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        state.withLockedValue { $0.listener = listener }
        logger.info("webhook listener listening", metadata: ["address": "\(configuration.host):\(listener.localAddress?.port ?? 0)"])
    }

    private func admit(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state in
            guard !state.shuttingDown, state.connections.count < configuration.maxConnections else { return false }
            state.connections[key] = channel
            return true
        }
        guard admitted else {
            processor.metrics?.recordRefusedConnection()
            return false
        }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLockedValue { _ = $0.connections.removeValue(forKey: key) }
        }
        return true
    }

    /// Takes a place for one request if fewer than `maxInFlight` are in flight; false: shed it.
    func requestStarting() -> Bool {
        let limit = configuration.maxInFlight
        return state.withLockedValue { state in
            guard state.inFlight < limit else { return false }
            state.inFlight += 1
            return true
        }
    }
    func requestFinished() { state.withLockedValue { $0.inFlight -= 1 } }

    /// Requests accepted and not answered yet.
    var requestsInFlight: Int { state.withLockedValue { $0.inFlight } }
    /// Connections open.
    var openConnections: Int { state.withLockedValue { $0.connections.count } }

    /// The answer to a request shed because `maxInFlight` requests are in flight.
    var shedOutcome: WebhookOutcome {
        let seconds = configuration.retryAfterSeconds
        var outcome = WebhookOutcome.error(.serviceUnavailable,
            "busy: \(configuration.maxInFlight) webhook requests in progress (webhook.max_in_flight); nothing was stored, retry after \(seconds) s")
        outcome.retryAfterSeconds = seconds
        return outcome
    }

    /// Stops accepting, lets requests in flight finish (up to the grace period), closes every connection.
    public func shutdown() async {
        let listener = state.withLockedValue { state -> (any Channel)? in
            state.shuttingDown = true
            defer { state.listener = nil }
            return state.listener
        }
        try? await listener?.close()
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.shutdownGrace
        while state.withLockedValue({ $0.inFlight }) > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let connections = state.withLockedValue { Array($0.connections.values) }
        for connection in connections { try? await connection.close() }
        logger.info("webhook listener stopped")
    }
}

/// One connection: routes, checks the head, takes a place among the requests in flight (or sheds
/// the request), reads the body up to the limit, then hands the request to the processor off the
/// event loop and writes its answer.
final class WebhookHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private struct Pending {
        var gatewayName: String
        var secret: String?
        var version: HTTPVersion
        var keepAlive: Bool
    }

    private enum State {
        case idle
        case receiving(Pending)
        case processing
        /// A shed request on a kept-alive connection: its body is read and dropped (never kept),
        /// then the 503 is written and the connection serves the next request. `discarded`
        /// counts the bytes dropped (a body past the size limit is answered 413 and closed).
        case discarding(version: HTTPVersion, discarded: Int)
        /// An answer was sent with `connection: close`; nothing more is read.
        case closing
    }

    private let server: WebhookServer
    private let maxBodyBytes: Int
    private var state = State.idle
    private var body = ByteBuffer()
    /// Whether this connection holds one of the server's places for requests in flight (from an
    /// admitted head until the body is handed to the processor, whose task then holds it).
    private var holdsPlace = false

    init(server: WebhookServer, maxBodyBytes: Int) {
        self.server = server
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            switch Self.route(head, maxBodyBytes: maxBodyBytes) {
            case .failure(let refusal):
                reject(context: context, version: head.version, refusal.outcome)
            case .success(let pending):
                // Shed from the head: nothing is accepted, nothing is lost. On a kept-alive
                // connection the body is dropped as it comes and the 503 goes after it, so that
                // the sender keeps its connection (a flood of reconnections costs both sides
                // more than the requests themselves); otherwise answered at once and closed.
                guard server.requestStarting() else {
                    server.processor.metrics?.recordShed()
                    if pending.keepAlive {
                        state = .discarding(version: head.version, discarded: 0)
                    } else {
                        reject(context: context, version: head.version, server.shedOutcome)
                    }
                    return
                }
                holdsPlace = true
                body.clear()
                state = .receiving(pending)
            }
        case .body(var chunk):
            if case .discarding(let version, let discarded) = state {
                let total = discarded + chunk.readableBytes
                guard total <= maxBodyBytes else {
                    reject(context: context, version: version, .error(.payloadTooLarge, "the body is larger than \(maxBodyBytes) bytes"))
                    return
                }
                state = .discarding(version: version, discarded: total)
                return
            }
            guard case .receiving(let pending) = state else { return }
            guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                body = ByteBuffer()
                reject(context: context, version: pending.version, .error(.payloadTooLarge, "the body is larger than \(maxBodyBytes) bytes"))
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            if case .discarding(let version, _) = state {
                state = .idle
                write(context: context, version: version, server.shedOutcome, keepAlive: true)
                return
            }
            guard case .receiving(let pending) = state else { return }
            state = .processing
            holdsPlace = false  // the processing task gives the place back
            let bytes = Array(body.readableBytesView)
            body = ByteBuffer()
            let processor = server.processor
            let server = self.server
            let loop = context.eventLoop
            let boundSelf = NIOLoopBound(self, eventLoop: loop)
            let boundContext = NIOLoopBound(context, eventLoop: loop)
            Task {
                let outcome = await processor.process(gatewayName: pending.gatewayName, secret: pending.secret, body: bytes)
                loop.execute {
                    // The place is free before the answer leaves: whoever got it may send again.
                    server.requestFinished()
                    boundSelf.value.finish(context: boundContext.value, pending: pending, outcome)
                }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if case .processing = state { return }
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        releasePlace()  // the client went away in the middle of a body
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releasePlace()
    }

    private func releasePlace() {
        guard holdsPlace else { return }
        holdsPlace = false
        server.requestFinished()
    }

    private func finish(context: ChannelHandlerContext, pending: Pending, _ outcome: WebhookOutcome) {
        guard case .processing = state else { return }
        state = .idle
        write(context: context, version: pending.version, outcome, keepAlive: pending.keepAlive)
    }

    /// Answers at once and closes the connection without reading the rest of the request.
    private func reject(context: ChannelHandlerContext, version: HTTPVersion, _ outcome: WebhookOutcome) {
        releasePlace()
        state = .closing
        write(context: context, version: version, outcome, keepAlive: false)
        // Stop reading (nothing more is buffered); the client reads the answer and closes, or
        // the connection is closed shortly.
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    private func write(context: ChannelHandlerContext, version: HTTPVersion, _ outcome: WebhookOutcome, keepAlive: Bool) {
        var buffer = context.channel.allocator.buffer(capacity: outcome.body.utf8.count)
        buffer.writeString(outcome.body)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(buffer.readableBytes))
        if let seconds = outcome.retryAfterSeconds { headers.add(name: "retry-after", value: String(seconds)) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: outcome.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let flushed = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            flushed.whenComplete { _ in channel.close(mode: .output, promise: nil) }
        }
    }

    /// The route and the head's checks: method, path, content type, declared length.
    private static func route(_ head: HTTPRequestHead, maxBodyBytes: Int) -> Result<Pending, WebhookOutcomeError> {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 3 || parts.count == 4, parts[0] == "webhooks", parts[1] == "evolution" else {
            return .failure(WebhookOutcomeError(.error(.notFound, "not found")))
        }
        guard head.method == .POST else {
            return .failure(WebhookOutcomeError(.error(.methodNotAllowed, "only POST")))
        }
        let contentType = head.headers.first(name: "content-type") ?? ""
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard mediaType == "application/json" else {
            return .failure(WebhookOutcomeError(.error(.unsupportedMediaType, "the body must be application/json")))
        }
        if let declared = head.headers.first(name: "content-length").flatMap({ Int($0) }), declared > maxBodyBytes {
            return .failure(WebhookOutcomeError(.error(.payloadTooLarge, "the body is larger than \(maxBodyBytes) bytes")))
        }
        return .success(Pending(
            gatewayName: parts[2], secret: head.headers.first(name: webhookSecretHeader), version: head.version, keepAlive: head.isKeepAlive))
    }
}

/// A refusal decided from the request head.
struct WebhookOutcomeError: Error {
    var outcome: WebhookOutcome
    init(_ outcome: WebhookOutcome) { self.outcome = outcome }
}
