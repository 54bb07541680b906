import WaqtorPostgres
import WaqtorRPC
import WaqtorRedis
import WaqtorHTTP
import WaqtorWebhooks
import WaqtorWorkers
import WaqtorSendQueue
import WaqtorTenants
import WaqtorCampaigns
import WaqtorCore
import WaqtorChat
import WaqtorEvolution
import WaqtorInstances
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import UnixSignals

// How `waqtor-server serve` runs: each long-running part is a swift-service-lifecycle `Service`,
// a role is a list of them, and one `ServiceGroup` owns start-up order, signals and shutdown.
//
// - SIGTERM or SIGINT begins a graceful shutdown: the group tells the services in reverse order,
//   so the RPC server drains first (GOAWAY, calls in flight finish, streams learn of the drain),
//   then the webhook listener stops, then the embedded gateway, and the backends close last.
// - A second SIGTERM or SIGINT cancels the group: the RPC server closes its connections at once.
//   (ServiceGroup refuses a signal that is both a graceful and a cancellation signal, so the
//   second one is counted here, beside the group.)
// - A service that fails (a port in use, say) ends the whole group with that error.

extension WaqtorApplication {
    /// Applies migrations (when `database.migrate` is on), runs the services of `role` (default:
    /// the configured one) until SIGTERM or SIGINT, and returns once they have stopped.
    public func run(role: WaqtorConfiguration.Role? = nil) async throws {
        let role = role ?? configuration.role
        raiseOpenFilesLimit(for: role)
        if configuration.databaseMigrate {
            try await migrate()
        }
        let group = ServiceGroup(configuration: .init(
            services: services(for: role).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        let logger = self.logger
        try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                do {
                    try await group.run()
                } catch where Task.isCancelled {
                    // Cancelled by a second signal, on purpose: the stop is not a failure.
                }
                return true
            }
            tasks.addTask {
                var seen = 0
                for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    seen += 1
                    if seen == 2 { return false }
                }
                return false
            }
            while let groupEnded = try await tasks.next() {
                if !groupEnded {
                    logger.warning("second signal: stopping at once, without waiting for calls in flight")
                }
                tasks.cancelAll()
                if groupEnded { return }
            }
        }
    }

    /// The services a role runs, in start order; a graceful shutdown stops them in reverse.
    ///
    /// - `api`: the RPC server (and the live feed's readers), the webhook listener, the chat
    ///   projector and media fetcher, and the embedded gateway when `gateway.url = embedded` (a
    ///   worker-only process reaches that gateway on its port).
    /// - `worker`: the campaign scheduler, the send queue's maintainer and sender (campaign
    ///   messages and chat replies); a worker process opens no port.
    /// - `all`: both.
    func services(for role: WaqtorConfiguration.Role) -> [any Service] {
        let servesAPI = role == .api || role == .all
        var services: [any Service] = [BackendsService(application: self)]
        var listeners: [ReadyGate] = []
        // Every role opens the admin listener: workers' metrics are scraped there too.
        let adminGate = ReadyGate()
        listeners.append(adminGate)
        services.append(PartService(ready: adminGate, start: { try await self.adminServer.start() }, stop: { await self.adminServer.shutdown() }))
        if servesAPI {
            if configuration.gatewayURL == "embedded" {
                let gate = ReadyGate()
                listeners.append(gate)
                services.append(PartService(ready: gate, start: { try await self.startEmbeddedGateway() }, stop: { await self.stopEmbeddedGateway() }))
            }
            if configuration.aiURL == "embedded" {
                let gate = ReadyGate()
                listeners.append(gate)
                services.append(PartService(ready: gate, start: { try await self.startEmbeddedAIProvider() }, stop: { await self.stopEmbeddedAIProvider() }))
            }
            // The gateway's watcher: its first probe at once, then every gateway.probe_interval_ms;
            // stopped after the RPC server has drained (and before an embedded gateway stops).
            services.append(PartService(ready: ReadyGate(), start: { self.gatewayMonitor.start() }, stop: { await self.gatewayMonitor.stop() }))
            let webhookGate = ReadyGate()
            let rpcGate = ReadyGate()
            listeners += [webhookGate, rpcGate]
            services.append(PartService(ready: webhookGate, start: { try await self.webhookServer.start() }, stop: { await self.webhookServer.shutdown() }))
            services.append(PartService(ready: rpcGate, start: {
                self.live.start()
                try await self.rpcServer.start()
            }, stop: {
                await self.rpcServer.shutdown()
                await self.live.stop()
            }))
            services.append(ChatProjector(
                chat: chat, lanes: SendLanes(redis: queueRedis, prefix: configuration.sendKeyPrefix), live: live, clock: clock,
                interval: configuration.chatProjectorInterval, signal: projectorSignal, tenants: chatTenants, logger: Logger(label: "waqtor.chat")))
            services.append(MediaFetcher(chat: chat, files: mediaFiles, gateway: gateway, live: live, clock: clock, tenants: chatTenants,
                                         logger: Logger(label: "waqtor.media")))
        }
        if role == .worker || role == .all {
            services.append(CampaignScheduler(
                store: campaigns, clock: clock, interval: configuration.campaignSchedulerInterval,
                mediaCheck: MediaCheck(http: http), logger: Logger(label: "waqtor.scheduler"), tenants: sendConfiguration.tenants))
            let lanes = SendLanes(redis: queueRedis, prefix: configuration.sendKeyPrefix)
            let outbox = Outbox(pool: postgres)
            let send = sendConfiguration
            let queueMetrics = QueueMetrics(factory: metrics)
            services.append(QueueMaintainer(
                lanes: lanes, outbox: outbox, campaigns: campaigns, clock: clock, configuration: send,
                logger: Logger(label: "waqtor.queue"), chat: chat, live: live, metrics: queueMetrics))
            services.append(SendWorker(
                lanes: lanes, outbox: outbox,
                gateway: EvolutionClient(baseURL: gateway.baseURL, apiKey: gateway.apiKey, http: sendHTTP, timeout: configuration.sendTimeout),
                quota: PlanQuota(store: tenants), clock: clock,
                configuration: send, logger: Logger(label: "waqtor.sender"), chat: chat, live: live, media: mediaFiles, metrics: queueMetrics))
        }
        if servesAPI { services.append(AIModelCheck(application: self, after: listeners)) }
        services.append(ReadyLine(application: self, role: role, servesAPI: servesAPI, gates: listeners))
        return services
    }

    /// The tenants whose chat events this process projects (nil: all).
    var chatTenants: Set<TenantID>? {
        configuration.chatTenants.isEmpty ? nil : Set(configuration.chatTenants.map { TenantID(trusted: $0) })
    }

    /// The send queue's settings from the configuration.
    var sendConfiguration: SendConfiguration {
        var send = SendConfiguration()
        send.windowSize = configuration.sendWindowSize
        send.refillBelow = max(1, configuration.sendWindowSize / 2)
        send.lease = configuration.sendLease
        send.sendTimeout = configuration.sendTimeout
        send.maxTypingDelayMs = configuration.sendMaxTypingDelayMs
        send.maxInFlight = configuration.sendMaxInFlight
        send.maxInFlightPerTenant = configuration.sendMaxInFlightPerTenant
        send.retry = RetryPolicy(maxAttempts: configuration.sendMaxAttempts, baseDelayMs: Int(configuration.sendRetryBase.components.seconds * 1000 + configuration.sendRetryBase.components.attoseconds / 1_000_000_000_000_000))
        send.maintenanceInterval = configuration.sendMaintenanceInterval
        send.tenants = configuration.sendTenants.isEmpty ? nil : Set(configuration.sendTenants.map { TenantID(trusted: $0) })
        return send
    }

    /// Starts the embedded Evolution API simulator (`gateway.url = embedded`).
    func startEmbeddedGateway() async throws {
        guard let launcher = embeddedGatewayLauncher else {
            throw ConfigurationError("gateway.url = embedded, but this program embeds no gateway simulator; run waqtor-server, or set gateway.url to the Evolution API's address")
        }
        let connectAfter = configuration.gatewayEmbeddedConnectAfter
        let running = try await launcher.start(.init(
            host: "127.0.0.1", port: configuration.gatewayEmbeddedPort, apiKey: configuration.gatewayAPIKey,
            connectAfter: connectAfter == .zero ? nil : connectAfter))
        embeddedGateway.withLockedValue { $0 = running }
        logger.info("embedded Evolution API simulator started", metadata: ["url": .string(running.baseURL)])
    }

    func stopEmbeddedGateway() async {
        if let running = embeddedGateway.withLockedValue({ $0 }) { await running.stop() }
    }

    /// Starts the embedded OpenRouter stand-in (`ai.url = embedded`) and points drafting at it.
    func startEmbeddedAIProvider() async throws {
        guard let launcher = embeddedAIProviderLauncher else {
            throw ConfigurationError("ai.url = embedded, but this program embeds no AI stand-in; run waqtor-server, or set ai.url to https://openrouter.ai/api/v1 with ai.api_key")
        }
        let running = try await launcher.start(.init(host: "127.0.0.1", port: configuration.aiEmbeddedPort, apiKey: configuration.effectiveAIAPIKey))
        embeddedAIProvider.withLockedValue { $0 = running }
        aiBaseURL.withLockedValue { $0 = running.baseURL }
        logger.info("embedded OpenRouter stand-in started", metadata: ["url": .string(running.baseURL)])
    }

    func stopEmbeddedAIProvider() async {
        if let running = embeddedAIProvider.withLockedValue({ $0 }) { await running.stop() }
    }

    /// Closes the outbound HTTP client, the Redis shards and the PostgreSQL pool.
    func closeBackends() async {
        await http.shutdown()
        await sendHTTP.shutdown()
        await redis.shutdown()
        await queueRedis.shutdown()
        await liveRedis.shutdown()
        await postgres.shutdown()
    }
}

/// A service says it is up, the ready line waits for all of them: a one-shot signal whose wait
/// also ends when the waiter is cancelled (a gate whose service failed to start never opens, and
/// the group then cancels every service, the waiter too).
typealias ReadyGate = OneShotSignal

/// One part of the server that starts, runs until the group shuts down, and stops: the RPC server,
/// the webhook listener, the embedded gateway.
struct PartService: Service {
    let ready: ReadyGate
    let start: @Sendable () async throws -> Void
    let stop: @Sendable () async -> Void

    func run() async throws {
        try await start()
        ready.fire()
        // Returns on a graceful shutdown; throws when the group is cancelled (a second signal),
        // and `stop` then runs in a cancelled task, which the parts treat as "at once".
        try? await gracefulShutdown()
        await stop()
    }
}

/// Holds the backends (PostgreSQL, Redis, HTTP) for the other services and closes them last.
struct BackendsService: Service {
    let application: WaqtorApplication

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            // Cancelled (a second signal): the process ends at once, and its connections with it.
            // Closing the pool here would wait for statements still running in libpq.
            return
        }
        await application.closeBackends()
    }
}

/// Once the API parts are up, asks OpenRouter (or the embedded stand-in) which models it lists and
/// warns about configured ones it does not: a retired or mistyped id in `ai.models` would fail
/// every draft. A graceful shutdown cancels the check.
struct AIModelCheck: Service {
    let application: WaqtorApplication
    let after: [ReadyGate]

    func run() async throws {
        for gate in after { await gate.wait() }
        if Task.isCancelled { return }
        try? await cancelWhenGracefulShutdown { await application.checkAIModels() }
        try? await gracefulShutdown()
    }
}

/// The "ready" log line once every listener of the role is bound, and the "shutting down" line when
/// a shutdown begins (it is the last service, so it hears of it first).
struct ReadyLine: Service {
    let application: WaqtorApplication
    let role: WaqtorConfiguration.Role
    let servesAPI: Bool
    let gates: [ReadyGate]

    func run() async throws {
        for gate in gates { await gate.wait() }
        // Cancelled: a service failed to start, and the group reports its error.
        if Task.isCancelled { return }
        let configuration = application.configuration
        var metadata: Logger.Metadata = [
            "role": .string(role.rawValue),
            "redis_shards": .stringConvertible(configuration.redisShards.count),
        ]
        metadata["admin"] = .string("\(configuration.adminHost):\(application.adminServer.localPort ?? configuration.adminPort)")
        if servesAPI {
            metadata["rpc"] = .string("\(configuration.rpcHost):\(application.rpcPort ?? configuration.rpcPort)")
            metadata["webhook"] = .string("\(configuration.webhookHost):\(application.webhookPort ?? configuration.webhookPort)")
        }
        application.logger.info("waqtor-server ready", metadata: metadata)
        try? await gracefulShutdown()
        application.logger.info("shutting down")
    }
}
