import NIOCore
import Testing

@testable import WaqtorRPC

/// Inputs found by the frame reader's fuzz target (tools/fuzz, fuzz-frames).
@Suite("Frame reader: fuzzing regressions")
struct FuzzFrameReaderRegressionTests {
    /// A frame header announcing 1 GiB made the reader allocate the whole frame (2 GiB rounded up)
    /// before any of it had arrived; now it keeps at most 64 KiB of room beyond the bytes it has.
    @Test("a length field alone does not size the buffer for the frame")
    func unbackedLengthIsNotAllocated() {
        var reader = FrameReader(maxFrameLength: 1 << 30)
        var header = ByteBuffer()
        header.writeInteger(UInt32(1 << 30))
        header.writeInteger(FrameType.message.rawValue)
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt32(1))
        var items: [DecodedFrame] = []
        reader.read(header) { items.append($0); return true }
        #expect(items.isEmpty)
        let kept = try! #require(reader.partial)
        #expect(kept.readableBytes == 10)
        // ByteBuffer rounds a capacity up to a power of two.
        #expect(kept.capacity <= 2 * (10 + FrameReader.partialLookahead))
    }

    /// A frame larger than the lookahead still arrives whole, in pieces of any size.
    @Test("a frame larger than the lookahead, trickling in, decodes whole")
    func largeFrameInPieces() {
        let payload = ByteBuffer(bytes: (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        var stream = ByteBuffer()
        Frame(type: .message, callID: 3, payload: payload).write(to: &stream)
        var reader = FrameReader(maxFrameLength: 1 << 20)
        var items: [DecodedFrame] = []
        while stream.readableBytes > 0 {
            let piece = stream.readSlice(length: min(4093, stream.readableBytes))!
            reader.read(piece) { items.append($0); return true }
        }
        #expect(items == [.frame(Frame(type: .message, callID: 3, payload: payload))])
    }
}
