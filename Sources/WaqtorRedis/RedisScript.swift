import NIOConcurrencyHelpers

/// A Lua script run with `EVALSHA`, loaded into each shard on first use (`SCRIPT LOAD`) and again
/// when a shard answers `NOSCRIPT` (it restarted, or its scripts were flushed).
///
/// Scripts run atomically on their shard: no other command runs between their steps.
public final class RedisScript: Sendable {
    /// The Lua source.
    public let source: String
    private let shas = NIOLockedValueBox<[Int: String]>([:])

    public init(_ source: String) { self.source = source }

    func sha(onShard shard: Int) -> String? { shas.withLockedValue { $0[shard] } }
    func remember(_ sha: String, onShard shard: Int) { shas.withLockedValue { $0[shard] = sha } }
    func forget(onShard shard: Int) { shas.withLockedValue { _ = $0.removeValue(forKey: shard) } }
}

extension RedisShards {
    /// Runs `script` on a shard with `keys` and `arguments`. A Lua error comes back as
    /// ``RedisReply/error(_:)``, like any error reply.
    public func evaluate(_ script: RedisScript, onShard shard: Int, keys: [RedisArgument] = [], arguments: [RedisArgument] = []) async throws(RedisError) -> RedisReply {
        for _ in 0..<2 {
            let sha: String
            if let known = script.sha(onShard: shard) {
                sha = known
            } else {
                let reply = try await command(onShard: shard, ["SCRIPT", "LOAD", .string(script.source)])
                guard let loaded = reply.string, case .bulk = reply else {
                    throw RedisError(.protocolError, shardIndex: shard, endpoint: endpoints[shard], message: "SCRIPT LOAD failed: \(reply)")
                }
                script.remember(loaded, onShard: shard)
                sha = loaded
            }
            let reply = try await command(onShard: shard, ["EVALSHA", .string(sha), .int(keys.count)] + keys + arguments)
            if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                script.forget(onShard: shard)
                continue
            }
            return reply
        }
        throw RedisError(.protocolError, shardIndex: shard, endpoint: endpoints[shard], message: "the script could not be loaded")
    }

    /// Runs `script` once per call on a shard, pipelined (one write, replies in order). Calls that
    /// meet `NOSCRIPT` (the shard lost its scripts meanwhile) run again one by one.
    public func evaluatePipelined(
        _ script: RedisScript, onShard shard: Int, calls: [(keys: [RedisArgument], arguments: [RedisArgument])]
    ) async throws(RedisError) -> [RedisReply] {
        guard let firstCall = calls.first else { return [] }
        // The first call loads the script if needed.
        var replies = [try await evaluate(script, onShard: shard, keys: firstCall.keys, arguments: firstCall.arguments)]
        let rest = calls.dropFirst()
        guard !rest.isEmpty, let sha = script.sha(onShard: shard) else { return replies }
        let piped = try await pipeline(onShard: shard, rest.map { ["EVALSHA", .string(sha), .int($0.keys.count)] + $0.keys + $0.arguments })
        for (call, reply) in zip(rest, piped) {
            if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                replies.append(try await evaluate(script, onShard: shard, keys: call.keys, arguments: call.arguments))
            } else {
                replies.append(reply)
            }
        }
        return replies
    }
}
