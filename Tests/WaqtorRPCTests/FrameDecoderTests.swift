import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import WaqtorRPC

@Suite("Frame decoder")
struct FrameDecoderTests {
    /// A stream of frames of every type and of payload sizes around the interesting edges.
    static func sampleFrames() -> [Frame] {
        var frames: [Frame] = []
        var id: UInt32 = 1
        for (index, type) in FrameType.allCases.enumerated() {
            for size in [0, 1, 5, 6, 127, 300] {
                let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
                frames.append(Frame(type: type, flags: UInt8(size % 2), callID: id, payload: ByteBuffer(bytes: bytes)))
                id &+= 7
            }
        }
        return frames
    }

    static func encode(_ frames: [Frame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(to: &buffer) }
        return buffer
    }

    /// Feeds `chunks` one after another and returns everything decoded.
    static func decode(chunks: [ByteBuffer], limit: UInt32 = 1 << 20) -> [DecodedFrame] {
        var decoder = FrameDecoder(maxFrameLength: limit)
        var cumulation = ByteBuffer()
        var out: [DecodedFrame] = []
        for var chunk in chunks {
            cumulation.writeBuffer(&chunk)
            while let next = decoder.next(from: &cumulation) { out.append(next) }
        }
        return out
    }

    @Test("the same frames whether the stream is split at any one boundary")
    func everySingleSplit() {
        let frames = Self.sampleFrames()
        let stream = Self.encode(frames)
        let expected = frames.map(DecodedFrame.frame)
        for cut in 0...stream.readableBytes {
            let first = stream.getSlice(at: 0, length: cut)!
            let second = stream.getSlice(at: cut, length: stream.readableBytes - cut)!
            #expect(Self.decode(chunks: [first, second]) == expected, "split at byte \(cut)")
        }
    }

    @Test("the same frames fed one byte at a time, all at once, and in uneven pairs of splits")
    func byteAtATimeAndMerged() {
        let frames = Self.sampleFrames()
        let stream = Self.encode(frames)
        let expected = frames.map(DecodedFrame.frame)
        let bytes = (0..<stream.readableBytes).map { stream.getSlice(at: $0, length: 1)! }
        #expect(Self.decode(chunks: bytes) == expected)
        #expect(Self.decode(chunks: [stream]) == expected)
        // Two cuts at a time over a smaller stream (every pair of boundaries).
        let small = Self.encode(Array(frames.prefix(8)))
        let smallExpected = Array(expected.prefix(8))
        for a in stride(from: 0, through: small.readableBytes, by: 3) {
            for b in stride(from: a, through: small.readableBytes, by: 5) {
                let chunks = [
                    small.getSlice(at: 0, length: a)!, small.getSlice(at: a, length: b - a)!,
                    small.getSlice(at: b, length: small.readableBytes - b)!,
                ]
                #expect(Self.decode(chunks: chunks) == smallExpected, "cuts at \(a) and \(b)")
            }
        }
    }

    @Test("NIO's decoder verifier agrees (splits and merges every way it knows)")
    func nioVerifier() throws {
        let frames = Array(Self.sampleFrames().prefix(12))
        var pairs: [(ByteBuffer, [DecodedFrame])] = []
        for frame in frames {
            pairs.append((Self.encode([frame]), [.frame(frame)]))
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameDecoder(maxFrameLength: 1 << 20)
        }
    }

    @Test("an oversized frame is reported with its call id before its payload arrives")
    func oversized() {
        var buffer = ByteBuffer()
        Frame.writeHeader(type: .request, flags: 0, callID: 42, payloadLength: 5000, to: &buffer)
        let result = Self.decode(chunks: [buffer], limit: 1024)
        #expect(result == [.oversized(rawType: FrameType.request.rawValue, callID: 42, length: 5006, limit: 1024)])
    }

    @Test("a length below the header size and an unknown type are malformed; input after them is dropped")
    func malformed() {
        var short = ByteBuffer()
        short.writeInteger(UInt32(3))
        short.writeBytes([1, 2, 3])
        Frame(type: .ping, callID: 0, payload: ByteBuffer(bytes: [0])).write(to: &short)
        let shortResult = Self.decode(chunks: [short])
        #expect(shortResult.count == 1)
        if case .malformed = shortResult.first {} else { Issue.record("expected malformed, got \(shortResult)") }

        var unknown = ByteBuffer()
        unknown.writeInteger(UInt32(6))
        unknown.writeBytes([0x7F, 0, 0, 0, 0, 1])
        let unknownResult = Self.decode(chunks: [unknown])
        #expect(unknownResult == [.malformed(reason: "unknown frame type 0x7f")])
    }

    @Test("a truncated frame yields nothing until the rest arrives")
    func truncated() {
        let frame = Frame(type: .request, callID: 9, payload: ByteBuffer(bytes: Array(repeating: 1, count: 40)))
        let stream = Self.encode([frame])
        #expect(Self.decode(chunks: [stream.getSlice(at: 0, length: 30)!]).isEmpty)
    }
}

@Suite("Wire format")
struct WireFormatTests {
    @Test("request and end heads round-trip, with metadata")
    func heads() throws {
        var metadata = Metadata()
        metadata.add("Authorization", "Bearer abc")
        metadata.add("request-id", "r-1")
        metadata.add("x-multi", "1")
        metadata.add("x-multi", "ünïcode ✓")
        let request = RequestHead(method: "waqtor.v1.HealthService/Ping", timeoutMicros: 1_500_000, metadata: metadata)
        var buffer = ByteBuffer()
        request.write(to: &buffer)
        buffer.writeBytes([9, 9])
        let readRequest = try RequestHead.read(from: &buffer)
        #expect(readRequest == request)
        #expect(readRequest.metadata["authorization"] == "Bearer abc")
        #expect(readRequest.metadata.values(for: "x-multi") == ["1", "ünïcode ✓"])
        #expect(buffer.readableBytes == 2)

        let end = EndHead(status: .notFound, message: "no such campaign", metadata: ["retry-after-ms": "10"])
        var endBuffer = ByteBuffer()
        end.write(to: &endBuffer)
        #expect(try EndHead.read(from: &endBuffer) == end)
    }

    @Test("the in-place END builder writes the same bytes as the plain encoder")
    func frameBuilderMatchesEncoder() throws {
        var body = ByteBuffer.withReservedHead()
        body.writeBytes([1, 2, 3])
        let built = FrameBuilder.end(callID: 77, status: .ok, message: "fine", requestID: "abc", extra: ["k": "v"], body: body)
        var payload = ByteBuffer()
        EndHead(status: .ok, message: "fine", metadata: ["request-id": "abc", "k": "v"]).write(to: &payload)
        payload.writeBytes([1, 2, 3])
        var expected = ByteBuffer()
        Frame(type: .end, callID: 77, payload: payload).write(to: &expected)
        #expect(built == expected)

        // Without room in front the builder falls back to a fresh buffer.
        let plain = FrameBuilder.end(callID: 77, status: .ok, message: "fine", requestID: "abc", extra: ["k": "v"], body: ByteBuffer(bytes: [1, 2, 3]))
        #expect(plain == expected)
    }

    @Test("truncated heads throw instead of crashing")
    func truncatedHeads() {
        let request = RequestHead(method: "a.B/C", timeoutMicros: 1, metadata: ["k": "value"])
        var full = ByteBuffer()
        request.write(to: &full)
        for length in 0..<full.readableBytes {
            var cut = full.getSlice(at: 0, length: length)!
            #expect(throws: WireFormatError.self) { try RequestHead.read(from: &cut) }
        }
    }

    @Test("status codes have gRPC's numbers and names")
    func statusCodes() {
        #expect(RPCStatusCode.allCases.count == 17)
        #expect(RPCStatusCode.deadlineExceeded.rawValue == 4)
        #expect(RPCStatusCode.unauthenticated.rawValue == 16)
        #expect(RPCStatusCode.resourceExhausted.name == "RESOURCE_EXHAUSTED")
    }
}

@Suite("Deadline queue")
struct DeadlineQueueTests {
    @Test("pops in deadline order whatever the push order, and compaction keeps the order")
    func ordering() {
        var generator = SystemRandomNumberGenerator()
        var queue = DeadlineQueue()
        var expected: [UInt64] = []
        for index in 0..<500 {
            let at = UInt64.random(in: 0..<10_000, using: &generator)
            queue.push(.init(at: at, callID: UInt32(index)))
            expected.append(at)
        }
        queue.compact { $0.callID % 3 != 0 }
        let kept = (0..<500).filter { $0 % 3 != 0 }.map { expected[$0] }.sorted()
        var popped: [UInt64] = []
        while let entry = queue.popFirst() { popped.append(entry.at) }
        #expect(popped == kept)
        #expect(queue.isEmpty)
    }
}
