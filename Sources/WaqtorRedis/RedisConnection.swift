import CHiredis
import Foundation

/// A failure inside one connection, before the shard is known; ``RedisShards`` adds the shard.
struct RedisConnectionError: Error {
    var kind: RedisError.Kind
    var message: String
}

/// One blocking hiredis connection: the only owner of its `redisContext *`, freed in `deinit`.
///
/// Every method blocks, so ``RedisShards`` calls them only on its `NIOThreadPool`. Not
/// `Sendable`: used by one thread at a time under a lease.
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects (blocking) and sets the per-command socket timeout.
    init(endpoint: RedisEndpoint, connectTimeout: Duration, commandTimeout: Duration) throws(RedisConnectionError) {
        guard let context = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), Self.timeval(connectTimeout)) else {
            throw RedisConnectionError(kind: .connectionFailed, message: "could not allocate a connection")
        }
        if context.pointee.err != 0 {
            let error = Self.error(context, connecting: true)
            redisFree(context)
            throw error
        }
        redisSetTimeout(context, Self.timeval(commandTimeout))
        self.context = context
    }

    deinit {
        redisFree(context)
    }

    /// False once hiredis reported an I/O or protocol error: the connection must be replaced.
    var isHealthy: Bool { context.pointee.err == 0 }

    /// Sends one command and waits for its reply (blocking).
    func command(_ arguments: [RedisArgument]) throws(RedisConnectionError) -> RedisReply {
        let raw: UnsafeMutableRawPointer? = Self.withArgv(arguments) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw Self.error(context, connecting: false) }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Sends several commands in one write and reads their replies in order (blocking).
    func pipeline(_ commands: [[RedisArgument]]) throws(RedisConnectionError) -> [RedisReply] {
        for arguments in commands {
            let status = Self.withArgv(arguments) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard status == REDIS_OK else { throw Self.error(context, connecting: false) }
        }
        var replies = [RedisReply]()
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw Self.error(context, connecting: false) }
            replies.append(Self.convert(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Lends `argc`, `argv` and `argvlen` built from `arguments` for the duration of `body`.
    private static func withArgv<R>(
        _ arguments: [RedisArgument],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        var storage = [UInt8]()
        var offsets = [Int]()
        var lengths = [Int]()
        for argument in arguments {
            let bytes = argument.bytes
            offsets.append(storage.count)
            lengths.append(bytes.count)
            storage.append(contentsOf: bytes)
        }
        storage.append(0)  // a valid base address even when every argument is empty
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return argv.withUnsafeMutableBufferPointer { argvBuffer in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
        }
    }

    private static func convert(_ reply: UnsafePointer<redisReply>) -> RedisReply {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            guard let str = r.str else { return .bulk([]) }
            return .bulk(Array(UnsafeRawBufferPointer(start: str, count: Int(r.len))))
        case REDIS_REPLY_STATUS:
            return .status(r.str.map { String(cString: $0) } ?? "")
        case REDIS_REPLY_ERROR:
            return .error(r.str.map { String(cString: $0) } ?? "")
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            guard let elements = r.element else { return .array([]) }
            return .array((0..<Int(r.elements)).map { convert(elements[$0]!) })
        default:  // REDIS_REPLY_NIL
            return .null
        }
    }

    private static func error(_ context: UnsafeMutablePointer<redisContext>, connecting: Bool) -> RedisConnectionError {
        let code = context.pointee.err
        var message = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if message.isEmpty { message = "error \(code)" }
        message = message.prefix(1).lowercased() + message.dropFirst()
        let lowered = message.lowercased()
        let kind: RedisError.Kind
        if lowered.contains("timed out") || lowered.contains("temporarily unavailable") {
            kind = .timeout
            if !lowered.contains("timed out") { message = "timed out (\(message))" }
        } else if code == REDIS_ERR_PROTOCOL {
            kind = .protocolError
        } else if connecting {
            kind = .connectionFailed
        } else {
            kind = .connectionLost
        }
        return RedisConnectionError(kind: kind, message: message)
    }

    private static func timeval(_ duration: Duration) -> Foundation.timeval {
        let (seconds, attoseconds) = duration.components
        return Foundation.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
