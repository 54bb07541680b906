import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WaqtorTestSupport

@testable import WaqtorRPC

/// Handlers shared by the tests: echo, a slow call released by a signal, a stream, a failure.
final class TestService: Sendable {
    let slowStarted = Signal()
    let releaseSlow = Signal()
    let handlerCancelled = Signal()
    let calls = NIOLockedValueBox(0)

    var router: RPCRouter {
        var router = RPCRouter()
        router.registerUnary("test.Service/Echo", request: Echo.self, response: Echo.self) { request, context in
            self.calls.withLockedValue { $0 += 1 }
            return request
        }
        router.registerUnary("test.Service/Slow", request: Echo.self, response: Echo.self) { request, _ in
            self.slowStarted.fire()
            try await waitCancellable(self.releaseSlow, cancelled: self.handlerCancelled)
            return Echo("slow done")
        }
        router.registerUnary("test.Service/Forever", request: Echo.self, response: Echo.self) { _, _ in
            self.slowStarted.fire()
            try await waitCancellable(Signal(), cancelled: self.handlerCancelled)
            return Echo()
        }
        router.registerUnary("test.Service/Fail", request: Echo.self, response: Echo.self) { request, _ in
            if request.text == "internal" { throw SomeInternalError() }
            throw RPCError(code: .notFound, message: "no such thing: \(request.text)", metadata: ["retry-after-ms": "5"])
        }
        router.registerUnary("test.Service/Metadata", request: Echo.self, response: Echo.self) { _, context in
            Echo("\(context.metadata["authorization"] ?? "-")|\(context.requestID)|\(context.deadline != nil)")
        }
        router.registerServerStreaming("test.Service/Count", request: Echo.self, response: Echo.self) { request, _, stream in
            let count = Int(request.text) ?? 0
            for index in 0..<count { try await stream.send(Echo("\(index)")) }
            if count == 3 { throw RPCError(code: .aborted, message: "stopped after three") }
        }
        router.registerServerStreaming("test.Service/Endless", request: Echo.self, response: Echo.self) { _, _, stream in
            self.slowStarted.fire()
            do {
                var index = 0
                while true {
                    try await stream.send(Echo("\(index)"))
                    index += 1
                    if index % 16 == 0 { await Task.yield() }
                }
            } catch {
                self.handlerCancelled.fire()
                throw error
            }
        }
        return router
    }
}

extension TestService {
    /// The test router plus `test.Service/Big`: endless 4 KiB messages, each starting with its index.
    var routerWithBigStream: RPCRouter {
        var router = self.router
        router.registerServerStreaming("test.Service/Big", request: Echo.self, response: Echo.self) { _, _, stream in
            var index = 0
            while true {
                var bytes = Array("\(index):".utf8)
                bytes.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: 4096 - bytes.count))
                try await stream.send(Echo(bytes))
                index += 1
            }
        }
        return router
    }
}

struct SomeInternalError: Error, CustomStringConvertible {
    var description: String { "password=hunter2 leaked into an error" }
}

@Suite("RPC server and client over real sockets")
struct ServerClientTests {
    @Test("1,000 concurrent unary calls on one connection are all answered correctly")
    func thousandConcurrentCalls() async throws {
        let service = TestService()
        try await withServer(service.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let response = try await client.unary(method: "test.Service/Echo", request: Echo("call-\(index)"), responseType: Echo.self)
                        return (index, response.text)
                    }
                }
                var seen = Set<Int>()
                for try await (index, text) in group {
                    #expect(text == "call-\(index)")
                    seen.insert(index)
                }
                #expect(seen.count == 1000)
            }
            #expect(service.calls.withLockedValue { $0 } == 1000)
            await client.close()
        }
    }

    @Test("startUnary reports answers and errors through its completion")
    func callbackCalls() async throws {
        try await withServer(TestService().router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let results = await withTaskGroup(of: (Int, Result<Echo, RPCError>).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let method = index % 10 == 0 ? "test.Service/Fail" : "test.Service/Echo"
                        let result = await withCheckedContinuation { continuation in
                            client.startUnary(method: method, request: Echo("cb-\(index)"), responseType: Echo.self) {
                                continuation.resume(returning: $0)
                            }
                        }
                        return (index, result)
                    }
                }
                var all: [Int: Result<Echo, RPCError>] = [:]
                for await (index, result) in group { all[index] = result }
                return all
            }
            #expect(results.count == 200)
            for (index, result) in results {
                switch result {
                case .success(let echo):
                    #expect(index % 10 != 0)
                    #expect(echo.text == "cb-\(index)")
                case .failure(let error):
                    #expect(index % 10 == 0)
                    #expect(error.code == .notFound)
                }
            }
            await client.close()
        }
    }

    @Test("a slow call does not hold up a fast one on the same connection")
    func slowDoesNotBlockFast() async throws {
        let service = TestService()
        try await withServer(service.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            async let slow = client.unary(method: "test.Service/Slow", request: Echo(), responseType: Echo.self)
            await service.slowStarted.wait()
            let fast = try await client.unary(method: "test.Service/Echo", request: Echo("fast"), responseType: Echo.self)
            #expect(fast.text == "fast")
            #expect(!service.releaseSlow.isFired, "the fast call finished while the slow one was still running")
            service.releaseSlow.fire()
            let slowText = try await slow.text
            #expect(slowText == "slow done")
            await client.close()
        }
    }

    @Test("a passed deadline gives DEADLINE_EXCEEDED and cancels the handler")
    func deadline() async throws {
        let service = TestService()
        try await withServer(service.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/Forever", request: Echo(), responseType: Echo.self, options: CallOptions(timeout: .milliseconds(100)))
            }
            #expect(error?.code == .deadlineExceeded)
            await service.handlerCancelled.wait()
            // The connection is still fine.
            do { let value = try await client.unary(method: "test.Service/Echo", request: Echo("after"), responseType: Echo.self); #expect(value.text == "after") }
            await client.close()
        }
    }

    @Test("the server enforces the deadline it was sent (raw client that never cancels)")
    func serverSideDeadline() async throws {
        let service = TestService()
        try await withServer(service.router) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendHello()
            try await raw.sendRequest(callID: 1, method: "test.Service/Forever", message: [], timeoutMicros: 50_000)
            var end = try #require(await raw.nextFrame(ofType: .end))
            #expect(end.callID == 1)
            #expect(try EndHead.read(from: &end.payload).status == .deadlineExceeded)
            await service.handlerCancelled.wait()
            await raw.close()
        }
    }

    @Test("a client's cancel reaches the handler")
    func cancellation() async throws {
        let service = TestService()
        try await withServer(service.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let task = Task {
                try await client.unary(method: "test.Service/Forever", request: Echo(), responseType: Echo.self)
            }
            await service.slowStarted.wait()
            task.cancel()
            let result = await task.result
            guard case .failure(let error as RPCError) = result else {
                Issue.record("expected a cancelled call, got \(result)")
                return
            }
            #expect(error.code == .cancelled)
            await service.handlerCancelled.wait()
            await client.close()
        }
    }

    @Test("an unknown method gives UNIMPLEMENTED")
    func unknownMethod() async throws {
        try await withServer(TestService().router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/Nope", request: Echo(), responseType: Echo.self)
            }
            #expect(error?.code == .unimplemented)
            #expect(error?.message.contains("test.Service/Nope") == true)
            #expect(error?.metadata["request-id"]?.isEmpty == false, "refusals carry a request id too")
            let echoed = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/Nope", request: Echo(), responseType: Echo.self, options: CallOptions(metadata: ["request-id": "mine-1"]))
            }
            #expect(echoed?.metadata["request-id"] == "mine-1")
            await client.close()
        }
    }

    @Test("a malformed message gives INVALID_ARGUMENT and the connection keeps working")
    func malformedMessage() async throws {
        try await withServer(TestService().router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/Echo", request: Echo([0xFF, 1, 2]), responseType: Echo.self)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("test.Echo") == true)
            do { let value = try await client.unary(method: "test.Service/Echo", request: Echo("ok"), responseType: Echo.self); #expect(value.text == "ok") }
            await client.close()
        }
    }

    @Test("errors keep their code, message and metadata; unexpected errors become INTERNAL without detail")
    func errors() async throws {
        try await withServer(TestService().router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let notFound = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/Fail", request: Echo("x"), responseType: Echo.self)
            }
            #expect(notFound?.code == .notFound)
            #expect(notFound?.message == "no such thing: x")
            #expect(notFound?.metadata["retry-after-ms"] == "5")
            let internalFailure = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/Fail", request: Echo("internal"), responseType: Echo.self)
            }
            #expect(internalFailure?.code == .internalError)
            #expect(internalFailure?.message.contains("hunter2") == false)
            #expect(internalFailure?.message.contains("request id") == true)
            await client.close()
        }
    }

    @Test("metadata and request ids reach the handler and come back")
    func metadata() async throws {
        try await withServer(TestService().router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let options = CallOptions(timeout: .seconds(5), metadata: ["authorization": "Bearer t", "request-id": "req-123"])
            let (message, trailers) = try await client.unaryWithMetadata(method: "test.Service/Metadata", request: Echo(), responseType: Echo.self, options: options)
            #expect(message.text == "Bearer t|req-123|true")
            #expect(trailers["request-id"] == "req-123")
            let (generated, generatedTrailers) = try await client.unaryWithMetadata(method: "test.Service/Metadata", request: Echo(), responseType: Echo.self)
            let id = try #require(generatedTrailers["request-id"])
            #expect(generated.text == "-|\(id)|false")
            #expect(!id.isEmpty)
            await client.close()
        }
    }

    @Test("server streaming delivers every message in order, then the final status")
    func streaming() async throws {
        try await withServer(TestService().router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            var received: [String] = []
            for try await message in client.serverStreaming(method: "test.Service/Count", request: Echo("50"), responseType: Echo.self) {
                received.append(message.text)
            }
            #expect(received == (0..<50).map(String.init))

            var partial: [String] = []
            let error = await #expect(throws: RPCError.self) {
                for try await message in client.serverStreaming(method: "test.Service/Count", request: Echo("3"), responseType: Echo.self) {
                    partial.append(message.text)
                }
            }
            #expect(partial == ["0", "1", "2"])
            #expect(error?.code == .aborted)
            await client.close()
        }
    }

    @Test("abandoning a stream cancels the server's handler")
    func streamCancellation() async throws {
        let service = TestService()
        try await withServer(service.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            var count = 0
            for try await _ in client.serverStreaming(method: "test.Service/Endless", request: Echo(), responseType: Echo.self) {
                count += 1
                if count == 10 { break }
            }
            #expect(count == 10)
            await service.handlerCancelled.wait()
            await client.close()
        }
    }

    @Test("a lagging stream consumer pauses the connection's reading instead of buffering without bound; nothing is lost")
    func laggingStreamConsumer() async throws {
        let router = TestService().routerWithBigStream
        try await withServer(router) { _, port in
            let limit = 256 * 1024
            let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(maxBufferedStreamBytes: limit))
            var iterator = client.serverStreaming(method: "test.Service/Big", request: Echo(), responseType: Echo.self)
                .makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.text.hasPrefix("0:") == true)
            let connection = try #require(client.currentConnection)

            // The consumer takes nothing for now: the connection must stop reading once the limit is
            // buffered (plus at most what the reads in progress bring: a few receive buffers).
            let paused = await TestNetwork.waitUntil(timeout: .seconds(30)) { connection.isReadingPaused }
            #expect(paused, "reading never paused while \(connection.bufferedStreamBytes) bytes were buffered")
            // Paused means more than the limit arrived (the first message may have been taken since,
            // which does not resume reading before all but a quarter is taken).
            #expect(connection.bufferedStreamBytes > limit / 4)
            #expect(connection.bufferedStreamBytes <= limit + 1024 * 1024)

            // Taking the messages resumes reading; every message arrives, in order.
            var mismatch: String?
            for expected in 1...2_000 {
                let message = try await iterator.next()
                if mismatch == nil, message?.text.hasPrefix("\(expected):") != true {
                    mismatch = "message \(expected) was \(message?.text.prefix(12) ?? "nil")"
                }
            }
            #expect(mismatch == nil)
            #expect(connection.bufferedStreamBytes <= limit + 1024 * 1024)
            await client.close()
        }
    }

    @Test("a consumer waiting on another call while its stream holds reading paused is freed after the stall limit; the stream fails after what was received")
    func stalledStreamConsumer() async throws {
        let router = TestService().routerWithBigStream
        try await withServer(router) { _, port in
            let client = RPCClient(
                host: "127.0.0.1", port: port,
                configuration: .init(maxBufferedStreamBytes: 64 * 1024, maxStreamStall: .seconds(3)))
            var iterator = client.serverStreaming(method: "test.Service/Big", request: Echo(), responseType: Echo.self)
                .makeAsyncIterator()
            #expect(try await iterator.next()?.text.hasPrefix("0:") == true)
            let connection = try #require(client.currentConnection)
            // Observed within the 3 s before the stall limit resumes reading.
            #expect(await TestNetwork.waitUntil(timeout: .seconds(30), interval: .milliseconds(5)) { connection.isReadingPaused })

            // This call's answer sits behind the paused reading until the stall limit fails the stream.
            let echo = try await client.unary(method: "test.Service/Echo", request: Echo("after the stall"), responseType: Echo.self)
            #expect(echo.text == "after the stall")
            #expect(!connection.isReadingPaused)

            // The consumer still gets every message received, in order, then RESOURCE_EXHAUSTED.
            var next = 1
            do {
                while let message = try await iterator.next() {
                    if !message.text.hasPrefix("\(next):") {
                        Issue.record("message \(next) was \(message.text.prefix(12))")
                        break
                    }
                    next += 1
                }
                Issue.record("the stream ended without an error")
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted)
                #expect(error.message.contains("fell behind"))
            } catch {
                Issue.record("unexpected error \(error)")
            }
            #expect(next > 1)
            await client.close()
        }
    }

    @Test("a writer shared with another call cannot send for a call that already ended")
    func sharedWriterAfterEnd() async throws {
        let held = NIOLockedValueBox<ServerStreamWriter<Echo>?>(nil)
        var router = TestService().router
        router.registerServerStreaming("test.Service/Hold", request: Echo.self, response: Echo.self) { _, _, stream in
            held.withLockedValue { $0 = stream }
            try await waitCancellable(Signal())
        }
        // Uses the other call's writer before its own first suspension.
        router.registerUnary("test.Service/Poke", request: Echo.self, response: Echo.self) { _, _ in
            if let writer = held.withLockedValue({ $0 }) { try? await writer.send(Echo("late")) }
            return Echo("poked")
        }
        try await withServer(router) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendHello()
            try await raw.sendRequest(callID: 1, method: "test.Service/Hold", message: [], timeoutMicros: 100_000)
            var end = try #require(await raw.nextFrame(ofType: .end))
            #expect(end.callID == 1)
            #expect(try EndHead.read(from: &end.payload).status == .deadlineExceeded)
            #expect(held.withLockedValue { $0 } != nil)

            try await raw.sendRequest(callID: 2, method: "test.Service/Poke", message: [])
            var ping = ByteBuffer()
            ping.writeInteger(UInt64(42))
            try await raw.send(Frame(type: .ping, callID: 0, payload: ping))
            // Everything the server sends up to the PING's ACK: the END of call 2, and nothing for call 1.
            var frames: [Frame] = []
            while let frame = await raw.nextFrame() {
                if frame.type == .ping { break }
                frames.append(frame)
            }
            #expect(frames.map(\.callID) == [2])
            #expect(frames.map(\.type) == [.end])
            await raw.close()
        }
    }

    @Test("more calls in flight than allowed get RESOURCE_EXHAUSTED; the others are served")
    func concurrencyLimit() async throws {
        let service = TestService()
        try await withServer(service.router, configuration: .init(maxConcurrentCallsPerConnection: 1)) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            async let slow = client.unary(method: "test.Service/Slow", request: Echo(), responseType: Echo.self)
            await service.slowStarted.wait()
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/Echo", request: Echo(), responseType: Echo.self)
            }
            #expect(error?.code == .resourceExhausted)
            service.releaseSlow.fire()
            let slowText = try await slow.text
            #expect(slowText == "slow done")
            do { let value = try await client.unary(method: "test.Service/Echo", request: Echo("again"), responseType: Echo.self); #expect(value.text == "again") }
            await client.close()
        }
    }

    @Test("an oversized frame gives RESOURCE_EXHAUSTED and closes only that connection")
    func oversizedFrame() async throws {
        try await withServer(TestService().router, configuration: .init(maxFrameLength: 1024)) { _, port in
            let bystander = RPCClient(host: "127.0.0.1", port: port)
            do { let value = try await bystander.unary(method: "test.Service/Echo", request: Echo("before"), responseType: Echo.self); #expect(value.text == "before") }

            let raw = try await RawConnection.connect(port: port)
            try await raw.sendHello()
            try await raw.sendRequest(callID: 5, method: "test.Service/Echo", message: Array(repeating: 7, count: 4096))
            var end = try #require(await raw.nextFrame(ofType: .end))
            #expect(end.callID == 5)
            let head = try EndHead.read(from: &end.payload)
            #expect(head.status == .resourceExhausted)
            #expect(head.message.contains("1024"))
            let goAway = try #require(await raw.nextFrame(ofType: .goAway))
            #expect(try GoAwayPayload.read(from: goAway.payload).status == .resourceExhausted)
            try await raw.waitForClose()

            do { let value = try await bystander.unary(method: "test.Service/Echo", request: Echo("after"), responseType: Echo.self); #expect(value.text == "after") }
            // The client refuses to send what the server said it would not take.
            let tooBig = await #expect(throws: RPCError.self) {
                _ = try await bystander.unary(method: "test.Service/Echo", request: Echo(Array(repeating: 1, count: 4096)), responseType: Echo.self)
            }
            #expect(tooBig?.code == .resourceExhausted)
            await bystander.close()
        }
    }

    @Test("garbage and truncated frames never crash the server; other clients keep being served")
    func garbage() async throws {
        try await withServer(TestService().router, configuration: .init(maxFrameLength: 64 * 1024)) { _, port in
            let bystander = RPCClient(host: "127.0.0.1", port: port)
            var generator = SystemRandomNumberGenerator()
            for round in 0..<40 {
                let raw = try await RawConnection.connect(port: port)
                var bytes = ByteBuffer()
                switch round % 4 {
                case 0:  // pure noise, no HELLO
                    bytes.writeBytes((0..<Int.random(in: 1...512, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                case 1:  // HELLO, then noise
                    var hello = ByteBuffer()
                    HelloPayload().write(to: &hello)
                    Frame(type: .hello, callID: 0, payload: hello).write(to: &bytes)
                    bytes.writeBytes((0..<Int.random(in: 1...512, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                case 2:  // HELLO, then a REQUEST cut short, then the peer goes away
                    var hello = ByteBuffer()
                    HelloPayload().write(to: &hello)
                    Frame(type: .hello, callID: 0, payload: hello).write(to: &bytes)
                    var request = ByteBuffer()
                    Frame(type: .request, callID: 1, payload: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 65])).write(to: &request)
                    bytes.writeBytes(request.readBytes(length: request.readableBytes - 3)!)
                default:  // HELLO, then a REQUEST whose head lies about its lengths
                    var hello = ByteBuffer()
                    HelloPayload().write(to: &hello)
                    Frame(type: .hello, callID: 0, payload: hello).write(to: &bytes)
                    Frame(type: .request, callID: 1, payload: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 65, 66])).write(to: &bytes)
                }
                try await raw.send(bytes)
                if round % 4 == 3 {
                    // A lying head is a bad call, not a broken stream: the call gets INVALID_ARGUMENT.
                    var end = try #require(await raw.nextFrame(ofType: .end))
                    #expect(try EndHead.read(from: &end.payload).status == .invalidArgument)
                }
                await raw.close()
                let text = "round-\(round)"
                do { let value = try await bystander.unary(method: "test.Service/Echo", request: Echo(text), responseType: Echo.self); #expect(value.text == text) }
            }
            await bystander.close()
        }
    }

    @Test("protocol violations get a GOAWAY naming the problem")
    func protocolViolations() async throws {
        try await withServer(TestService().router) { _, port in
            // A request before HELLO.
            let early = try await RawConnection.connect(port: port)
            try await early.sendRequest(callID: 1, method: "test.Service/Echo", message: [])
            let goAway = try #require(await early.nextFrame(ofType: .goAway))
            #expect(try GoAwayPayload.read(from: goAway.payload).message.contains("HELLO"))
            try await early.waitForClose()

            // An unsupported version.
            let future = try await RawConnection.connect(port: port)
            try await future.sendHello(version: 9)
            let versionGoAway = try #require(await future.nextFrame(ofType: .goAway))
            #expect(try GoAwayPayload.read(from: versionGoAway.payload).status == .failedPrecondition)
            try await future.waitForClose()

            // Call ids that go backwards.
            let backwards = try await RawConnection.connect(port: port)
            try await backwards.sendHello()
            try await backwards.sendRequest(callID: 5, method: "test.Service/Echo", message: [])
            try await backwards.sendRequest(callID: 3, method: "test.Service/Echo", message: [])
            let idGoAway = try #require(await backwards.nextFrame(ofType: .goAway))
            #expect(try GoAwayPayload.read(from: idGoAway.payload).message.contains("call id 3"))
            try await backwards.waitForClose()
        }
    }

    @Test("HELLO is answered with the server's limits, and PING with an ACK carrying the same bytes")
    func helloAndPing() async throws {
        try await withServer(TestService().router, configuration: .init(maxFrameLength: 5000, maxConcurrentCallsPerConnection: 7)) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendHello()
            let hello = try #require(await raw.nextFrame(ofType: .hello))
            let limits = try HelloPayload.parse(hello.payload)
            #expect(limits.maxFrameLength == 5000)
            #expect(limits.maxConcurrentCalls == 7)
            try await raw.send(Frame(type: .ping, callID: 0, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
            let pong = try #require(await raw.nextFrame(ofType: .ping))
            #expect(pong.flags & Frame.flagAck != 0)
            #expect(pong.payload == ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]))
            await raw.close()
        }
    }

    @Test("a connection that never says HELLO is closed after the handshake timeout")
    func handshakeTimeout() async throws {
        try await withServer(TestService().router, configuration: .init(handshakeTimeout: .milliseconds(200))) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.waitForClose()
        }
    }

    @Test("an idle connection gets GOAWAY and is closed; the client reconnects for the next call")
    func idleTimeoutAndReconnect() async throws {
        // One second: long enough that a loaded machine's scheduling pauses between a client's
        // HELLO and its call do not look idle (with 200 ms, a fresh connection could get GOAWAY
        // before its call three times running, and the call failed as UNAVAILABLE).
        try await withServer(TestService().router, configuration: .init(idleTimeout: .seconds(1))) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendHello()
            let goAway = try #require(await raw.nextFrame(ofType: .goAway))
            #expect(try GoAwayPayload.read(from: goAway.payload).status == .ok)
            try await raw.waitForClose()

            let client = RPCClient(host: "127.0.0.1", port: port)
            do { let value = try await client.unary(method: "test.Service/Echo", request: Echo("1"), responseType: Echo.self); #expect(value.text == "1") }
            // Wait for the server to close this client's idle connection, then call again.
            try await Task.sleep(for: .milliseconds(2500))
            do { let value = try await client.unary(method: "test.Service/Echo", request: Echo("2"), responseType: Echo.self); #expect(value.text == "2") }
            await client.close()
        }
    }

    @Test("graceful shutdown: calls in flight complete, new calls get UNAVAILABLE")
    func gracefulShutdown() async throws {
        let service = TestService()
        let server = RPCServer(configuration: .init(host: "127.0.0.1", port: 0), router: service.router, logger: testLogger)
        try await server.start()
        let port = try #require(server.localPort)
        let client = RPCClient(host: "127.0.0.1", port: port)
        async let slow = client.unary(method: "test.Service/Slow", request: Echo(), responseType: Echo.self)
        await service.slowStarted.wait()

        // A raw connection with a call in flight sees the GOAWAY and has its new call refused.
        let raw = try await RawConnection.connect(port: port)
        try await raw.sendHello()
        try await raw.sendRequest(callID: 1, method: "test.Service/Slow", message: [])
        // Frames are handled in order: once the PING is answered, call 1 is running.
        try await raw.send(Frame(type: .ping, callID: 0, payload: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 1])))
        _ = await raw.nextFrame(ofType: .ping)

        let shutdown = Task { await server.shutdown() }
        let goAway = try #require(await raw.nextFrame(ofType: .goAway))
        let goAwayPayload = try GoAwayPayload.read(from: goAway.payload)
        #expect(goAwayPayload.status == .ok)
        #expect(goAwayPayload.lastCallID == 1)
        try await raw.sendRequest(callID: 2, method: "test.Service/Echo", message: Array("late".utf8))
        var refusedEnd = try #require(await raw.nextFrame(ofType: .end))
        #expect(refusedEnd.callID == 2)
        #expect(try EndHead.read(from: &refusedEnd.payload).status == .unavailable)

        let refused = await #expect(throws: RPCError.self) {
            _ = try await client.unary(method: "test.Service/Echo", request: Echo("late"), responseType: Echo.self)
        }
        #expect(refused?.code == .unavailable)

        service.releaseSlow.fire()
        let slowText = try await slow.text
            #expect(slowText == "slow done")
        var rawEnd = try #require(await raw.nextFrame(ofType: .end))
        #expect(rawEnd.callID == 1)
        #expect(try EndHead.read(from: &rawEnd.payload).status == .ok)
        try await raw.waitForClose()
        await shutdown.value
        await client.close()
    }

    @Test("a server that cannot be reached gives UNAVAILABLE; the client honours its own deadline")
    func unreachableAndSilentServers() async throws {
        // Nothing listens on a port we just closed.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let closedPort = probe.localAddress!.port!
        try await probe.close()
        let unreachable = RPCClient(host: "127.0.0.1", port: closedPort)
        let error = await #expect(throws: RPCError.self) {
            _ = try await unreachable.unary(method: "test.Service/Echo", request: Echo(), responseType: Echo.self)
        }
        #expect(error?.code == .unavailable)

        // A server that accepts and never answers.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let client = RPCClient(host: "127.0.0.1", port: silent.localAddress!.port!)
        let timeout = await #expect(throws: RPCError.self) {
            _ = try await client.unary(method: "test.Service/Echo", request: Echo(), responseType: Echo.self, options: CallOptions(timeout: .milliseconds(150)))
        }
        #expect(timeout?.code == .deadlineExceeded)
        await client.close()
        try await silent.close()
    }

    @Test("the client reconnects after the server restarts on the same port")
    func reconnectAfterRestart() async throws {
        let service = TestService()
        // A port below Linux's ephemeral range (32768-60999), so that no client socket of a test
        // running in parallel can take it between the two servers.
        var started: RPCServer?
        for candidate in (20000..<30000).shuffled().prefix(50) {
            let server = RPCServer(configuration: .init(host: "127.0.0.1", port: candidate), router: service.router, logger: testLogger)
            if (try? await server.start()) != nil {
                started = server
                break
            }
        }
        let first = try #require(started)
        let port = try #require(first.localPort)
        let client = RPCClient(host: "127.0.0.1", port: port)
        do { let value = try await client.unary(method: "test.Service/Echo", request: Echo("a"), responseType: Echo.self); #expect(value.text == "a") }
        let before = try #require(client.currentConnection)
        await first.shutdown()
        let second = RPCServer(configuration: .init(host: "127.0.0.1", port: port), router: service.router, logger: testLogger)
        // The kernel may refuse the port for a moment while the first server's closed sockets wind
        // down; poll until it binds (bounded).
        var bound = false
        for _ in 0..<100 where !bound {
            if (try? await second.start()) != nil { bound = true } else { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(bound, "could not bind port \(port) again within 5 s")
        do { let value = try await client.unary(method: "test.Service/Echo", request: Echo("b"), responseType: Echo.self); #expect(value.text == "b") }
        // Answered over a new connection: the first one ended with the first server.
        let after = try #require(client.currentConnection)
        #expect(after !== before, "the second call went over a new connection")
        await second.shutdown()
        await client.close()
    }
}
