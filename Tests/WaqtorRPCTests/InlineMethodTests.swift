import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import WaqtorRPC

/// Inline methods (answered on the event loop, without a task) and the server connection's own
/// framing, which every call now goes through.
@Suite("Inline methods and the server's framing over real sockets")
struct InlineMethodTests {
    static var router: RPCRouter {
        var router = TestService().router
        router.registerInlineUnary("test.Service/InlineEcho", request: Echo.self, response: Echo.self) { request, context in
            Echo(request.text + "|" + context.requestID)
        }
        router.registerInlineUnary("test.Service/InlineFail", request: Echo.self, response: Echo.self) { request, _ in
            if request.text == "internal" { throw SomeInternalError() }
            throw RPCError(code: .failedPrecondition, message: "inline refused: \(request.text)", metadata: ["retry-after-ms": "7"])
        }
        router.registerInlineUnary("test.Service/InlineDeadline", request: Echo.self, response: Echo.self) { _, context in
            // Milliseconds left until the call's deadline, as the handler sees it.
            guard let deadline = context.deadline else { return Echo("none") }
            let left = ContinuousClock.now.duration(to: deadline)
            return Echo("\(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)")
        }
        return router
    }

    @Test("an inline method answers with its response and the call's request id")
    func answers() async throws {
        try await withServer(Self.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let (message, trailers) = try await client.unaryWithMetadata(
                method: "test.Service/InlineEcho", request: Echo("hi"), responseType: Echo.self,
                options: CallOptions(metadata: ["request-id": "inline-1"]))
            #expect(message.text == "hi|inline-1")
            #expect(trailers["request-id"] == "inline-1")
            let (generated, generatedTrailers) = try await client.unaryWithMetadata(
                method: "test.Service/InlineEcho", request: Echo("x"), responseType: Echo.self)
            let id = try #require(generatedTrailers["request-id"])
            #expect(id.count == 15 && id.hasPrefix("s"))
            #expect(generated.text == "x|\(id)")
            await client.close()
        }
    }

    @Test("inline errors keep code, message and metadata; unexpected ones become INTERNAL; bad bytes INVALID_ARGUMENT")
    func errors() async throws {
        try await withServer(Self.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let refused = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/InlineFail", request: Echo("x"), responseType: Echo.self)
            }
            #expect(refused?.code == .failedPrecondition)
            #expect(refused?.message == "inline refused: x")
            #expect(refused?.metadata["retry-after-ms"] == "7")
            #expect(refused?.metadata["request-id"]?.isEmpty == false)
            let internalFailure = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/InlineFail", request: Echo("internal"), responseType: Echo.self)
            }
            #expect(internalFailure?.code == .internalError)
            #expect(internalFailure?.message.contains("hunter2") == false)
            let malformed = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/InlineEcho", request: Echo([0xFF]), responseType: Echo.self)
            }
            #expect(malformed?.code == .invalidArgument)
            // The connection keeps working after each of them.
            let value = try await client.unary(method: "test.Service/InlineEcho", request: Echo("after"), responseType: Echo.self)
            #expect(value.text.hasPrefix("after|"))
            await client.close()
        }
    }

    @Test("an inline method sees the call's deadline, counted from when the request was read")
    func deadline() async throws {
        try await withServer(Self.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let before = ContinuousClock.now
            let answer = try await client.unary(
                method: "test.Service/InlineDeadline", request: Echo(), responseType: Echo.self,
                options: CallOptions(timeout: .seconds(30)))
            let took = before.duration(to: .now)
            let left = try #require(Int64(answer.text), "the handler saw a deadline")
            // At most the 30 s timeout, and at least 30 s less the whole round trip (and 1 ms of
            // rounding).
            #expect(left <= 30_000)
            #expect(left >= 30_000 - took.components.seconds * 1000 - took.components.attoseconds / 1_000_000_000_000_000 - 1)
            let none = try await client.unary(method: "test.Service/InlineDeadline", request: Echo(), responseType: Echo.self)
            #expect(none.text == "none")
            await client.close()
        }
    }

    /// A HELLO, then REQUESTs with call ids 1...count: (method, timeout µs, metadata, message text).
    static func helloAndRequests(
        count: Int, _ request: (Int) -> (String, UInt64, Metadata, String)
    ) -> ByteBuffer {
        var stream = ByteBuffer()
        var hello = ByteBuffer()
        HelloPayload().write(to: &hello)
        Frame(type: .hello, callID: 0, payload: hello).write(to: &stream)
        for id in 1...count {
            let (method, timeout, metadata, text) = request(id)
            var payload = ByteBuffer()
            RequestHead(method: method, timeoutMicros: timeout, metadata: metadata).write(to: &payload)
            payload.writeString(text)
            Frame(type: .request, callID: UInt32(id), payload: payload).write(to: &stream)
        }
        return stream
    }

    @Test("requests sent a byte at a time, mixed inline and async, are all answered once and correctly")
    func byteByByte() async throws {
        // Two minutes for the HELLO: one write per byte on a loaded machine took the default 10 s
        // before the HELLO was whole, and the server closed the connection as it should.
        try await withServer(Self.router, configuration: .init(port: 0, handshakeTimeout: .seconds(120))) { _, port in
            let raw = try await RawConnection.connect(port: port)
            let count = 24
            var stream = Self.helloAndRequests(count: count) { id in
                (id % 2 == 0 ? "test.Service/InlineEcho" : "test.Service/Echo", 0, ["request-id": "r\(id)"], "m\(id)")
            }
            // One write per byte: the server sees the frames cut at every possible place.
            while let byte = stream.readBytes(length: 1) {
                try await raw.send(ByteBuffer(bytes: byte))
            }
            var answered: [UInt32: String] = [:]
            while answered.count < count {
                var end = try #require(await raw.nextFrame(ofType: .end))
                let head = try EndHead.read(from: &end.payload)
                #expect(head.status == .ok)
                #expect(answered[end.callID] == nil, "call \(end.callID) answered twice")
                #expect(head.metadata["request-id"] == "r\(end.callID)")
                answered[end.callID] = end.payload.readString(length: end.payload.readableBytes)
            }
            for id in 1...count {
                #expect(answered[UInt32(id)] == (id % 2 == 0 ? "m\(id)|r\(id)" : "m\(id)"))
            }
            await raw.close()
        }
    }

    @Test("many requests in one write are answered in one batch, with every call id once")
    func oneWrite() async throws {
        try await withServer(Self.router) { _, port in
            let raw = try await RawConnection.connect(port: port)
            let count = 500
            let stream = Self.helloAndRequests(count: count) { id in
                ("test.Service/InlineEcho", 5_000_000, [:], "\(id)")
            }
            try await raw.send(stream)
            var seen = Set<UInt32>()
            while seen.count < count {
                var end = try #require(await raw.nextFrame(ofType: .end))
                #expect(try EndHead.read(from: &end.payload).status == .ok)
                let text = end.payload.readString(length: end.payload.readableBytes) ?? ""
                #expect(text.hasPrefix("\(end.callID)|"))
                #expect(seen.insert(end.callID).inserted)
            }
            await raw.close()
        }
    }

    struct Refuser: RPCInterceptor {
        let publicMethods: Set<String>
        func passesThrough(method: String) -> Bool { publicMethods.contains(method) }
        func intercept<Result: Sendable>(context: ServerContext, next: @Sendable () async throws -> Result) async throws -> Result {
            if context.metadata["authorization"] == nil {
                throw RPCError(code: .unauthenticated, message: "no credential")
            }
            return try await next()
        }
    }

    @Test("an interceptor wraps inline methods (which then run as tasks) unless it passes them through")
    func interceptors() async throws {
        var router = Self.router
        router.intercept(with: Refuser(publicMethods: ["test.Service/InlineDeadline"]))
        guard case .inlineUnary? = router.handlers["test.Service/InlineDeadline"] else {
            Issue.record("a method the interceptor passes through stays inline")
            return
        }
        guard case .unary? = router.handlers["test.Service/InlineEcho"] else {
            Issue.record("an intercepted inline method becomes an ordinary unary one")
            return
        }
        try await withServer(router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            let refused = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "test.Service/InlineEcho", request: Echo("x"), responseType: Echo.self)
            }
            #expect(refused?.code == .unauthenticated)
            let allowed = try await client.unary(
                method: "test.Service/InlineEcho", request: Echo("y"), responseType: Echo.self,
                options: CallOptions(metadata: ["authorization": "Bearer t", "request-id": "q"]))
            #expect(allowed.text == "y|q")
            let open = try await client.unary(method: "test.Service/InlineDeadline", request: Echo(), responseType: Echo.self)
            #expect(open.text == "none")
            await client.close()
        }
    }
}
