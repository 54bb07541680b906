import WaqtorCore
import Logging
import Foundation
import NIOConcurrencyHelpers
import WaqtorProto
import WaqtorRedis
import WaqtorRPC
import WaqtorPostgres
import WaqtorInstances

/// `waqtor.v1.HealthService`: ping, and readiness of PostgreSQL, every Redis shard and (in an API
/// process) the WhatsApp gateway.
///
/// The gateway is reported but not required: while it cannot be reached the RPC API keeps serving
/// (instance states are shown stale, campaign sends wait, nothing is dropped), so taking the
/// server out of a load balancer would only make things worse. Its component then says
/// `ready = false` while the answer's `ready` stays true (``isReady(_:)``).
public struct HealthService: Waqtor_V1_HealthServiceHandler {
    let postgres: PostgresPool
    let redis: RedisShards
    let shardAddresses: [String]
    let checkTimeout: Duration
    let logger: Logger
    /// The gateway's watcher (nil: the gateway is not reported).
    let gateway: GatewayMonitor?

    /// Components reported but not required for readiness.
    public static let optionalComponents: Set<String> = ["gateway"]

    public init(postgres: PostgresPool, redis: RedisShards, shardAddresses: [String], checkTimeout: Duration,
                logger: Logger = Logger(label: "waqtor.health"), gateway: GatewayMonitor? = nil) {
        self.postgres = postgres
        self.redis = redis
        self.shardAddresses = shardAddresses
        self.checkTimeout = checkTimeout
        self.logger = logger
        self.gateway = gateway
    }

    /// Ready when every required component is (the gateway is not required).
    public static func isReady(_ components: [Waqtor_V1_ComponentHealth]) -> Bool {
        components.allSatisfy { $0.ready || optionalComponents.contains($0.name) }
    }

    public func ping(_ request: Waqtor_V1_PingRequest, context: ServerContext) async throws -> Waqtor_V1_PingResponse {
        Waqtor_V1_PingResponse(answering: request)
    }

    /// Registers every method, with Ping answered inline (on the event loop, without a task): it
    /// does no I/O, and it is what clients and monitors call most.
    public func registerInline(into router: inout RPCRouter) {
        register(into: &router)
        router.registerInlineUnary("waqtor.v1.HealthService/Ping") { (request: Waqtor_V1_PingRequest, _) in
            Waqtor_V1_PingResponse(answering: request)
        }
    }

    /// Checks every dependency at once, each bounded by the check timeout. Answers OK with
    /// `ready = false` rather than an error status, so that a monitor sees which part is down; the
    /// components' names, states and latencies are public, their details (shard addresses, error
    /// texts) are not: the admin listener's `/health/ready` has them (``checkAll()``).
    public func readiness(_ request: Waqtor_V1_ReadinessRequest, context: ServerContext) async throws -> Waqtor_V1_ReadinessResponse {
        var response = Waqtor_V1_ReadinessResponse()
        response.components = await checkAll().map { component in
            var public_ = component
            if component.ready {
                public_.detail = ""
            } else if Self.optionalComponents.contains(component.name) {
                public_.detail = "unreachable; the server keeps serving (details on the admin listener's /health/ready)"
            } else {
                public_.detail = "not ready (details on the admin listener's /health/ready)"
            }
            return public_
        }
        response.ready = Self.isReady(response.components)
        return response
    }

    /// Every dependency's state with its details (the shard's address when ready, the error
    /// otherwise), PostgreSQL first, then the shards in order. A failure is logged as a warning.
    public func checkAll() async -> [Waqtor_V1_ComponentHealth] {
        let timeout = checkTimeout
        let components = await withTaskGroup(of: (Int, Waqtor_V1_ComponentHealth).self) { group in
            group.addTask {
                (0, await Self.check(name: "postgres", timeout: timeout) { try await self.postgres.ping() })
            }
            for (index, address) in shardAddresses.enumerated() {
                group.addTask {
                    var health = await Self.check(name: "redis-shard-\(index)", timeout: timeout) {
                        try await self.redis.ping(shard: index)
                    }
                    if health.ready { health.detail = address }
                    return (index + 1, health)
                }
            }
            var results: [(Int, Waqtor_V1_ComponentHealth)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        if !components.allSatisfy(\.ready) {
            logger.warning("not ready", metadata: [
                "failing": .string(components.filter { !$0.ready }.map { "\($0.name): \($0.detail)" }.joined(separator: "; "))
            ])
        }
        // The gateway last, where it is watched (api processes): what its watcher last learned (no
        // call here; the watcher logs changes).
        if let gateway, gateway.isRunning { return components + [Self.gatewayHealth(gateway)] }
        return components
    }

    /// The gateway as its watcher last saw it: ready while reachable; the detail names the address
    /// and, when down, since when and the last error (never the API key).
    static func gatewayHealth(_ monitor: GatewayMonitor) -> Waqtor_V1_ComponentHealth {
        let reachability = monitor.current
        var health = Waqtor_V1_ComponentHealth()
        health.name = "gateway"
        let seen = reachability.lastAnswered.map { "last answered \(Self.rfc3339($0))" } ?? "never answered"
        switch reachability.state {
        case .reachable:
            health.ready = true
            health.detail = monitor.address
        case .unreachable:
            health.detail = "unreachable since \(reachability.since.map(Self.rfc3339) ?? "?") (\(seen)): \(reachability.lastError ?? "")"
                + "; \(monitor.address); instance states are shown stale, campaign sends wait"
        case .unknown:
            health.detail = "not checked yet; \(monitor.address)"
        }
        if let probe = reachability.lastProbeDuration {
            health.latencyMicros = probe.components.seconds * 1_000_000 + probe.components.attoseconds / 1_000_000_000_000
        }
        return health
    }

    static func rfc3339(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    private static func check(
        name: String, timeout: Duration, _ probe: @escaping @Sendable () async throws -> Duration
    ) async -> Waqtor_V1_ComponentHealth {
        var health = Waqtor_V1_ComponentHealth()
        health.name = name
        let started = ContinuousClock.now
        // Race the probe against the timeout without waiting for a probe that ignores
        // cancellation (a blackholed host): whichever finishes first answers.
        let outcome: Result<Duration, any Error>? = await withCheckedContinuation { continuation in
            let once = NIOLockedValueBox(Optional(continuation))
            let finish: @Sendable (Result<Duration, any Error>?) -> Void = { result in
                once.withLockedValue { pending in
                    pending?.resume(returning: result)
                    pending = nil
                }
            }
            let probeTask = Task {
                do { finish(.success(try await probe())) } catch { finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: timeout)
                finish(nil)
                probeTask.cancel()
            }
        }
        let elapsed = ContinuousClock.now - started
        health.latencyMicros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        switch outcome {
        case .success?:
            health.ready = true
        case .failure(let error)?:
            health.detail = "\(error)"
        case nil:
            health.detail = "no answer within \(timeout)"
        }
        return health
    }
}
