import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// `http-peer`: the trivial endpoint of the webhook comparison (docs/BENCHMARKS.md, "Peers, in the
/// same run"). The same HTTP layer as WaQtor's webhook listener (SwiftNIO's HTTP/1.1 pipeline with
/// pipelining assistance, TCP_NODELAY, the singleton event loop group) answering every request, once
/// its body is read, with 200 and the listener's success body: no authentication, no parsing, no
/// storage. What the listener adds to this is the cost of the webhook itself.
@main
struct HTTPPeer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-peer",
        abstract: "A trivial HTTP/1.1 endpoint (SwiftNIO): answers 200 to every request at once.")

    @Option(name: .long, help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0: any free port).")
    var port: Int = 7431

    func run() async throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(OKHandler())
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        // Written unbuffered: scripts wait for this line. SIGTERM ends the process.
        FileHandle.standardOutput.write(Data("listening on \(host):\(channel.localAddress?.port ?? port)\n".utf8))
        try await channel.closeFuture.get()
    }
}

/// Answers each request with 200 once its end is read.
final class OKHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private static let body = #"{"duplicate":false,"ok":true}"#
    private var keepAlive = true
    private var version = HTTPVersion.http1_1

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            version = head.version
        case .body:
            break
        case .end:
            var buffer = context.channel.allocator.buffer(capacity: Self.body.utf8.count)
            buffer.writeString(Self.body)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(buffer.readableBytes))
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let flushed = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                flushed.whenComplete { _ in channel.close(mode: .output, promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
