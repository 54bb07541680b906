import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin listener (`admin.host`:`admin.port`, loopback by default): what operators and their
/// monitoring read, apart from the RPC port that clients use.
///
/// - `GET /metrics`: every metric in Prometheus's text format (docs/OPERATIONS.md lists them);
/// - `GET /health/live`: 200 while the process runs;
/// - `GET /health/ready`: 200 or 503 with each dependency's state, address and error in JSON (the
///   details the public `HealthService.Readiness` leaves out).
/// Anything else is 404; methods other than GET (and HEAD) are 405.
public final class AdminServer: Sendable {
    /// What the routes answer with; the application provides them.
    public struct Routes: Sendable {
        public var metrics: @Sendable () -> [UInt8]
        /// JSON, and whether everything is ready.
        public var readiness: @Sendable () async -> (ready: Bool, json: [UInt8])

        public init(metrics: @escaping @Sendable () -> [UInt8], readiness: @escaping @Sendable () async -> (ready: Bool, json: [UInt8])) {
            self.metrics = metrics
            self.readiness = readiness
        }
    }

    let host: String
    let port: Int
    let routes: Routes
    let logger: Logger
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    public init(host: String, port: Int, routes: Routes, logger: Logger) {
        self.host = host
        self.port = port
        self.routes = routes
        self.logger = logger
    }

    /// The bound port (useful with port 0), once started.
    public var localPort: Int? { channel.withLockedValue { $0?.localAddress?.port } }

    /// Binds and starts answering.
    public func start() async throws {
        let routes = self.routes
        let bound = try await ServerBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                }
            }
            .bind(host: host, port: port).get()
        channel.withLockedValue { $0 = bound }
        logger.info("admin listener started", metadata: ["admin": .string("\(host):\(bound.localAddress?.port ?? port)")])
    }

    /// Stops listening (scrapes in progress finish on their own connections).
    public func shutdown() async {
        let bound = channel.withLockedValue { value in defer { value = nil }; return value }
        try? await bound?.close()
    }
}

/// Not Sendable: lives on its channel's event loop. One request at a time per connection.
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: AdminServer.Routes
    private var head: HTTPRequestHead?

    init(routes: AdminServer.Routes) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break  // no route takes a body
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let routes = self.routes
            let bound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
            let isGet = head.method == .GET || head.method == .HEAD
            context.eventLoop.makeFutureWithTask { () async -> (Int, String, [UInt8]) in
                guard isGet else { return (405, "text/plain; charset=utf-8", Array("only GET\n".utf8)) }
                switch path {
                case "/metrics": return (200, "text/plain; version=0.0.4; charset=utf-8", routes.metrics())
                case "/health/live": return (200, "text/plain; charset=utf-8", Array("ok\n".utf8))
                case "/health/ready":
                    let (ready, json) = await routes.readiness()
                    return (ready ? 200 : 503, "application/json", json)
                default: return (404, "text/plain; charset=utf-8", Array("not found: GET /metrics, /health/live or /health/ready\n".utf8))
                }
            }.whenSuccess { status, contentType, body in
                let (context, handler) = bound.value
                handler.write(status: status, contentType: contentType, body: head.method == .HEAD ? [] : body,
                              length: body.count, head: head, context: context)
            }
        }
    }

    private func write(status: Int, contentType: String, body: [UInt8], length: Int, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(length))
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: status), headers: headers))), promise: nil)
        if !body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !head.isKeepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
