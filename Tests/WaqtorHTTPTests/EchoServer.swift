import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server for the client tests, on 127.0.0.1 and a kernel-chosen port.
///
/// It answers every request with the request body, and `x-echo-method`, `x-echo-path` and
/// `x-echo-header-<name>` headers describing what it received. A path starting `/delay/<ms>`
/// answers after that many milliseconds. It counts accepted connections and reports each request
/// head as it arrives (``requests``), so tests await events instead of sleeping.
final class EchoServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let counters: NIOLockedValueBox<(connections: Int, closed: Int)>
    /// One element per request head received: its path.
    let requests: AsyncStream<String>

    var acceptedConnections: Int { counters.withLockedValue { $0.connections } }
    var closedConnections: Int { counters.withLockedValue { $0.closed } }

    static func start() async throws -> EchoServer {
        let counters = NIOLockedValueBox((connections: 0, closed: 0))
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let channel = try await ServerBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.withLockedValue { $0.connections += 1 }
                channel.closeFuture.whenComplete { _ in counters.withLockedValue { $0.closed += 1 } }
                return channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(EchoHandler(requests: continuation))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return EchoServer(port: channel.localAddress!.port!, channel: channel, counters: counters, requests: stream)
    }

    private init(port: Int, channel: any Channel, counters: NIOLockedValueBox<(connections: Int, closed: Int)>, requests: AsyncStream<String>) {
        self.port = port
        self.channel = channel
        self.counters = counters
        self.requests = requests
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func stop() async throws {
        try await channel.close()
    }
}

/// Not Sendable: lives on its channel's event loop.
private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let requests: AsyncStream<String>.Continuation
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    init(requests: AsyncStream<String>.Continuation) { self.requests = requests }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = context.channel.allocator.buffer(capacity: 0)
            requests.yield(head.uri)
        case .body(var chunk):
            body?.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            let body = self.body ?? context.channel.allocator.buffer(capacity: 0)
            self.head = nil
            var headers = HTTPHeaders()
            headers.add(name: "x-echo-method", value: head.method.rawValue)
            headers.add(name: "x-echo-path", value: head.uri)
            for (name, value) in head.headers { headers.add(name: "x-echo-header-\(name.lowercased())", value: value) }
            headers.add(name: "content-length", value: String(body.readableBytes))
            let response = HTTPResponseHead(version: head.version, status: .ok, headers: headers)
            let respond = { [context] in
                context.write(self.wrapOutboundOut(.head(response)), promise: nil)
                context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
            if head.uri.hasPrefix("/delay/"), let ms = Int64(head.uri.dropFirst(7).prefix { $0.isNumber }) {
                let loopBound = NIOLoopBound((context, respond), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(ms)) {
                    let (context, respond) = loopBound.value
                    if context.channel.isActive { respond() }
                }
            } else {
                respond()
            }
        }
    }
}
