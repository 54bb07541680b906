import Logging
import NIOCore
import NIOPosix
import WaqtorProto
import WaqtorRedis
import WaqtorRPC
import WaqtorPostgres
import WaqtorCore
import WaqtorTenants
import WaqtorInstances
import WaqtorContacts
import WaqtorCampaigns
import WaqtorChat
import WaqtorSendQueue
import WaqtorWorkers
import WaqtorSchema
import WaqtorAPI
import WaqtorWebhooks
import WaqtorEvolution
import WaqtorHTTP
import WaqtorDrafting
import WaqtorOpenRouter
import NIOConcurrencyHelpers
import Prometheus
import Foundation

/// The server process's parts, started in order and stopped in reverse: migrations, the
/// PostgreSQL pool, the Redis shards, the RPC server with every service registered, the webhook
/// listener.
public final class WaqtorApplication: Sendable {
    public let configuration: WaqtorConfiguration
    public let logger: Logger
    public let postgres: PostgresPool
    public let redis: RedisShards
    /// The send queue's own connections to the shards (so that its traffic never waits behind,
    /// or holds up, the API's).
    public let queueRedis: RedisShards
    public let rpcServer: RPCServer
    public let tenants: TenantStore
    /// Instances (WhatsApp numbers) and their webhook events.
    public let instances: InstanceStore
    /// Contacts and contact lists.
    public let contacts: ContactStore
    /// Campaigns, their numbers and recipients.
    public let campaigns: CampaignStore
    /// Conversations, messages, chat settings.
    public let chat: ChatStore
    /// The live feed (ChatService.Live), across servers through Redis streams.
    public let live: LiveFeed
    /// The live feed's reading connections (a blocking read per shard).
    let liveRedis: RedisShards
    /// Media files on the local file system.
    public let mediaFiles: MediaFiles
    /// Wakes this process's chat projector when the webhook listener stored a message event.
    let projectorSignal: ProjectorSignal
    /// Where every part reads the time.
    let clock: any WaqtorClock
    /// The HTTP listener for the Evolution API's webhooks.
    public let webhookServer: WebhookServer
    /// Outbound HTTP (the gateway).
    public let http: HTTPClient
    /// The senders' own HTTP client: a connection per send in flight (the gateway holds each for
    /// its typing delay), apart from the API's calls.
    public let sendHTTP: HTTPClient
    /// The Evolution API client.
    public let gateway: EvolutionClient
    /// Watches whether the gateway answers (`api` processes): instance states are shown stale
    /// while it does not (docs/EVOLUTION.md), and readiness reports it.
    public let gatewayMonitor: GatewayMonitor
    /// Every method the RPC server serves, as registered and intercepted (tests compare it with
    /// the schema's access rules).
    let router: RPCRouter
    /// Starts the gateway for `gateway.url = embedded` (given by the program that embeds one).
    let embeddedGatewayLauncher: EmbeddedGateway?
    /// The gateway started inside the server when `gateway.url = embedded`.
    let embeddedGateway = NIOLockedValueBox<EmbeddedGateway.Running?>(nil)
    /// Starts the AI stand-in for `ai.url = embedded` (given by the program that embeds one).
    let embeddedAIProviderLauncher: EmbeddedAIProvider?
    /// The AI stand-in started inside the server when `ai.url = embedded`.
    let embeddedAIProvider = NIOLockedValueBox<EmbeddedGateway.Running?>(nil)
    /// OpenRouter's base URL in effect: `ai.url`, or the embedded stand-in's once it started.
    let aiBaseURL: NIOLockedValueBox<String>
    /// Every metric of this process (each application has its own, so that tests running several
    /// in one process see their own figures), served by ``adminServer`` at `/metrics`.
    public let metricsRegistry: PrometheusCollectorRegistry
    /// Makes the metrics of every part into ``metricsRegistry``.
    public let metrics: PrometheusMetricsFactory
    /// The admin listener: `/metrics`, `/health/live`, `/health/ready`.
    public let adminServer: AdminServer

    /// Builds the parts; nothing connects or listens until ``start()``. `embeddedGateway` starts
    /// the gateway when `gateway.url = embedded` (waqtor-server passes the simulator).
    public init(
        configuration: WaqtorConfiguration, logger: Logger, embeddedGateway: EmbeddedGateway? = nil,
        embeddedAIProvider: EmbeddedAIProvider? = nil, clock: any WaqtorClock = SystemClock()
    ) throws(ConfigurationError) {
        self.configuration = configuration
        self.logger = logger
        self.embeddedGatewayLauncher = embeddedGateway
        self.embeddedAIProviderLauncher = embeddedAIProvider
        let aiBaseURL = NIOLockedValueBox(configuration.aiURL)
        self.aiBaseURL = aiBaseURL
        let registry = PrometheusCollectorRegistry()
        metricsRegistry = registry
        var metrics = PrometheusMetricsFactory(registry: registry)
        metrics.defaultDurationHistogramBuckets = Self.durationBuckets
        self.metrics = metrics
        self.clock = clock
        let endpoints = try configuration.redisShards.map { address throws(ConfigurationError) -> RedisEndpoint in
            guard let endpoint = RedisEndpoint(address) else { throw ConfigurationError("redis.shards: '\(address)' is not host:port") }
            return endpoint
        }
        postgres = PostgresPool(configuration: PostgresConfiguration(
            connectionString: configuration.databaseURL,
            poolSize: configuration.databasePoolSize,
            statementTimeout: configuration.databaseStatementTimeout,
            applicationName: "waqtor-server"), metrics: metrics)
        redis = RedisShards(
            endpoints: endpoints,
            configuration: .init(connectionsPerShard: configuration.redisConnectionsPerShard), metrics: metrics, name: "main")
        queueRedis = RedisShards(
            endpoints: endpoints,
            configuration: .init(connectionsPerShard: configuration.sendRedisConnectionsPerShard), metrics: metrics, name: "queue")

        http = HTTPClient()
        let gatewayMonitor = GatewayMonitor(
            gateway: EvolutionClient(baseURL: configuration.effectiveGatewayURL, apiKey: configuration.gatewayAPIKey, http: http,
                                     timeout: configuration.gatewayTimeout),
            interval: configuration.gatewayProbeInterval, clock: clock, logger: logger, hooks: GatewayMetrics(factory: metrics).hooks)
        self.gatewayMonitor = gatewayMonitor
        var router = RPCRouter()
        let health = HealthService(
            postgres: postgres, redis: redis, shardAddresses: configuration.redisShards,
            checkTimeout: configuration.healthCheckTimeout, logger: logger, gateway: gatewayMonitor)
        health.registerInline(into: &router)
        adminServer = AdminServer(
            host: configuration.adminHost, port: configuration.adminPort,
            routes: .init(metrics: { registry.emitToBuffer() }, readiness: { await Self.readinessJSON(health) }),
            logger: logger)
        tenants = TenantStore(pool: postgres)
        instances = InstanceStore(pool: postgres)
        liveRedis = RedisShards(endpoints: endpoints, configuration: .init(connectionsPerShard: 1, commandTimeout: .seconds(5)), metrics: metrics, name: "live")
        let live = LiveFeed(publisher: redis, reader: liveRedis, prefix: "waqtor", retention: configuration.chatLiveRetention,
                            bufferSize: configuration.chatLiveBuffer, metrics: metrics)
        self.live = live
        let signal = ProjectorSignal()
        projectorSignal = signal
        let instances = self.instances
        webhookServer = WebhookServer(
            configuration: WebhookServerConfiguration(
                host: configuration.webhookHost, port: configuration.webhookPort, maxBodyBytes: configuration.webhookMaxBodyBytes,
                maxInFlight: configuration.webhookMaxInFlight, retryAfterSeconds: configuration.webhookRetryAfterSeconds,
                maxConnections: configuration.webhookMaxConnections),
            instances: instances, logger: logger,
            afterStore: { target, event, isConnectionEvent in
                // A message event wakes this process's projector; a connection event publishes the
                // number's state to the live feed.
                if event == "messages.upsert" || event == "send.message" { signal.notify() }
                if isConnectionEvent, let instance = try? await instances.get(tenantID: target.tenantID, id: target.instanceID) {
                    try? await live.publish(tenantID: target.tenantID, [.instance(
                        instanceID: target.instanceID, state: instance.connection.state.rawValue,
                        reason: instance.connection.reason.map(String.init) ?? "")])
                }
            },
            metrics: metrics)
        sendHTTP = HTTPClient(configuration: HTTPClientConfiguration(
            maxConnectionsPerHost: configuration.sendMaxConnections, maxConnections: configuration.sendMaxConnections,
            timeout: configuration.sendTimeout, userAgent: "waqtor-sender"))
        // The API's own gateway calls tell the monitor whether the gateway answered.
        let heard: @Sendable (EvolutionReachability, Duration) -> Void = { gatewayMonitor.record($0, after: $1) }
        gateway = EvolutionClient(
            baseURL: configuration.effectiveGatewayURL, apiKey: configuration.gatewayAPIKey, http: http,
            timeout: configuration.gatewayTimeout, reachability: heard)
        TenantService(
            store: tenants,
            throttle: LoginThrottle(redis: redis, maxFailures: configuration.authLoginMaxFailures, window: configuration.authLoginWindow),
            sessionLifetime: configuration.authSessionLifetime,
            mediaRoot: configuration.mediaRoot,
            accountCleanup: { [instances, gateway, logger] tenantID in
                // A deleted account's WhatsApp sessions end on the gateway too.
                for instance in try await instances.list(tenantID: tenantID) {
                    do throws(EvolutionError) {
                        _ = try await gateway.delete(instance: instance.gatewayName)
                    } catch {
                        if error.kind != .instanceNotFound {
                            throw GatewayFailure.logged(error, action: "delete the account's WhatsApp numbers", instance: instance, logger: logger)
                        }
                    }
                }
            },
            clock: clock
        ).register(into: &router)
        let webhookServer = self.webhookServer
        InstanceService(
            store: instances, gateway: gateway,
            quickGateway: EvolutionClient(
                baseURL: configuration.effectiveGatewayURL, apiKey: configuration.gatewayAPIKey, http: http, timeout: .seconds(2),
                reachability: heard),
            quota: PlanQuota(store: tenants),
            webhookURL: { gatewayName in
                // With webhook.public_url empty, the listener's own address (useful with port 0).
                if configuration.webhookPublicURL.isEmpty {
                    return "http://\(configuration.webhookHost):\(webhookServer.localPort ?? configuration.webhookPort)/webhooks/evolution/\(gatewayName)"
                }
                return configuration.webhookURL(gatewayName: gatewayName)
            },
            clock: clock,
            lanes: SendLanes(redis: queueRedis, prefix: configuration.sendKeyPrefix),
            gatewayMonitor: gatewayMonitor
        ).register(into: &router)
        contacts = ContactStore(pool: postgres)
        campaigns = CampaignStore(pool: postgres)
        CampaignService(
            contacts: contacts, campaigns: campaigns, tenants: tenants, quota: PlanQuota(store: tenants), clock: clock,
            mediaCheck: MediaCheck(http: http)
        ).register(into: &router)
        chat = ChatStore(pool: postgres)
        mediaFiles = MediaFiles(root: configuration.mediaRoot)
        ChatService(
            store: chat, lanes: SendLanes(redis: queueRedis, prefix: configuration.sendKeyPrefix), live: live, files: mediaFiles,
            gateway: gateway, clock: clock
        ).register(into: &router)
        let drafting = DraftingConfiguration(
            models: configuration.aiModels, defaultModel: configuration.aiModels[0],
            fallbackModel: configuration.aiFallbackModel.isEmpty ? nil : configuration.aiFallbackModel)
        let aiKey = configuration.effectiveAIAPIKey
        let aiRetry = OpenRouterRetryPolicy(maxRetries: configuration.aiMaxRetries)
        let aiLogger = { var ai = logger; ai[metadataKey: "component"] = "ai"; return ai }()
        let aiHTTP = http
        AIService(
            configuration: drafting,
            drafter: {
                Drafter(configuration: drafting, client: OpenRouterClient(
                    configuration: OpenRouterConfiguration(baseURL: aiBaseURL.withLockedValue { $0 }, apiKey: aiKey,
                                                           attemptTimeout: configuration.aiAttemptTimeout, retry: aiRetry),
                    http: aiHTTP, logger: aiLogger), logger: aiLogger)
            },
            tenants: tenants, quota: PlanQuota(store: tenants), defaultTimeout: configuration.aiTimeout, metrics: metrics
        ).register(into: &router)
        // Every method is authenticated and authorised before its request is decoded.
        router.intercept(with: AuthInterceptor(tenants: tenants))
        self.router = router

        rpcServer = RPCServer(
            configuration: RPCServerConfiguration(
                host: configuration.rpcHost,
                port: configuration.rpcPort,
                maxFrameLength: UInt32(configuration.rpcMaxFrameBytes),
                maxConcurrentCallsPerConnection: configuration.rpcMaxCallsPerConnection,
                maxConnections: configuration.rpcMaxConnections,
                handshakeTimeout: configuration.rpcHandshakeTimeout,
                idleTimeout: configuration.rpcIdleTimeout,
                shutdownGracePeriod: configuration.rpcShutdownGrace),
            router: router,
            logger: logger,
            metrics: configuration.adminRPCMetrics ? metrics : nil)
    }

    /// Latency buckets of every duration histogram: 100 µs to 60 s, about three per decade.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    /// `/health/ready`: `{"ready": …, "components": [{"name", "ready", "latency_us", "detail"}]}`.
    /// The gateway is reported (`"required": false`) but does not make the process unready: while it
    /// is unreachable the API keeps serving, and `"degraded"` is true.
    static func readinessJSON(_ health: HealthService) async -> (ready: Bool, json: [UInt8]) {
        let components = await health.checkAll()
        let ready = HealthService.isReady(components)
        let body: [String: Any] = [
            "ready": ready,
            "degraded": !components.allSatisfy(\.ready),
            "components": components.map {
                ["name": $0.name, "ready": $0.ready, "latency_us": $0.latencyMicros, "detail": $0.detail,
                 "required": !HealthService.optionalComponents.contains($0.name)] as [String: Any]
            },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        return (ready, Array(data))
    }

    /// Applies pending migrations (when `database.migrate` is on) and starts the API parts in this
    /// process (RPC server, webhook listener, embedded gateway), for embedding and tests; stop with
    /// ``shutdown()``. Workers (the campaign scheduler) run only under ``run(role:)``, which the
    /// server program uses and which also handles signals; tests drive them directly.
    public func start() async throws {
        OpenFilesLimit.raise()
        if configuration.databaseMigrate {
            try await migrate()
        }
        if configuration.gatewayURL == "embedded" {
            try await startEmbeddedGateway()
        }
        if configuration.aiURL == "embedded" {
            try await startEmbeddedAIProvider()
        }
        gatewayMonitor.start()
        try await adminServer.start()
        live.start()
        try await rpcServer.start()
        do {
            try await webhookServer.start()
        } catch {
            await rpcServer.shutdown()
            throw error
        }
    }

    /// Raises the process's soft limit of open files to its hard limit (``OpenFilesLimit``) and
    /// logs it; warns when it is below what `role`'s listeners may accept.
    func raiseOpenFilesLimit(for role: WaqtorConfiguration.Role) {
        guard let outcome = OpenFilesLimit.raise() else {
            logger.warning("could not read the limit of open files (RLIMIT_NOFILE)")
            return
        }
        func text(_ value: UInt64?) -> String { value.map(String.init) ?? "unlimited" }
        logger.info("open files limit", metadata: [
            "soft": .string(text(outcome.now)), "hard": .string(text(outcome.hard)), "soft_at_start": .string(text(outcome.before)),
        ])
        let listeners = role == .worker ? 0 : configuration.rpcMaxConnections + configuration.webhookMaxConnections
        if let now = outcome.now, listeners > 0, now < UInt64(listeners) {
            logger.warning("the limit of open files is below rpc.max_connections + webhook.max_connections: connections past it are refused; raise the hard limit (systemd LimitNOFILE=, or ulimit -Hn as root) or lower those settings", metadata: [
                "limit": .stringConvertible(now), "max_connections": .stringConvertible(listeners),
            ])
        }
    }

    /// Applies pending migrations as the owner role. Several servers may call this at once: the
    /// migrator serialises them with an advisory lock.
    public func migrate() async throws {
        let migrator = try Migrator(configuration: PostgresConfiguration(connectionString: configuration.databaseMigrationURL), migrations: WaqtorSchema.migrations())
        let report = try await migrator.migrate()
        logger.info("migrations checked", metadata: [
            "applied": .string(report.applied.map { "\($0.version)_\($0.name)" }.joined(separator: ",")),
            "already_applied": .stringConvertible(report.alreadyApplied.count),
        ])
    }

    /// Makes the tenant with `email` an administrator, through the owner role (the application
    /// role cannot). For bootstrapping the first administrator: `waqtor-server make-admin`.
    public func makeAdministrator(email: String) async throws -> Bool {
        let ownerPool = PostgresPool(configuration: PostgresConfiguration(connectionString: configuration.databaseMigrationURL, poolSize: 1))
        defer { Task { await ownerPool.shutdown() } }
        return try await TenantStore.makeAdministrator(email: email, ownerPool: ownerPool)
    }

    /// Logs a warning naming the configured AI models (`ai.models`, `ai.fallback_model`) that the
    /// provider does not list, or a notice when it cannot be asked. Never logs the key.
    func checkAIModels() async {
        var configured = configuration.aiModels
        if !configuration.aiFallbackModel.isEmpty, !configured.contains(configuration.aiFallbackModel) { configured.append(configuration.aiFallbackModel) }
        let client = OpenRouterClient(
            configuration: OpenRouterConfiguration(baseURL: aiBaseURL.withLockedValue { $0 }, apiKey: configuration.effectiveAIAPIKey),
            http: http, logger: logger)
        do throws(OpenRouterError) {
            let listed = Set(try await client.listModels())
            let missing = configured.filter { !listed.contains($0) }
            if missing.isEmpty {
                logger.info("AI models available", metadata: ["models": .string(configured.joined(separator: ","))])
            } else {
                logger.warning("the AI provider does not list these configured models; drafts with them will fail until ai.models or ai.fallback_model is corrected",
                               metadata: ["missing": .string(missing.joined(separator: ","))])
            }
        } catch {
            if error.kind == .cancelled { return }
            logger.notice("could not list the AI provider's models; drafting will report the provider's errors as they come",
                          metadata: ["error": .string(error.description)])
        }
    }

    /// The RPC port (useful when configured as 0), once started.
    public var rpcPort: Int? { rpcServer.localPort }

    /// The webhook listener's port (useful when configured as 0), once started.
    public var webhookPort: Int? { webhookServer.localPort }

    /// Graceful stop: GOAWAY to every connection, calls in flight finish (up to the grace period),
    /// then the backends close.
    public func shutdown() async {
        await webhookServer.shutdown()
        await rpcServer.shutdown()
        await live.stop()
        await gatewayMonitor.stop()
        await stopEmbeddedGateway()
        await stopEmbeddedAIProvider()
        await adminServer.shutdown()
        await closeBackends()
    }
}
