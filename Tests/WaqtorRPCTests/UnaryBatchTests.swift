import NIOConcurrencyHelpers
import NIOCore
import Testing
import WaqtorTestSupport

@testable import WaqtorRPC

/// The unary calls of ordinary async methods that arrive in one read are started together, in one
/// task for as long as none of them suspends (`ServerConnectionHandler.startUnaryBatch`).
@Suite("Async unary calls read together")
struct UnaryBatchTests {
    final class Probe: Sendable {
        let ran = NIOLockedValueBox<[String]>([])
        let holdCancelled = Signal()
        /// Released only by cancellation (`waitCancellable` fires the signal it waits on), one per call.
        let holdRelease = Signal()
        let deadlineRelease = Signal()
    }

    static func router(_ probe: Probe) -> RPCRouter {
        var router = RPCRouter()
        // Answers without suspending.
        router.registerUnary("t/Now", request: Echo.self, response: Echo.self) { request, context in
            probe.ran.withLockedValue { $0.append(request.text) }
            return Echo(request.text + "|" + context.requestID)
        }
        // Suspends once, then answers.
        router.registerUnary("t/Yield", request: Echo.self, response: Echo.self) { request, context in
            probe.ran.withLockedValue { $0.append(request.text) }
            await Task.yield()
            try await Task.sleep(for: .milliseconds(1))
            return Echo(request.text + "|" + context.requestID)
        }
        // Waits until released or cancelled.
        router.registerUnary("t/Hold", request: Echo.self, response: Echo.self) { request, _ in
            probe.ran.withLockedValue { $0.append(request.text) }
            if request.text == "hold" {
                try await waitCancellable(probe.holdRelease, cancelled: probe.holdCancelled)
            } else {
                try await waitCancellable(probe.deadlineRelease)
            }
            return Echo(request.text)
        }
        // Throws after a first suspension or without one.
        router.registerUnary("t/Fail", request: Echo.self, response: Echo.self) { request, _ in
            probe.ran.withLockedValue { $0.append(request.text) }
            if request.text.hasSuffix("late") { await Task.yield() }
            throw RPCError(code: .failedPrecondition, message: "refused \(request.text)")
        }
        return router
    }

    static func request(_ id: UInt32, _ method: String, _ text: String, timeoutMicros: UInt64 = 0, into stream: inout ByteBuffer) {
        var payload = ByteBuffer()
        RequestHead(method: method, timeoutMicros: timeoutMicros, metadata: ["request-id": "r\(id)"]).write(to: &payload)
        payload.writeString(text)
        Frame(type: .request, callID: id, payload: payload).write(to: &stream)
    }

    @Test("calls that answer at once, suspend, fail, hold or time out, read together, are each answered once and correctly")
    func mixedBatch() async throws {
        let probe = Probe()
        try await withServer(Self.router(probe)) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendHello()
            // One write: the server reads these together.
            var stream = ByteBuffer()
            var expected: [UInt32: (RPCStatusCode, String)] = [:]
            let holdID: UInt32 = 7, deadlineID: UInt32 = 13
            for id: UInt32 in 1...40 {
                switch id {
                case holdID:
                    Self.request(id, "t/Hold", "hold", into: &stream)
                case deadlineID:
                    // Holds too, but with a 100 ms deadline: ended by the server's deadline.
                    Self.request(id, "t/Hold", "deadline", timeoutMicros: 100_000, into: &stream)
                    expected[id] = (.deadlineExceeded, "")
                case _ where id % 5 == 0:
                    Self.request(id, "t/Yield", "y\(id)", into: &stream)
                    expected[id] = (.ok, "y\(id)|r\(id)")
                case _ where id % 11 == 0:
                    Self.request(id, "t/Fail", "f\(id)" + (id == 22 ? "late" : ""), into: &stream)
                    expected[id] = (.failedPrecondition, "")
                default:
                    Self.request(id, "t/Now", "n\(id)", into: &stream)
                    expected[id] = (.ok, "n\(id)|r\(id)")
                }
            }
            try await raw.send(stream)

            var answered: [UInt32: (RPCStatusCode, String)] = [:]
            while answered.count < expected.count {
                var end = try #require(await raw.nextFrame(ofType: .end))
                let head = try EndHead.read(from: &end.payload)
                #expect(answered[end.callID] == nil, "call \(end.callID) answered twice")
                #expect(end.callID != holdID, "the held call was answered")
                #expect(head.metadata["request-id"] == "r\(end.callID)")
                answered[end.callID] = (head.status, head.status == .ok ? end.payload.readString(length: end.payload.readableBytes) ?? "" : "")
            }
            for (id, (status, text)) in expected {
                #expect(answered[id]?.0 == status, "call \(id)")
                #expect(answered[id]?.1 == text, "call \(id)")
            }
            // Every call ran once, the held one included.
            #expect(probe.ran.withLockedValue { $0.count } == 40)

            // The held call is still in flight on its own: cancelling it reaches its handler, and
            // the connection keeps serving.
            #expect(!probe.holdCancelled.isFired)
            try await raw.send(Frame(type: .cancel, callID: holdID, payload: ByteBuffer()))
            await probe.holdCancelled.wait()
            var next = ByteBuffer()
            Self.request(41, "t/Now", "after", into: &next)
            try await raw.send(next)
            var end = try #require(await raw.nextFrame(ofType: .end))
            #expect(end.callID == 41)
            #expect(try EndHead.read(from: &end.payload).status == .ok)
            await raw.close()
        }
    }

    @Test("frames after async calls in the same read are handled after those calls started, as before")
    func orderKept() async throws {
        let probe = Probe()
        try await withServer(Self.router(probe)) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendHello()
            var stream = ByteBuffer()
            Self.request(1, "t/Now", "first", into: &stream)
            Self.request(2, "t/Now", "second", into: &stream)
            // A CANCEL for a call that answered at once finds nothing to cancel.
            Frame(type: .cancel, callID: 2, payload: ByteBuffer()).write(to: &stream)
            Self.request(3, "t/Now", "third", into: &stream)
            Self.request(4, "t/Hold", "hold", into: &stream)
            // A CANCEL for a call that suspended reaches its handler.
            Frame(type: .cancel, callID: 4, payload: ByteBuffer()).write(to: &stream)
            Self.request(5, "t/Now", "fifth", into: &stream)
            var ping = ByteBuffer()
            ping.writeInteger(UInt64(42))
            Frame(type: .ping, callID: 0, payload: ping).write(to: &stream)
            try await raw.send(stream)
            // Everything up to the PING's ACK: the ENDs of the calls that answered at once.
            var ends: [UInt32] = []
            while let frame = await raw.nextFrame() {
                if frame.type == .ping { break }
                if frame.type == .end { ends.append(frame.callID) }
            }
            #expect(ends == [1, 2, 3, 5])
            await probe.holdCancelled.wait()
            #expect(probe.ran.withLockedValue { $0 } == ["first", "second", "third", "hold", "fifth"])
            await raw.close()
        }
    }

    @Test("through RPCClient: many tasks calling handlers that answer at once and handlers that suspend")
    func throughClient() async throws {
        let probe = Probe()
        try await withServer(Self.router(probe)) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<64 {
                    group.addTask {
                        for call in 0..<20 {
                            let method = (task + call) % 4 == 0 ? "t/Yield" : "t/Now"
                            let text = "\(task)-\(call)"
                            let (answer, metadata) = try await client.unaryWithMetadata(
                                method: method, request: Echo(text), responseType: Echo.self)
                            let requestID = try #require(metadata["request-id"])
                            #expect(answer.text == text + "|" + requestID)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(probe.ran.withLockedValue { $0.count } == 64 * 20)
            await client.close()
        }
    }
}
