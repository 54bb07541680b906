import NIOCore

/// The head of a REQUEST payload (docs/PROTOCOL.md, "REQUEST").
///
/// `timeout_micros:u64 | method_len:u16 | method | metadata | message`
public struct RequestHead: Sendable, Equatable {
    /// The full method name, `package.Service/Method`.
    public var method: String
    /// Microseconds the caller waits, counted from when the server reads the frame; 0 = no deadline.
    public var timeoutMicros: UInt64
    public var metadata: Metadata

    public init(method: String, timeoutMicros: UInt64, metadata: Metadata) {
        self.method = method
        self.timeoutMicros = timeoutMicros
        self.metadata = metadata
    }

    /// Writes the head; the caller appends the message bytes after it.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(timeoutMicros)
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt16(0))
        let written = buffer.writeString(method)
        buffer.setInteger(UInt16(written), at: lengthIndex)
        MetadataCodec.write(metadata, to: &buffer)
    }

    /// Reads a head from the front of `payload`, leaving the message bytes readable.
    public static func read(from payload: inout ByteBuffer) throws(WireFormatError) -> RequestHead {
        guard let timeout: UInt64 = payload.readInteger() else {
            throw WireFormatError("the REQUEST payload is shorter than its 8-byte timeout field")
        }
        guard let methodLength: UInt16 = payload.readInteger() else {
            throw WireFormatError("the REQUEST payload ends before the method length")
        }
        guard let method = payload.readString(length: Int(methodLength)) else {
            throw WireFormatError("the REQUEST payload ends inside the method name (\(methodLength) bytes announced)")
        }
        let metadata = try MetadataCodec.read(from: &payload)
        return RequestHead(method: method, timeoutMicros: timeout, metadata: metadata)
    }
}

/// The head of an END payload (docs/PROTOCOL.md, "END").
///
/// `status:u8 | message_len:u16 | message | metadata | response`
public struct EndHead: Sendable, Equatable {
    public var status: RPCStatusCode
    public var message: String
    public var metadata: Metadata

    public init(status: RPCStatusCode, message: String = "", metadata: Metadata = [:]) {
        self.status = status
        self.message = message
        self.metadata = metadata
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(status.rawValue)
        EndHead.writeShortString(message, to: &buffer)
        MetadataCodec.write(metadata, to: &buffer)
    }

    public static func read(from payload: inout ByteBuffer) throws(WireFormatError) -> EndHead {
        guard let status: UInt8 = payload.readInteger() else {
            throw WireFormatError("the END payload has no status byte")
        }
        guard let length: UInt16 = payload.readInteger(), let message = payload.readString(length: Int(length)) else {
            throw WireFormatError("the END payload ends inside its status message")
        }
        let metadata = try MetadataCodec.read(from: &payload)
        return EndHead(status: RPCStatusCode(rawValue: status), message: message, metadata: metadata)
    }

    /// Checks the head by its lengths and moves past it without building its strings (the message
    /// and metadata); returns the status. For callers that need only the status and the response.
    public static func skip(from payload: inout ByteBuffer) throws(WireFormatError) -> RPCStatusCode {
        let head: (status: UInt8, length: Int)? = payload.withUnsafeReadableBytes { raw in
            guard raw.count >= 5 else { return nil }
            var index = 3 + Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 1, as: UInt16.self)))
            guard raw.count >= index + 2 else { return nil }
            let entries = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt16.self)))
            index += 2
            for _ in 0..<entries {
                guard raw.count >= index + 2 else { return nil }
                index += 2 + Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt16.self)))
                guard raw.count >= index + 4 else { return nil }
                index += 4 + Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
                guard raw.count >= index else { return nil }
            }
            return (raw[0], index)
        }
        guard let head else { throw WireFormatError("the END head's lengths run past its payload") }
        payload.moveReaderIndex(forwardBy: head.length)
        return RPCStatusCode(rawValue: head.status)
    }

    /// Writes a UTF-8 string with a u16 length, cut at a character boundary to fit 65,535 bytes.
    static func writeShortString(_ string: String, to buffer: inout ByteBuffer) {
        var utf8 = Array(string.utf8)
        if utf8.count > Int(UInt16.max) {
            var end = Int(UInt16.max)
            while end > 0 && (utf8[end] & 0xC0) == 0x80 { end -= 1 }
            utf8 = Array(utf8[..<end])
        }
        buffer.writeInteger(UInt16(utf8.count))
        buffer.writeBytes(utf8)
    }
}

/// The GOAWAY payload: `last_call_id:u32 | status:u8 | message_len:u16 | message`.
public struct GoAwayPayload: Sendable, Equatable {
    /// The highest call id the server accepted; calls above it were not run.
    public var lastCallID: UInt32
    /// OK for a graceful shutdown or idle close; an error code for a protocol violation.
    public var status: RPCStatusCode
    public var message: String

    public init(lastCallID: UInt32, status: RPCStatusCode, message: String) {
        self.lastCallID = lastCallID
        self.status = status
        self.message = message
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(lastCallID)
        buffer.writeInteger(status.rawValue)
        EndHead.writeShortString(message, to: &buffer)
    }

    public static func read(from payload: ByteBuffer) throws(WireFormatError) -> GoAwayPayload {
        var buffer = payload
        guard let last: UInt32 = buffer.readInteger(), let status: UInt8 = buffer.readInteger(),
              let length: UInt16 = buffer.readInteger(), let message = buffer.readString(length: Int(length))
        else { throw WireFormatError("malformed GOAWAY payload") }
        return GoAwayPayload(lastCallID: last, status: RPCStatusCode(rawValue: status), message: message)
    }
}

/// Metadata on the wire: `count:u16`, then per entry `key_len:u16 | key | value_len:u32 | value`.
public enum MetadataCodec {
    /// Longest key accepted.
    public static let maxKeyLength = 255

    public static func write(_ metadata: Metadata, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(min(metadata.count, Int(UInt16.max))))
        for entry in metadata.entries.prefix(Int(UInt16.max)) {
            let keyIndex = buffer.writerIndex
            buffer.writeInteger(UInt16(0))
            let keyLength = buffer.writeString(entry.key)
            buffer.setInteger(UInt16(keyLength), at: keyIndex)
            let valueIndex = buffer.writerIndex
            buffer.writeInteger(UInt32(0))
            let valueLength = buffer.writeString(entry.value)
            buffer.setInteger(UInt32(valueLength), at: valueIndex)
        }
    }

    public static func read(from buffer: inout ByteBuffer) throws(WireFormatError) -> Metadata {
        guard let count: UInt16 = buffer.readInteger() else {
            throw WireFormatError("the payload ends before the metadata count")
        }
        var metadata = Metadata()
        // Each entry takes at least 7 bytes: do not trust the count beyond what the bytes can hold.
        if count > 0 { metadata.reserveCapacity(min(Int(count), buffer.readableBytes / 7)) }
        for index in 0..<Int(count) {
            guard let keyLength: UInt16 = buffer.readInteger(), let key = buffer.readString(length: Int(keyLength)) else {
                throw WireFormatError("metadata entry \(index) is truncated in its key")
            }
            guard keyLength > 0, keyLength <= maxKeyLength, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw WireFormatError("metadata entry \(index) has an invalid key (1-255 printable ASCII characters, no spaces)")
            }
            guard let valueLength: UInt32 = buffer.readInteger(), let value = buffer.readString(length: Int(valueLength)) else {
                throw WireFormatError("metadata entry \(index) ('\(key)') is truncated in its value")
            }
            metadata.add(key, value)
        }
        return metadata
    }
}
