/// Where one Redis shard listens.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address.
    public var host: String
    /// TCP port.
    public var port: Int

    /// Creates an endpoint.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; nil if the port is missing or not a number.
    public init?(_ address: String) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        self.init(host: String(address[..<colon]), port: port)
    }

    /// `host:port`.
    public var description: String { "\(host):\(port)" }
}

/// One argument of a Redis command, sent binary-safe (with its length).
public enum RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// UTF-8 text.
    case string(String)
    /// Raw bytes.
    case bytes([UInt8])

    /// An integer, in decimal (how Redis expects numbers).
    public static func int(_ value: Int) -> RedisArgument { .string(String(value)) }

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .string(String(value)) }

    var bytes: [UInt8] {
        switch self {
        case .string(let s): Array(s.utf8)
        case .bytes(let b): b
        }
    }
}

/// A reply from Redis.
public enum RedisReply: Sendable, Hashable {
    /// A simple status such as `OK` or `PONG`.
    case status(String)
    /// An error reply such as `WRONGTYPE …`; a reply, not a thrown error (the connection is fine).
    case error(String)
    /// An integer.
    case integer(Int64)
    /// A bulk string, binary-safe.
    case bulk([UInt8])
    /// An array (e.g. LRANGE, EXEC, pipelined replies of SCAN).
    case array([RedisReply])
    /// A nil bulk or nil array (a missing key).
    case null

    /// Bulk bytes or a status decoded as UTF-8; nil otherwise.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let s): s
        default: nil
        }
    }

    /// The bytes of a bulk reply.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    /// An integer reply, or a bulk reply that reads as an integer.
    public var integer: Int64? {
        switch self {
        case .integer(let i): i
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RedisReply]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// True for ``null``.
    public var isNull: Bool { self == .null }
}

/// A failure to talk to a shard. The description names the shard:
/// `redis shard 1 (127.0.0.1:63791): connection refused`.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// Could not connect (refused, unreachable, DNS).
        case connectionFailed
        /// The connection broke while sending or receiving.
        case connectionLost
        /// Connecting or a command took longer than the configured timeout.
        case timeout
        /// The reply could not be parsed.
        case protocolError
        /// The shard index does not exist.
        case invalidShard
        /// The client was shut down.
        case closed
        /// The awaiting task was cancelled before the command ran.
        case cancelled
    }

    /// What went wrong.
    public var kind: Kind
    /// The shard's index.
    public var shardIndex: Int
    /// The shard's address, if the index exists.
    public var endpoint: RedisEndpoint?
    /// The detail (hiredis's message, lowercased first letter).
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, shardIndex: Int, endpoint: RedisEndpoint?, message: String) {
        self.kind = kind
        self.shardIndex = shardIndex
        self.endpoint = endpoint
        self.message = message
    }

    /// `redis shard <index> (<host:port>): <message>`.
    public var description: String {
        "redis shard \(shardIndex) (\(endpoint.map(\.description) ?? "no such shard")): \(message)"
    }
}
