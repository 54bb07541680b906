import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Not Sendable: lives on its channel's event loop. Gathers one request, hands it to the
/// simulator, writes the answer.
final class SimulatorHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let simulator: EvolutionSimulator
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(simulator: EvolutionSimulator) { self.simulator = simulator }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = []
        case .body(let chunk):
            body += chunk.readableBytesView
        case .end:
            guard let head else { return }
            self.head = nil
            let request = RecordedRequest(
                method: head.method.rawValue, path: head.uri,
                headers: head.headers.map { RecordedRequest.Header(name: $0.name, value: $0.value) },
                body: body
            )
            body = []
            let keepAlive = head.isKeepAlive
            let version = head.version
            let simulator = self.simulator
            let bound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask { await simulator.handle(request) }.whenSuccess { response in
                let (context, handler) = bound.value
                let answeredAt = ContinuousClock.now
                guard context.channel.isActive else {
                    if let sequence = response.sendSequence { simulator.settleSend(sequence, answeredAt: answeredAt, written: false) }
                    return
                }
                if let sequence = response.sendSequence { simulator.settleSend(sequence, answeredAt: answeredAt, written: true) }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: response.contentType ?? "application/json; charset=utf-8")
                headers.add(name: "Content-Length", value: String(response.headLength ?? response.body.count))
                if !keepAlive { headers.add(name: "Connection", value: "close") }
                let status = HTTPResponseStatus(statusCode: response.status)
                context.write(handler.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
                if response.headLength == nil {
                    var buffer = context.channel.allocator.buffer(capacity: response.body.count)
                    buffer.writeBytes(response.body)
                    context.write(handler.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                }
                let done = context.writeAndFlush(handler.wrapOutboundOut(.end(nil)))
                if !keepAlive {
                    let channel = context.channel
                    done.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }
    }
}

extension EvolutionSimulator {
    static func bind(host: String, port: Int, simulator: EvolutionSimulator) async throws -> any Channel {
        try await ServerBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                simulator.track(channel)
                return channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(SimulatorHTTPHandler(simulator: simulator))
                }
            }
            .bind(host: host, port: port).get()
    }
}
