import NIOCore

/// What the frame decoder hands to a connection handler.
public enum DecodedFrame: Sendable, Equatable {
    /// A well-formed frame within the size limit.
    case frame(Frame)
    /// A frame whose `length` exceeds the limit. Its payload is not read: the connection must be
    /// closed after answering, since the rest of the stream cannot be trusted to be in step.
    case oversized(rawType: UInt8, callID: UInt32, length: UInt32, limit: UInt32)
    /// A frame that breaks the framing rules (a `length` below 6, an unknown type).
    case malformed(reason: String)
}

/// Splits a byte stream into frames, never buffering more than one frame of at most
/// `maxFrameLength` bytes (plus the 4-byte prefix).
///
/// The only state is how far the stream has been read; a frame split across reads is simply left
/// in the cumulation buffer until it is whole, so the output does not depend on how the bytes were
/// chunked. After an oversized or malformed frame the decoder discards all further input.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = DecodedFrame

    public let maxFrameLength: UInt32
    private var poisoned = false

    public init(maxFrameLength: UInt32) {
        self.maxFrameLength = maxFrameLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let decoded = self.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(decoded))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A truncated trailing frame is simply dropped with the connection.
        try self.decode(context: context, buffer: &buffer)
    }

    /// Reads one decoded item from the front of `buffer`, or nil when more bytes are needed.
    /// Exposed for tests and for the client, which shares the framing.
    public mutating func next(from buffer: inout ByteBuffer) -> DecodedFrame? {
        if poisoned {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return nil
        }
        guard let length: UInt32 = buffer.getInteger(at: buffer.readerIndex) else { return nil }
        if length < UInt32(Frame.lengthCountedHeaderSize) {
            return poison(&buffer, .malformed(reason: "frame length \(length) is below the 6-byte minimum (type, flags, call id)"))
        }
        // Every other outcome needs the whole header (an oversized frame's answer names its call).
        guard buffer.readableBytes >= Frame.headerSize else { return nil }
        let (rawType, flags, callID) = buffer.withUnsafeReadableBytes { raw in
            (raw[4], raw[5], UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 6, as: UInt32.self)))
        }
        if length > maxFrameLength {
            return poison(&buffer, .oversized(rawType: rawType, callID: callID, length: length, limit: maxFrameLength))
        }
        guard buffer.readableBytes >= Int(length) + 4 else { return nil }
        guard let type = FrameType(rawValue: rawType) else {
            return poison(&buffer, .malformed(reason: "unknown frame type 0x\(String(rawType, radix: 16))"))
        }
        buffer.moveReaderIndex(forwardBy: Frame.headerSize)
        let payload = buffer.readSlice(length: Int(length) - Frame.lengthCountedHeaderSize)!
        return .frame(Frame(type: type, flags: flags, callID: callID, payload: payload))
    }

    /// After a framing error nothing more can be trusted: discards all input, now and later.
    private mutating func poison(_ buffer: inout ByteBuffer, _ report: DecodedFrame) -> DecodedFrame {
        poisoned = true
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return report
    }
}

/// Splits a connection's incoming bytes into frames: a ``FrameDecoder`` plus the start of a frame
/// that has not fully arrived yet. Channel handlers feed it each read themselves, so that a frame
/// costs no trip through the pipeline (and no boxing into `NIOAny`).
public struct FrameReader: Sendable {
    private var decoder: FrameDecoder
    private(set) var partial: ByteBuffer?
    private let maxFrameLength: UInt32

    public init(maxFrameLength: UInt32) {
        self.decoder = FrameDecoder(maxFrameLength: maxFrameLength)
        self.maxFrameLength = maxFrameLength
    }

    /// Calls `body` with every item that `bytes` completes (after what earlier reads left over),
    /// in order, until `body` returns false; the bytes of an incomplete frame are kept for the
    /// next read, in a buffer of their own so that the channel's receive buffer is not pinned.
    @inlinable
    public mutating func read(_ bytes: ByteBuffer, _ body: (DecodedFrame) -> Bool) {
        let owned = hasPartial
        var buffer = takePartial(appending: bytes)
        while let decoded = nextDecoded(from: &buffer) {
            guard body(decoded) else { return }
        }
        keepPartial(buffer, owned: owned)
    }

    /// The most room `keepPartial` makes for bytes of a frame that have not arrived yet.
    @usableFromInline
    static let partialLookahead = 64 * 1024

    @usableFromInline
    var hasPartial: Bool { partial != nil }

    @usableFromInline
    mutating func nextDecoded(from buffer: inout ByteBuffer) -> DecodedFrame? {
        decoder.next(from: &buffer)
    }

    @usableFromInline
    mutating func takePartial(appending bytes: ByteBuffer) -> ByteBuffer {
        guard var earlier = partial.take() else { return bytes }
        var bytes = bytes
        earlier.writeBuffer(&bytes)
        return earlier
    }

    /// Keeps the unread bytes. A buffer of our own (`owned`: earlier bytes with this read's
    /// appended) is kept as it is, so that a frame trickling in costs amortised linear time; the
    /// channel's receive buffer is copied out.
    @usableFromInline
    mutating func keepPartial(_ buffer: ByteBuffer, owned: Bool) {
        guard buffer.readableBytes > 0 else { return }
        var buffer = buffer
        if owned {
            if buffer.readerIndex >= buffer.readableBytes { buffer.discardReadBytes() }
            partial = buffer
            return
        }
        // Room for the whole frame when its length is known (within the limit), but never more than
        // `partialLookahead` bytes beyond what has arrived: a length field alone must not make the
        // reader allocate the frame (a few bytes per connection would pin the limit's worth each).
        // A larger frame grows the buffer by doubling as its bytes come.
        let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map { Int(min($0, maxFrameLength)) + 4 } ?? 0
        let room = min(length, buffer.readableBytes + Self.partialLookahead)
        var own = ByteBufferAllocator().buffer(capacity: max(buffer.readableBytes, room, 64))
        own.writeBuffer(&buffer)
        partial = own
    }
}
