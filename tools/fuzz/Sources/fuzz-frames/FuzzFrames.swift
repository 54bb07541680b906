// The frame reader (`FrameReader`, the `FrameDecoder` inside it) fed arbitrary byte streams.
//
// Input: byte 0 picks the frame limit (small, to reach `oversized` often, or 1 GiB, so that a
// buffer sized from an unbacked length field exceeds libFuzzer's -malloc_limit_mb); bytes 1-2 seed
// how the stream is cut into reads; the rest is the stream.
//
// Checked:
// - the same items (frames, and the same oversized or malformed report) whether the stream arrives
//   in one read, in reads of sizes drawn from the seed, or one byte at a time (up to 512 bytes);
// - nothing comes after an oversized or malformed report;
// - every frame written back gives exactly the bytes it was read from, in order.
import FuzzSupport
import NIOCore
import WaqtorRPC

struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func decodeAll(_ stream: [UInt8], limit: UInt32, chunkSizes: (inout SplitMix64) -> Int, seed: UInt64) -> [DecodedFrame] {
    var reader = FrameReader(maxFrameLength: limit)
    var generator = SplitMix64(state: seed)
    var items: [DecodedFrame] = []
    var offset = 0
    while offset < stream.count {
        let size = min(max(1, chunkSizes(&generator)), stream.count - offset)
        let buffer = ByteBuffer(bytes: stream[offset..<(offset + size)])
        reader.read(buffer) { items.append($0); return true }
        offset += size
    }
    return items
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard input.count >= 3 else { return 0 }
    let limit: UInt32 = input[0] & 1 == 0 ? UInt32(input[0]) * 4 + 6 : 1 << 30
    let seed = UInt64(input[1]) << 8 | UInt64(input[2])
    let stream = Array(input[3...])

    let whole = decodeAll(stream, limit: limit, chunkSizes: { _ in Int.max }, seed: seed)
    let split = decodeAll(stream, limit: limit, chunkSizes: { g in Int(g.next() % 17) + 1 }, seed: seed)
    precondition(whole == split, "reads of random sizes gave \(split), one read gave \(whole)")
    if stream.count <= 512 {
        let bytewise = decodeAll(stream, limit: limit, chunkSizes: { _ in 1 }, seed: seed)
        precondition(whole == bytewise, "one-byte reads gave \(bytewise), one read gave \(whole)")
    }

    var rewritten = ByteBuffer()
    for (index, item) in whole.enumerated() {
        switch item {
        case .frame(let frame):
            precondition(frame.payload.readableBytes + Frame.lengthCountedHeaderSize <= Int(limit), "a frame over the limit")
            frame.write(to: &rewritten)
        case .oversized(_, _, let length, let reportedLimit):
            precondition(index == whole.count - 1, "items after an oversized frame")
            precondition(length > limit && reportedLimit == limit)
        case .malformed:
            precondition(index == whole.count - 1, "items after a malformed frame")
        }
    }
    let written = rewritten.readableBytesView
    precondition(written.count <= stream.count && written.elementsEqual(stream[..<written.count]),
                 "frames written back differ from the bytes they were read from")
    return 0
}

// libFuzzer's driver, from the `main` SwiftPM gives this executable (FuzzSupport).
@_cdecl("fuzz_frames_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, { fuzzFrames($0, $1) })
}
