import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import WaqtorRPC
import WaqtorTestSupport

/// A message for exercising the runtime alone: its bytes are the payload. Decoding fails for a
/// payload whose first byte is 0xFF, which stands in for a malformed protobuf message.
struct Echo: ProtoMessage {
    static var protoMessageName: String { "test.Echo" }
    var bytes: [UInt8] = []
    init() {}
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ text: String) { self.bytes = Array(text.utf8) }
    init(serializedBytes: UnsafeRawBufferPointer) throws(ProtoDecodingError) {
        if serializedBytes.first == 0xFF {
            throw ProtoDecodingError(messageName: Self.protoMessageName, byteCount: serializedBytes.count)
        }
        bytes = Array(serializedBytes)
    }
    func serialize(into buffer: inout ByteBuffer) { buffer.writeBytes(bytes) }
    var text: String { String(decoding: bytes, as: UTF8.self) }
}


/// Waits on `signal` but wakes up for cancellation, reporting it through `cancelled`.
func waitCancellable(_ signal: Signal, cancelled: Signal? = nil) async throws {
    try await withTaskCancellationHandler {
        await signal.wait()
        try Task.checkCancellation()
    } onCancel: {
        cancelled?.fire()
        signal.fire()
    }
}

var testLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// Starts a server on a free loopback port, runs `body`, then shuts the server down.
func withServer<T>(
    _ router: RPCRouter, configuration: RPCServerConfiguration = .init(port: 0),
    _ body: (RPCServer, Int) async throws -> T
) async throws -> T {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    let server = RPCServer(configuration: configuration, router: router, logger: testLogger)
    try await server.start()
    let port = try #require(server.localPort)
    do {
        let result = try await body(server, port)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

import Testing

/// A raw TCP connection for speaking the protocol by hand (and breaking it on purpose).
final class RawConnection: Sendable {
    private struct State {
        var received = ByteBuffer()
        var decoder = FrameDecoder(maxFrameLength: .max)
        var closed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state = NIOLockedValueBox(State())
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let waiters = state.withLockedValue { state in
                state.received.writeBuffer(&buffer)
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        func channelInactive(context: ChannelHandlerContext) {
            let waiters = state.withLockedValue { state in
                state.closed = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(port: Int) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    func send(_ frame: Frame) async throws {
        var buffer = ByteBuffer()
        frame.write(to: &buffer)
        try await send(buffer)
    }

    func sendHello(version: UInt8 = 1) async throws {
        var payload = ByteBuffer()
        HelloPayload(version: version).write(to: &payload)
        try await send(Frame(type: .hello, callID: 0, payload: payload))
    }

    func sendRequest(callID: UInt32, method: String, message: [UInt8], timeoutMicros: UInt64 = 0) async throws {
        var payload = ByteBuffer()
        RequestHead(method: method, timeoutMicros: timeoutMicros, metadata: [:]).write(to: &payload)
        payload.writeBytes(message)
        try await send(Frame(type: .request, callID: callID, payload: payload))
    }

    /// Waits until a complete frame has arrived and returns it, or nil when the connection closed first.
    func nextFrame() async -> Frame? {
        while true {
            enum Step { case frame(Frame), closed, wait }
            var step = Step.wait
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = collector.state.withLockedValue { state -> Bool in
                    if case .frame(let frame) = state.decoder.next(from: &state.received) {
                        step = .frame(frame)
                        return true
                    }
                    if state.closed {
                        step = .closed
                        return true
                    }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            switch step {
            case .frame(let frame): return frame
            case .closed: return nil
            case .wait: continue
            }
        }
    }

    /// Reads frames until one of `type` arrives (nil if the connection closes first).
    func nextFrame(ofType type: FrameType) async -> Frame? {
        while let frame = await nextFrame() {
            if frame.type == type { return frame }
        }
        return nil
    }

    /// Waits for the server to close the connection.
    func waitForClose() async throws {
        try await channel.closeFuture.get()
    }

    func close() async {
        try? await channel.close()
    }
}
