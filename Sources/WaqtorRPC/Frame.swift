import NIOCore

/// The kinds of frame (docs/PROTOCOL.md, "Frames").
public enum FrameType: UInt8, Sendable, CaseIterable {
    /// Opens a connection (client → server, first frame) and answers it (server → client).
    case hello = 0x01
    /// Starts a call: method, timeout, metadata, request message (client → server).
    case request = 0x02
    /// One message of a server-streaming call (server → client).
    case message = 0x03
    /// Ends a call: status, message, trailing metadata and, for unary calls, the response.
    case end = 0x04
    /// The client abandons a call (client → server).
    case cancel = 0x05
    /// Liveness check; answered with the ACK flag (either direction).
    case ping = 0x06
    /// The server stops taking new calls on this connection (server → client).
    case goAway = 0x07
}

/// One frame: `length:u32 | type:u8 | flags:u8 | callID:u32 | payload`, big-endian.
public struct Frame: Sendable, Equatable {
    /// Bytes of a frame before its payload: length (4), type (1), flags (1), call id (4).
    public static let headerSize = 10
    /// The part of the header that `length` counts: type, flags and call id.
    public static let lengthCountedHeaderSize = 6

    /// The PING frame's ACK flag.
    public static let flagAck: UInt8 = 0x01

    public var type: FrameType
    public var flags: UInt8
    public var callID: UInt32
    public var payload: ByteBuffer

    public init(type: FrameType, flags: UInt8 = 0, callID: UInt32, payload: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.callID = callID
        self.payload = payload
    }

    /// Appends the encoded frame to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        Frame.writeHeader(type: type, flags: flags, callID: callID, payloadLength: payload.readableBytes, to: &buffer)
        var copy = payload
        buffer.writeBuffer(&copy)
    }

    /// Appends a frame header for a payload of `payloadLength` bytes.
    @inlinable
    public static func writeHeader(type: FrameType, flags: UInt8, callID: UInt32, payloadLength: Int, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(payloadLength + lengthCountedHeaderSize))
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags)
        buffer.writeInteger(callID)
    }
}

/// The HELLO payload: magic, version, and (from the server) its limits.
public struct HelloPayload: Sendable, Equatable {
    /// `WAQTOR` in ASCII.
    public static let magic: [UInt8] = Array("WAQTOR".utf8)
    /// The protocol version this implementation speaks.
    public static let currentVersion: UInt8 = 1

    public var version: UInt8
    /// The largest `length` value the sender accepts (server only; 0 from a client).
    public var maxFrameLength: UInt32
    /// The most calls the sender runs at once on this connection (server only; 0 from a client).
    public var maxConcurrentCalls: UInt32
    /// Milliseconds without calls after which the server closes the connection (0 from a client).
    public var idleTimeoutMilliseconds: UInt32

    public init(version: UInt8 = HelloPayload.currentVersion, maxFrameLength: UInt32 = 0, maxConcurrentCalls: UInt32 = 0, idleTimeoutMilliseconds: UInt32 = 0) {
        self.version = version
        self.maxFrameLength = maxFrameLength
        self.maxConcurrentCalls = maxConcurrentCalls
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeBytes(HelloPayload.magic)
        buffer.writeInteger(version)
        buffer.writeInteger(maxFrameLength)
        buffer.writeInteger(maxConcurrentCalls)
        buffer.writeInteger(idleTimeoutMilliseconds)
    }

    /// Parses a HELLO payload. A client's HELLO may stop after the version byte.
    public static func parse(_ payload: ByteBuffer) throws(WireFormatError) -> HelloPayload {
        var buffer = payload
        guard let magic = buffer.readBytes(length: magic.count), magic == HelloPayload.magic else {
            throw WireFormatError("HELLO does not start with the magic bytes \"WAQTOR\"")
        }
        guard let version: UInt8 = buffer.readInteger() else {
            throw WireFormatError("HELLO has no version byte")
        }
        var hello = HelloPayload(version: version)
        if buffer.readableBytes >= 12 {
            hello.maxFrameLength = buffer.readInteger()!
            hello.maxConcurrentCalls = buffer.readInteger()!
            hello.idleTimeoutMilliseconds = buffer.readInteger()!
        }
        return hello
    }
}

/// A payload that does not follow docs/PROTOCOL.md.
public struct WireFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
