import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP/1.1 server that records every POST it receives and answers 200.
final class WebhookReceiver: Sendable {
    struct Post: Sendable {
        var path: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var json: [String: Any] {
            ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:]
        }

        var event: String { json["event"] as? String ?? "" }
        var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    }

    let port: Int
    private let channel: any Channel
    private let box: NIOLockedValueBox<[Post]>

    var url: String { "http://127.0.0.1:\(port)/hooks/evolution" }
    var posts: [Post] { box.withLockedValue { $0 } }

    static func start() async throws -> WebhookReceiver {
        let box = NIOLockedValueBox<[Post]>([])
        let channel = try await ServerBootstrap(group: NIOSingletons.posixEventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(ReceiverHandler(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return WebhookReceiver(port: channel.localAddress!.port!, channel: channel, box: box)
    }

    private init(port: Int, channel: any Channel, box: NIOLockedValueBox<[Post]>) {
        self.port = port
        self.channel = channel
        self.box = box
    }

    /// Waits until at least `count` posts arrived (or 5 s passed) and returns them.
    func waitFor(_ count: Int, timeout: Duration = .seconds(60)) async -> [Post] {
        let deadline = ContinuousClock.now + timeout
        while posts.count < count, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        return posts
    }

    func stop() async { try? await channel.close() }
}

private final class ReceiverHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let box: NIOLockedValueBox<[WebhookReceiver.Post]>
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(box: NIOLockedValueBox<[WebhookReceiver.Post]>) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let chunk):
            body += chunk.readableBytesView
        case .end:
            guard let head else { return }
            let post = WebhookReceiver.Post(path: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body)
            box.withLockedValue { $0.append(post) }
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "2")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            self.head = nil
        }
    }
}
