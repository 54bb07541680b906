import NIOCore
import NIOHTTP1
import NIOPosix

/// Not Sendable: lives on its channel's event loop. Gathers one request (up to the body limit),
/// asks the stand-in for the answer, and writes it, after the answer's delay when it has one.
final class StandInHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies over 1 MiB are answered 413; their bytes are read and dropped so the connection can
    /// be kept alive.
    static let maxBodyBytes = 1 << 20

    private let standIn: OpenRouterStandIn
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false

    init(standIn: OpenRouterStandIn) { self.standIn = standIn }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            bodyTooLarge = false
        case .body(let chunk):
            guard !bodyTooLarge else { return }
            if body.count + chunk.readableBytes > Self.maxBodyBytes {
                bodyTooLarge = true
                body = []
            } else {
                body += chunk.readableBytesView
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let request = RecordedRequest(
                method: head.method.rawValue, path: head.uri,
                headers: head.headers.map { (name: $0.name, value: $0.value) }, body: body
            )
            body = []
            let response = standIn.respond(to: request, bodyTooLarge: bodyTooLarge)
            let keepAlive = head.isKeepAlive
            let version = head.version
            guard response.delayMilliseconds > 0 else {
                write(response, version: version, keepAlive: keepAlive, context: context)
                return
            }
            // A timer on the loop, not a sleep: the loop keeps serving other connections meanwhile.
            // HTTPServerPipelineHandler holds a pipelined next request until this answer's end.
            let bound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(response.delayMilliseconds))) {
                let (context, handler) = bound.value
                handler.write(response, version: version, keepAlive: keepAlive, context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset connection or the like: nothing to answer on it any more.
        context.close(promise: nil)
    }

    private func write(_ response: StandInResponse, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        // The client may have given up during a delay; then there is nobody to answer.
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

extension OpenRouterStandIn {
    static func bind(host: String, port: Int, standIn: OpenRouterStandIn) async throws -> any Channel {
        try await ServerBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                standIn.track(channel)
                return channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(StandInHTTPHandler(standIn: standIn))
                }
            }
            .bind(host: host, port: port).get()
    }
}
