import CoreMetrics
import WaqtorMetrics
import NIOCore
import NIOPosix

/// A client for N Redis shards, with keys placed by consistent hashing (``HashRing``).
///
/// hiredis is used through its blocking API, and every blocking call runs on a `NIOThreadPool`
/// (its own by default, one thread per connection), never on an event loop or Swift's cooperative
/// pool. Each shard has a small set of connections (``Configuration/connectionsPerShard``), opened
/// lazily, replaced after an I/O error, and lent to callers first-come first-served. A shard that
/// is down fails only the commands routed to it; the next command after it comes back reconnects.
public final class RedisShards: Sendable {
    /// Connection settings.
    public struct Configuration: Sendable {
        /// Connections per shard; also the number of concurrent commands per shard.
        public var connectionsPerShard: Int
        /// How long connecting may take.
        public var connectTimeout: Duration
        /// How long a command's send or receive may block (`redisSetTimeout`).
        public var commandTimeout: Duration
        /// Points per shard on the hash ring.
        public var virtualNodes: Int

        /// Creates a configuration.
        public init(connectionsPerShard: Int = 4, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(5), virtualNodes: Int = 160) {
            self.connectionsPerShard = max(1, connectionsPerShard)
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
            self.virtualNodes = virtualNodes
        }
    }

    /// The shards' addresses; index = shard index (logical name `shard-<index>`).
    public let endpoints: [RedisEndpoint]
    /// The settings in use.
    public let configuration: Configuration
    /// The ring mapping keys to shard indexes.
    public let ring: HashRing

    private let threadPool: NIOThreadPool
    private let ownsThreadPool: Bool
    private let shards: [ShardConnections]
    private let shardMetrics: [ShardMetrics]?

    /// Creates the client. Nothing connects until the first command.
    ///
    /// - Parameter threadPool: where blocking hiredis calls run; if nil, an own pool with one
    ///   thread per connection, stopped by ``shutdown()``.
    /// - Parameter metrics: where the shards' metrics go (nil: none), per shard (`shard` = its
    ///   index): `waqtor_redis_pool_wait_seconds` (from asking for a connection to getting one),
    ///   `waqtor_redis_commands_total` (calls that ran, pipelines and scripts counting once) and
    ///   `waqtor_redis_errors_total{kind}` (`connectionFailed`, `timeout`, …).
    public init(endpoints: [RedisEndpoint], configuration: Configuration = Configuration(), threadPool: NIOThreadPool? = nil,
                metrics: (any MetricsFactory)? = nil, name: String = "main") {
        precondition(!endpoints.isEmpty, "RedisShards needs at least one endpoint")
        self.endpoints = endpoints
        self.configuration = configuration
        self.ring = HashRing(shardCount: endpoints.count, virtualNodes: configuration.virtualNodes)
        if let threadPool {
            self.threadPool = threadPool
            self.ownsThreadPool = false
        } else {
            let pool = NIOThreadPool(numberOfThreads: endpoints.count * configuration.connectionsPerShard)
            pool.start()
            self.threadPool = pool
            self.ownsThreadPool = true
        }
        self.shards = endpoints.map { _ in ShardConnections(size: configuration.connectionsPerShard) }
        self.shardMetrics = metrics.map { factory in endpoints.indices.map { ShardMetrics(factory: factory, shard: $0, client: name) } }
    }

    /// The number of shards.
    public var shardCount: Int { endpoints.count }

    /// The shard that owns `key` (its hash tag only, if it has one).
    public func shardIndex(for key: String) -> Int { ring.shardIndex(for: key) }

    /// Runs a command on the shard that owns `routingKey`.
    public func command(_ arguments: [RedisArgument], routingKey: String) async throws(RedisError) -> RedisReply {
        try await command(onShard: shardIndex(for: routingKey), arguments)
    }

    /// Runs a command on a given shard.
    public func command(onShard shard: Int, _ arguments: [RedisArgument]) async throws(RedisError) -> RedisReply {
        try await withConnection(shard) { connection throws(RedisConnectionError) in try connection.command(arguments) }
    }

    /// Sends several commands to one shard in one write and returns their replies in order
    /// (no MULTI/EXEC: other clients' commands may interleave).
    public func pipeline(onShard shard: Int, _ commands: [[RedisArgument]]) async throws(RedisError) -> [RedisReply] {
        if commands.isEmpty { return [] }
        return try await withConnection(shard) { connection throws(RedisConnectionError) in try connection.pipeline(commands) }
    }

    /// Round-trips `PING` on a shard and returns how long it took (including connecting if needed).
    public func ping(shard: Int) async throws(RedisError) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try await command(onShard: shard, ["PING"])
        guard reply == .status("PONG") else {
            throw RedisError(.protocolError, shardIndex: shard, endpoint: endpoints[shard], message: "unexpected PING reply \(reply)")
        }
        return clock.now - start
    }

    /// Closes idle connections, fails waiting callers, and stops an owned thread pool.
    public func shutdown() async {
        let idle = shards.flatMap { $0.shutdown() }
        _ = try? await threadPool.runIfActive { idle.forEach { $0.connection = nil } }
        if ownsThreadPool { try? await threadPool.shutdownGracefully() }
    }

    private func withConnection<T: Sendable>(
        _ shard: Int,
        _ body: @escaping @Sendable (RedisConnection) throws(RedisConnectionError) -> T
    ) async throws(RedisError) -> T {
        guard shards.indices.contains(shard) else {
            throw RedisError(.invalidShard, shardIndex: shard, endpoint: nil, message: "only \(shards.count) shards exist")
        }
        let endpoint = endpoints[shard]
        let metrics = shardMetrics?[shard]
        let began = metrics == nil ? nil : ContinuousClock.now
        guard let slot = await shards[shard].lease() else {
            throw RedisError(.closed, shardIndex: shard, endpoint: endpoint, message: "the client is shut down")
        }
        if let metrics, let began { metrics.wait.record(since: began) }
        defer { shards[shard].release(slot) }
        let configuration = self.configuration
        let result: Result<T, RedisConnectionError>
        do {
            result = try await threadPool.runIfActive {
                do throws(RedisConnectionError) {
                    let connection: RedisConnection
                    if let existing = slot.connection, existing.isHealthy {
                        connection = existing
                    } else {
                        slot.connection = nil
                        connection = try RedisConnection(endpoint: endpoint, connectTimeout: configuration.connectTimeout, commandTimeout: configuration.commandTimeout)
                        slot.connection = connection
                    }
                    let value = try body(connection)
                    return .success(value)
                } catch {
                    if slot.connection?.isHealthy == false { slot.connection = nil }  // reconnect next time
                    return .failure(error)
                }
            }
        } catch is CancellationError {
            throw RedisError(.cancelled, shardIndex: shard, endpoint: endpoint, message: "cancelled before the command ran")
        } catch {
            throw RedisError(.closed, shardIndex: shard, endpoint: endpoint, message: "the thread pool is not running")
        }
        switch result {
        case .success(let value):
            metrics?.commands.increment()
            return value
        case .failure(let error):
            metrics?.failed(error.kind)
            throw RedisError(error.kind, shardIndex: shard, endpoint: endpoint, message: error.message)
        }
    }
}

/// One shard's metric handles (see ``RedisShards/init(endpoints:configuration:threadPool:metrics:name:)``).
final class ShardMetrics: Sendable {
    let dimensions: [(String, String)]
    let wait: Timer
    let commands: Counter
    private let errors: CounterFamily

    init(factory: any MetricsFactory, shard: Int, client: String) {
        dimensions = [("shard", String(shard)), ("client", client)]
        wait = Timer(label: "waqtor_redis_pool_wait_seconds", dimensions: dimensions, factory: factory)
        commands = Counter(label: "waqtor_redis_commands_total", dimensions: dimensions, factory: factory)
        errors = CounterFamily(label: "waqtor_redis_errors_total", factory: factory)
    }

    func failed(_ kind: RedisError.Kind) { errors.increment(dimensions + [("kind", "\(kind)")]) }
}
