import Foundation
import Testing
import WaqtorRedis
import WaqtorTestSupport

/// Against the real Redis shards of tools/setup.sh (and throwaway servers). Unreachable = failure.
@Suite("RedisShards (real servers)")
struct RedisShardsTests {
    static func sharedShards() -> RedisShards {
        RedisShards(endpoints: TestEnvironment.redisShards.compactMap(RedisEndpoint.init))
    }

    @Test func commandsOnBothShards() async throws {
        let redis = Self.sharedShards()
        #expect(redis.shardCount == 2)
        let prefix = TestEnvironment.uniqueName("t")
        let binary: [UInt8] = [0, 1, 2, 0xff, 0x0d, 0x0a, 0, 0x24]
        for shard in 0..<redis.shardCount {
            let key = "\(prefix):bin:\(shard)"
            #expect(try await redis.command(onShard: shard, ["SET", .string(key), .bytes(binary), "EX", 60]) == .status("OK"))
            #expect(try await redis.command(onShard: shard, ["GET", .string(key)]).bytes == binary)
            #expect(try await redis.command(onShard: shard, ["GET", .string(key + ":missing")]) == .null)
            let counter = "\(prefix):n:\(shard)"
            #expect(try await redis.command(onShard: shard, ["INCR", .string(counter)]) == .integer(1))
            #expect(try await redis.command(onShard: shard, ["INCRBY", .string(counter), 41]) == .integer(42))
            let list = "\(prefix):l:\(shard)"
            #expect(try await redis.command(onShard: shard, ["LPUSH", .string(list), "a", "b", .bytes([])]) == .integer(3))
            #expect(try await redis.command(onShard: shard, ["RPOP", .string(list)]).string == "a")
            #expect(try await redis.command(onShard: shard, ["LRANGE", .string(list), 0, -1]) == .array([.bulk([]), .bulk(Array("b".utf8))]))
            if case .error(let message) = try await redis.command(onShard: shard, ["INCR", .string(list)]) {
                #expect(message.hasPrefix("WRONGTYPE"))
            } else {
                Issue.record("INCR on a list did not return an error reply")
            }
            _ = try await redis.command(onShard: shard, ["DEL", .string(key), .string(counter), .string(list)])
            #expect(try await redis.ping(shard: shard) > .zero)
        }
        await redis.shutdown()
    }

    @Test func keysGoToTheShardTheRingNames() async throws {
        let redis = Self.sharedShards()
        let prefix = TestEnvironment.uniqueName("route")
        var seen = Set<Int>()
        for i in 0..<40 {
            let key = "\(prefix):\(i)"
            let shard = redis.shardIndex(for: key)
            seen.insert(shard)
            _ = try await redis.command(["SET", .string(key), .int(i), "EX", 60], routingKey: key)
            #expect(try await redis.command(onShard: shard, ["GET", .string(key)]).integer == Int64(i))
            #expect(try await redis.command(onShard: 1 - shard, ["EXISTS", .string(key)]) == .integer(0))
            _ = try await redis.command(onShard: shard, ["DEL", .string(key)])
        }
        #expect(seen == [0, 1], "40 keys should reach both shards")
        await redis.shutdown()
    }

    @Test func pipelineReturnsRepliesInOrder() async throws {
        let redis = Self.sharedShards()
        let key = TestEnvironment.uniqueName("pipe")
        let replies = try await redis.pipeline(onShard: 1, [["DEL", .string(key)], ["RPUSH", .string(key), "x", "y"], ["LLEN", .string(key)], ["DEL", .string(key)]])
        #expect(replies.count == 4)
        #expect(replies[1] == .integer(2) && replies[2] == .integer(2) && replies[3] == .integer(1))
        await redis.shutdown()
    }

    /// 200 concurrent commands on a private server: all are answered, and the server saw at most
    /// `connectionsPerShard` clients (counted by the server itself, which only this test uses).
    @Test func manyConcurrentCommandsShareFewConnections() async throws {
        let server = try await ThrowawayRedis.start()
        let redis = RedisShards(endpoints: [try #require(RedisEndpoint(server.address))], configuration: .init(connectionsPerShard: 2))
        let key = TestEnvironment.uniqueName("{conc}")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask { _ = try await redis.command(["INCR", .string(key)], routingKey: key) }
            }
            try await group.waitForAll()
        }
        #expect(try await redis.command(["GET", .string(key)], routingKey: key).integer == 200)
        // CLIENT LIST has one line per connection the server has open (ours only: it is private).
        let clients = try #require(try await redis.command(onShard: 0, ["CLIENT", "LIST"]).string)
        let connections = clients.split(separator: "\n").filter { !$0.isEmpty }.count
        #expect(connections >= 1 && connections <= 2, "\(connections) connections for 200 concurrent commands")
        await redis.shutdown()
        try await server.stop()
    }

    @Test func aShardThatIsDownIsNamedWhileTheOtherWorks() async throws {
        let throwaway = try await ThrowawayRedis.start()
        let live = try #require(RedisEndpoint(TestEnvironment.redisShards[0]))
        let down = RedisEndpoint(host: throwaway.host, port: throwaway.port)
        let redis = RedisShards(endpoints: [live, down], configuration: .init(connectionsPerShard: 1, connectTimeout: .seconds(1), commandTimeout: .seconds(1)))
        #expect(try await redis.command(onShard: 1, ["SET", "k", "v"]) == .status("OK"))
        try await throwaway.kill()

        // The broken connection is noticed on use, the reconnect is refused.
        var errors: [RedisError] = []
        for _ in 0..<2 {
            do {
                _ = try await redis.command(onShard: 1, ["GET", "k"])
                Issue.record("a command on a dead shard succeeded")
            } catch {
                errors.append(error)
            }
        }
        let last = try #require(errors.last)
        #expect(last.kind == .connectionFailed)
        #expect(last.shardIndex == 1 && last.endpoint == down)
        #expect(last.description == "redis shard 1 (127.0.0.1:\(throwaway.port)): connection refused", "\(last)")
        #expect(errors.allSatisfy { $0.description.hasPrefix("redis shard 1 (127.0.0.1:\(throwaway.port)): ") })
        // The other shard is unaffected.
        #expect(try await redis.ping(shard: 0) > .zero)

        // Same port again: the next command reconnects (the data is gone: no persistence).
        try await throwaway.restart()
        #expect(try await redis.command(onShard: 1, ["GET", "k"]) == .null)
        #expect(try await redis.command(onShard: 1, ["SET", "k", "again"]) == .status("OK"))
        #expect(try await redis.command(onShard: 1, ["GET", "k"]).string == "again")
        await redis.shutdown()
        try await throwaway.stop()
    }

    @Test func invalidShardIndexIsATypedError() async throws {
        let redis = Self.sharedShards()
        do {
            _ = try await redis.command(onShard: 7, ["PING"])
            Issue.record("shard 7 answered")
        } catch {
            #expect(error.kind == .invalidShard)
            #expect(error.description.hasPrefix("redis shard 7 "))
        }
        await redis.shutdown()
    }
}
