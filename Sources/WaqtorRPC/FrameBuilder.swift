import NIOCore

/// Builds whole frames, writing the head in front of an already-serialized message when the
/// message's buffer left room for it (``ByteBuffer/withReservedHead(capacity:)``), so that one
/// allocation carries the frame to the socket.
enum FrameBuilder {
    /// A MESSAGE frame around `body`.
    static func message(callID: UInt32, body: consuming ByteBuffer) -> ByteBuffer {
        prepend(headSize: Frame.headerSize, bodyLength: body.readableBytes, to: body) { head in
            head.header(type: .message, flags: 0, callID: callID)
        }
    }

    /// An END frame: status, message, `request-id` plus `extra` metadata, and `body` (unary responses).
    static func end(
        callID: UInt32, status: RPCStatusCode, message: String, requestID: String, extra: Metadata = Metadata(),
        body: consuming ByteBuffer
    ) -> ByteBuffer {
        let hasRequestID = !requestID.isEmpty
        var metadataSize = 2 + (hasRequestID ? 2 + 10 + 4 + requestID.utf8.count : 0)
        for entry in extra { metadataSize += 2 + entry.key.utf8.count + 4 + entry.value.utf8.count }
        let messageLength = min(message.utf8.count, Int(UInt16.max))
        let headSize = Frame.headerSize + 1 + 2 + messageLength + metadataSize
        if messageLength < message.utf8.count {
            // Rare: a message too long for its u16 length; go the slow, careful way.
            var frame = ByteBufferAllocator().buffer(capacity: headSize + body.readableBytes)
            var payload = ByteBufferAllocator().buffer(capacity: headSize)
            var metadata = extra
            if hasRequestID { metadata.add(Metadata.Keys.requestID, requestID) }
            EndHead(status: status, message: message, metadata: metadata).write(to: &payload)
            payload.writeImmutableBuffer(body)
            Frame(type: .end, callID: callID, payload: payload).write(to: &frame)
            return frame
        }
        return prepend(headSize: headSize, bodyLength: body.readableBytes, to: body) { head in
            head.header(type: .end, flags: 0, callID: callID)
            head.integer(status.rawValue)
            head.integer(UInt16(messageLength))
            head.string(message)
            head.integer(UInt16((hasRequestID ? 1 : 0) + extra.count))
            if hasRequestID {
                head.integer(UInt16(10))
                head.string(Metadata.Keys.requestID)
                head.integer(UInt32(requestID.utf8.count))
                head.string(requestID)
            }
            for entry in extra {
                head.integer(UInt16(entry.key.utf8.count))
                head.string(entry.key)
                head.integer(UInt32(entry.value.utf8.count))
                head.string(entry.value)
            }
        }
    }

    /// Appends the head of an OK END frame (no message, the `request-id` metadata) to `out`; the
    /// response is appended next, then ``finishEnd(startingAt:in:)`` writes the frame's length.
    static func beginEnd(callID: UInt32, requestID: String, into out: inout ByteBuffer) {
        let hasRequestID = !requestID.isEmpty
        let headSize = Frame.headerSize + 1 + 2 + 2 + (hasRequestID ? 2 + 10 + 4 + requestID.utf8.count : 0)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: headSize) { raw in
            var head = HeadWriter(raw: raw, index: 0, payloadLength: 0)  // the length is set by finishEnd
            head.header(type: .end, flags: 0, callID: callID)
            head.integer(RPCStatusCode.ok.rawValue)
            head.integer(UInt16(0))
            head.integer(UInt16(hasRequestID ? 1 : 0))
            if hasRequestID {
                head.integer(UInt16(10))
                head.string(Metadata.Keys.requestID)
                head.integer(UInt32(requestID.utf8.count))
                head.string(requestID)
            }
            return headSize
        }
    }

    /// Writes the length of the frame that ``beginEnd(callID:requestID:into:)`` started at `start`.
    static func finishEnd(startingAt start: Int, in out: inout ByteBuffer) {
        out.setInteger(UInt32(out.writerIndex - start - 4), at: start)
    }

    /// Writes `headSize` bytes in front of `body`: in place when there is room, else into a new buffer.
    private static func prepend(
        headSize: Int, bodyLength: Int, to body: consuming ByteBuffer, _ writeHead: (inout HeadWriter) -> Void
    ) -> ByteBuffer {
        var frame = body
        if frame.readerIndex >= headSize {
            let start = frame.readerIndex - headSize
            // One uniqueness check and raw stores, instead of a checked `set` per field.
            frame.withVeryUnsafeMutableBytes { raw in
                var writer = HeadWriter(raw: raw, index: start, payloadLength: headSize - Frame.headerSize + bodyLength)
                writeHead(&writer)
            }
            frame.moveReaderIndex(to: start)
            return frame
        }
        var fresh = ByteBufferAllocator().buffer(capacity: headSize + bodyLength)
        fresh.moveWriterIndex(forwardBy: headSize)
        fresh.writeBuffer(&frame)
        fresh.withVeryUnsafeMutableBytes { raw in
            var writer = HeadWriter(raw: raw, index: 0, payloadLength: headSize - Frame.headerSize + bodyLength)
            writeHead(&writer)
        }
        return fresh
    }
}

/// Writes a frame head, big-endian, into raw bytes the caller has sized for it.
struct HeadWriter {
    let raw: UnsafeMutableRawBufferPointer
    var index: Int
    let payloadLength: Int

    mutating func header(type: FrameType, flags: UInt8, callID: UInt32) {
        integer(UInt32(payloadLength + Frame.lengthCountedHeaderSize))
        integer(type.rawValue)
        integer(flags)
        integer(callID)
    }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        precondition(index + MemoryLayout<T>.size <= raw.count)
        raw.storeBytes(of: value.bigEndian, toByteOffset: index, as: T.self)
        index += MemoryLayout<T>.size
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            precondition(index + utf8.count <= raw.count)
            UnsafeMutableRawBufferPointer(rebasing: raw[index..<(index + utf8.count)]).copyMemory(from: UnsafeRawBufferPointer(utf8))
            index += utf8.count
        }
    }
}
