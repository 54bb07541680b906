import Histogram
import NIOCore
import NIOPosix
import WaqtorProto
import WaqtorRPC

/// The `--raw` engine: speaks the protocol (docs/PROTOCOL.md) directly over one NIO channel per
/// connection, the way `redis-benchmark` speaks RESP: the REQUEST frame is encoded once (through
/// the generated `Waqtor_V1_PingRequest`) and copied with a fresh call id for every call; every
/// answer is checked (an END for a call in flight, status OK) and its response decoded through the
/// generated `Waqtor_V1_PingResponse`, whose payload must echo the request's.
///
/// Everything of a connection runs on its event loop, without locks or tasks, so that the load
/// generator's own cost per call stays small and the server's throughput is what is measured.
enum RawLoad {
    struct Settings: Sendable {
        var host: String
        var port: Int
        var inFlight: Int
        var pipeline: Bool
        var payloadSize: Int
        var timeoutMicros: UInt64
        var measureFrom: UInt64
        var stop: PingLoad.Stop
        /// Monotonic nanoseconds after which calls still unanswered count as DEADLINE_EXCEEDED.
        var giveUpAfter: UInt64
    }

    /// Runs one connection to its end and returns what it measured.
    static func run(_ settings: Settings, group: any EventLoopGroup) async -> PingLoad.LoopResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<PingLoad.LoopResult, Never>) in
            let bootstrap = ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            RawConnectionHandler(settings: settings) { continuation.resume(returning: $0) })
                    }
                }
            bootstrap.connect(host: settings.host, port: settings.port).whenFailure { error in
                var result = PingLoad.LoopResult()
                result.recordError(RPCError(code: .unavailable, message: "cannot connect to \(settings.host):\(settings.port): \(error)"))
                result.finishedAt = monotonicNanos()
                continuation.resume(returning: result)
            }
        }
    }
}

/// One connection of the `--raw` engine (see ``RawLoad``).
final class RawConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let settings: RawLoad.Settings
    private let done: (PingLoad.LoopResult) -> Void
    /// The REQUEST frame, call id 0 (bytes 6-9 are replaced per call).
    private let template: [UInt8]
    private let expectedPayload: [UInt8]

    // Confined to the channel's event loop: the per-call fields skip dynamic exclusivity tracking.
    private var reader = FrameReader(maxFrameLength: 16 * 1024 * 1024)
    @exclusivity(unchecked) private var out: ByteBuffer?
    @exclusivity(unchecked) private var nextCallID: UInt32 = 1
    /// Calls in flight: call id → when it was sent (monotonic ns).
    @exclusivity(unchecked) private var inFlight: [UInt32: UInt64] = [:]
    @exclusivity(unchecked) private var remaining: Int
    private let stopAt: UInt64
    @exclusivity(unchecked) private var stopping = false
    @exclusivity(unchecked) private var finished = false
    @exclusivity(unchecked) private var result = PingLoad.LoopResult()
    @exclusivity(unchecked) private var readTime: UInt64 = 0
    private var watchdog: Scheduled<Void>?

    init(settings: RawLoad.Settings, done: @escaping (PingLoad.LoopResult) -> Void) {
        self.settings = settings
        self.done = done
        switch settings.stop {
        case .at(let t): stopAt = t; remaining = .max
        case .count(let n): stopAt = .max; remaining = n
        }
        var request = Waqtor_V1_PingRequest()
        request.payload = [UInt8](repeating: 0x61, count: settings.payloadSize)
        expectedPayload = request.payload
        var frame = ByteBufferAllocator().buffer(capacity: 128)
        frame.moveWriterIndex(forwardBy: Frame.headerSize)
        RequestHead(method: "waqtor.v1.HealthService/Ping", timeoutMicros: settings.timeoutMicros, metadata: Metadata())
            .write(to: &frame)
        request.serialize(into: &frame)
        frame.setInteger(UInt32(frame.readableBytes - 4), at: 0)
        frame.setInteger(FrameType.request.rawValue, at: 4)
        template = frame.readBytes(length: frame.readableBytes)!
        inFlight.reserveCapacity(settings.inFlight * 2)
    }

    func channelActive(context: ChannelHandlerContext) {
        var hello = ByteBufferAllocator().buffer(capacity: 32)
        var payload = ByteBufferAllocator().buffer(capacity: 16)
        HelloPayload().write(to: &payload)
        Frame(type: .hello, callID: 0, payload: payload).write(to: &hello)
        context.write(wrapOutboundOut(hello), promise: nil)
        let now = monotonicNanos()
        for _ in 0..<settings.inFlight { send(at: now) }
        flush(context: context)
        let wait = Int64(clamping: settings.giveUpAfter > now ? settings.giveUpAfter - now : 0)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        watchdog = context.eventLoop.scheduleTask(in: .nanoseconds(wait)) {
            let (handler, context) = bound.value
            handler.gaveUp(context: context)
        }
        context.fireChannelActive()
    }

    private func send(at now: UInt64) {
        if out == nil { out = ByteBufferAllocator().buffer(capacity: template.count * settings.inFlight) }
        let start = out!.writerIndex
        out!.writeBytes(template)
        out!.setInteger(nextCallID, at: start + 6)
        inFlight[nextCallID] = now
        nextCallID &+= 1
    }

    private func flush(context: ChannelHandlerContext) {
        guard let buffer = out.take() else { return }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        // One clock read per socket read: the answers it carries all arrived then.
        readTime = monotonicNanos()
        reader.read(unwrapInboundIn(data)) { decoded in
            guard case .frame(let frame) = decoded else {
                fail(context: context, RPCError(code: .internalError, message: "the server sent a bad frame: \(decoded)"))
                return false
            }
            receive(frame, context: context)
            return !finished
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
    }

    private func receive(_ frame: Frame, context: ChannelHandlerContext) {
        switch frame.type {
        case .hello, .ping:
            return  // the server's HELLO; PINGs are not sent by servers unasked
        case .goAway:
            let goAway = try? GoAwayPayload.read(from: frame.payload)
            fail(context: context, RPCError(code: .unavailable, message: "the server sent GOAWAY: \(goAway?.message ?? "?")"))
            return
        case .end:
            break
        default:
            fail(context: context, RPCError(code: .internalError, message: "unexpected \(frame.type) frame from the server"))
            return
        }
        guard let sentAt = inFlight.removeValue(forKey: frame.callID) else {
            fail(context: context, RPCError(code: .internalError, message: "END for call \(frame.callID), which is not in flight"))
            return
        }
        let now = readTime
        let measured = sentAt >= settings.measureFrom
        if measured {
            var payload = frame.payload
            switch Self.check(&payload, expecting: expectedPayload) {
            case nil:
                result.ok += 1
                result.histogram.record(now - sentAt)
            case let error?:
                result.recordError(error)
            }
            if remaining != .max { remaining -= 1 }
        }
        if remaining <= 0 || now >= stopAt { stopping = true }
        if stopping {
            if inFlight.isEmpty { finish(context: context) }
        } else if settings.pipeline {
            if inFlight.isEmpty {
                for _ in 0..<settings.inFlight { send(at: now) }
            }
        } else {
            send(at: now)
        }
    }

    /// Nil when the END is OK and its response is the expected Ping answer. The head is checked
    /// by its lengths (as docs/PROTOCOL.md lays it out) without building strings for the metadata
    /// unless the status is an error; the response is decoded through the generated type.
    private static func check(_ payload: inout ByteBuffer, expecting expected: [UInt8]) -> RPCError? {
        var original = payload  // for the message of an error END
        let status: RPCStatusCode
        do { status = try EndHead.skip(from: &payload) } catch {
            return RPCError(code: .internalError, message: "malformed END: \(error)")
        }
        guard status == .ok else {
            return RPCError(code: status, message: (try? EndHead.read(from: &original))?.message ?? "")
        }
        do {
            let response = try Waqtor_V1_PingResponse(buffer: payload)
            guard response.payload == expected, response.serverTime != nil else {
                return RPCError(code: .internalError, message: "the answer does not echo the request's payload")
            }
            return nil
        } catch {
            return RPCError(code: .internalError, message: "the answer is not a PingResponse: \(error)")
        }
    }

    private func gaveUp(context: ChannelHandlerContext) {
        guard !finished else { return }
        fail(context: context, RPCError(code: .deadlineExceeded, message: "\(inFlight.count) calls still unanswered after the run and its timeout"))
    }

    private func fail(context: ChannelHandlerContext, _ error: RPCError) {
        result.recordError(error, count: UInt64(max(1, inFlight.count)))
        inFlight.removeAll()
        finish(context: context)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        watchdog?.cancel()
        result.finishedAt = monotonicNanos()
        context.close(promise: nil)
        done(result)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            fail(context: context, RPCError(code: .unavailable, message: "the server closed the connection"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, RPCError(code: .unavailable, message: "connection error: \(error)"))
    }
}
