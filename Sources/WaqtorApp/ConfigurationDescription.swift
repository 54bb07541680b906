import WaqtorPostgres

/// The effective configuration as `key = value` lines, passwords hidden.
public enum ConfigurationDescription {
    public static func lines(_ c: WaqtorConfiguration) -> [String] {
        func ms(_ d: Duration) -> String { "\(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)" }
        return [
            "role = \(c.role.rawValue)",
            "rpc.host = \(c.rpcHost)",
            "rpc.port = \(c.rpcPort)",
            "rpc.max_frame_bytes = \(c.rpcMaxFrameBytes)",
            "rpc.max_calls_per_connection = \(c.rpcMaxCallsPerConnection)",
            "rpc.max_connections = \(c.rpcMaxConnections)",
            "rpc.handshake_timeout_ms = \(ms(c.rpcHandshakeTimeout))",
            "rpc.idle_timeout_ms = \(ms(c.rpcIdleTimeout))",
            "rpc.shutdown_grace_ms = \(ms(c.rpcShutdownGrace))",
            "webhook.host = \(c.webhookHost)",
            "webhook.port = \(c.webhookPort)",
            "webhook.max_body_bytes = \(c.webhookMaxBodyBytes)",
            "webhook.public_url = \(c.webhookPublicURL)",
            "database.url = \(PostgresConfiguration(connectionString: c.databaseURL).redactedConnectionString)",
            "database.migration_url = \(PostgresConfiguration(connectionString: c.databaseMigrationURL).redactedConnectionString)",
            "database.pool_size = \(c.databasePoolSize)",
            "database.statement_timeout_ms = \(ms(c.databaseStatementTimeout))",
            "database.migrate = \(c.databaseMigrate)",
            "redis.shards = \(c.redisShards.joined(separator: ","))",
            "redis.connections_per_shard = \(c.redisConnectionsPerShard)",
            "auth.session_ttl_hours = \(c.authSessionLifetime.components.seconds / 3600)",
            "auth.login_max_failures = \(c.authLoginMaxFailures)",
            "auth.login_window_ms = \(ms(c.authLoginWindow))",
            "media.root = \(c.mediaRoot)",
            "gateway.url = \(c.gatewayURL)",
            "gateway.api_key = ***",
            "gateway.timeout_ms = \(ms(c.gatewayTimeout))",
            "gateway.embedded_port = \(c.gatewayEmbeddedPort)",
            "gateway.embedded_connect_after_ms = \(ms(c.gatewayEmbeddedConnectAfter))",
            "health.check_timeout_ms = \(ms(c.healthCheckTimeout))",
            "campaign.scheduler_interval_ms = \(ms(c.campaignSchedulerInterval))",
            "send.window_size = \(c.sendWindowSize)",
            "send.lease_ms = \(ms(c.sendLease))",
            "send.timeout_ms = \(ms(c.sendTimeout))",
            "send.max_typing_delay_ms = \(c.sendMaxTypingDelayMs)",
            "send.max_in_flight = \(c.sendMaxInFlight)",
            "send.max_in_flight_per_tenant = \(c.sendMaxInFlightPerTenant)",
            "send.max_attempts = \(c.sendMaxAttempts)",
            "send.retry_base_ms = \(ms(c.sendRetryBase))",
            "send.maintenance_interval_ms = \(ms(c.sendMaintenanceInterval))",
            "send.redis_connections_per_shard = \(c.sendRedisConnectionsPerShard)",
            "log.level = \(c.logLevel)",
            "log.format = \(c.logFormat.rawValue)",
        ]
    }
}
