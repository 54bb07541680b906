import Foundation

/// A configuration value that could not be used, naming the key and where it came from.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Builds a ``WaqtorConfiguration`` from defaults, a JSON file, the environment and flags.
///
/// Keys are dotted (`rpc.port`). In the JSON file they may be nested (`{"rpc": {"port": 7420}}`)
/// or flat (`{"rpc.port": 7420}`); in the environment they are `WAQTOR_` + the key upper-cased with
/// dots as underscores (`WAQTOR_RPC_PORT`); on the command line `--set rpc.port=7420`. Later
/// sources win: defaults < file < environment < flags. Unknown keys are errors, so a typo never
/// silently falls back to a default.
public enum ConfigurationLoader {
    /// Every key, with a one-line description (docs/CONFIGURATION.md is generated from the same list).
    public static let keys: [(key: String, help: String)] = [
        ("role", "api, worker or all"),
        ("rpc.host", "address the RPC server listens on"),
        ("rpc.port", "TCP port of the RPC server (0 picks a free one)"),
        ("rpc.max_frame_bytes", "largest frame accepted, in bytes"),
        ("rpc.max_calls_per_connection", "calls in flight per connection"),
        ("rpc.max_connections", "connections open at once"),
        ("rpc.handshake_timeout_ms", "time a new connection has to send HELLO"),
        ("rpc.idle_timeout_ms", "time without calls before a connection is closed"),
        ("rpc.shutdown_grace_ms", "time calls in flight get to finish on SIGTERM"),
        ("webhook.host", "address the webhook listener (Evolution API events) listens on"),
        ("webhook.port", "TCP port of the webhook listener (0 picks a free one)"),
        ("webhook.max_body_bytes", "largest webhook body accepted, in bytes"),
        ("webhook.public_url", "the webhook listener's URL as the gateway reaches it"),
        ("webhook.max_in_flight", "webhook requests accepted and not answered yet; more are answered 503 with Retry-After"),
        ("webhook.retry_after_seconds", "the Retry-After of a shed webhook request, in seconds"),
        ("webhook.max_connections", "webhook connections open at once; more are closed as soon as accepted"),
        ("database.url", "PostgreSQL URL of the application role"),
        ("database.migration_url", "PostgreSQL URL of the owner role (migrations)"),
        ("database.pool_size", "PostgreSQL connections in the pool"),
        ("database.statement_timeout_ms", "server-side statement timeout"),
        ("database.migrate", "apply pending migrations at start-up (true/false)"),
        ("redis.shards", "comma-separated host:port list of the send queue's shards"),
        ("redis.connections_per_shard", "hiredis connections per shard"),
        ("auth.session_ttl_hours", "how long a session stays valid, in hours (1 to 8760)"),
        ("auth.login_max_failures", "failed logins per email before logins are refused for a while"),
        ("auth.login_window_ms", "window of the failed-login count, and how long the refusal lasts"),
        ("media.root", "folder for media files (one subfolder per tenant)"),
        ("gateway.url", "Evolution API base URL, or `embedded` for the built-in simulator"),
        ("gateway.api_key", "Evolution API global key (apikey header)"),
        ("gateway.timeout_ms", "timeout of each gateway call"),
        ("gateway.probe_interval_ms", "how often an api process checks that the gateway answers (instance states are shown stale while it does not)"),
        ("gateway.embedded_port", "port of the embedded simulator"),
        ("gateway.embedded_connect_after_ms", "the embedded simulator connects a number this long after its QR code (0: never)"),
        ("admin.host", "address of the admin listener (/metrics, /health/live, /health/ready)"),
        ("admin.port", "its TCP port (0 picks a free one); every role opens it"),
        ("admin.rpc_metrics", "record per-call RPC metrics (true/false)"),
        ("ai.url", "OpenRouter's API base URL (https://openrouter.ai/api/v1), or `embedded` for the built-in stand-in"),
        ("ai.api_key", "OpenRouter API key (never logged or printed)"),
        ("ai.models", "comma-separated OpenRouter model ids DraftTemplates accepts; the first is the default"),
        ("ai.fallback_model", "model OpenRouter tries when the requested one is unavailable (empty: none)"),
        ("ai.timeout_ms", "a DraftTemplates call's limit when the caller gives no deadline"),
        ("ai.attempt_timeout_ms", "the longest one provider call may take"),
        ("ai.max_retries", "retries of a transient provider failure (408, 429, 5xx, no answer)"),
        ("ai.embedded_port", "port of the embedded OpenRouter stand-in (0: a free one, logged at start)"),
        ("health.check_timeout_ms", "how long readiness waits for each dependency"),
        ("campaign.scheduler_interval_ms", "how often a worker starts scheduled campaigns whose time has come"),
        ("send.window_size", "most campaign messages held in one number's window on its Redis shard"),
        ("send.lease_ms", "how long a claimed message is a worker's before another may take it (at least the send timeout plus the longest typing delay)"),
        ("send.timeout_ms", "timeout of one send to the gateway (its typing delay is added)"),
        ("send.max_typing_delay_ms", "longest typing delay before a message (0: none)"),
        ("send.max_in_flight", "most sends in flight in one worker"),
        ("send.max_in_flight_per_tenant", "most sends in flight for one tenant in one worker"),
        ("send.max_connections", "most connections from one worker to the gateway"),
        ("send.max_attempts", "attempts of a message that fails for a passing reason before it is FAILED"),
        ("send.retry_base_ms", "delay before the first retry (doubling, jittered, at most 5 min)"),
        ("send.maintenance_interval_ms", "how often a worker refills windows, reclaims leases, applies receipts and checks campaigns"),
        ("send.redis_connections_per_shard", "Redis connections per shard for the send queue"),
        ("send.key_prefix", "prefix of the send queue's Redis keys"),
        ("send.tenants", "serve only these tenants' campaigns (ids separated by commas; empty: all)"),
        ("chat.live_retention", "about how many events the live feed keeps per Redis shard (for resume_after_event_id)"),
        ("chat.live_buffer", "events a Live stream may fall behind before it is ended with RESOURCE_EXHAUSTED"),
        ("chat.projector_interval_ms", "how often webhook message events are looked for when none was signalled"),
        ("chat.tenants", "project message events and fetch media only for these tenants (ids separated by commas; empty: all)"),
        ("log.level", "trace, debug, info, notice, warning, error or critical"),
        ("log.format", "json or text"),
    ]

    /// Loads the configuration.
    /// - Parameters:
    ///   - file: a JSON file path, or nil for none (also read from `WAQTOR_CONFIG`).
    ///   - environment: the process environment.
    ///   - overrides: `key=value` strings from `--set`.
    public static func load(
        file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment, overrides: [String] = []
    ) throws(ConfigurationError) -> WaqtorConfiguration {
        var values: [String: (value: String, source: String)] = [:]
        if let path = file ?? environment["WAQTOR_CONFIG"], !path.isEmpty {
            for (key, value) in try readFile(path) { values[key] = (value, "file \(path)") }
        }
        let known = Set(keys.map(\.key))
        for (name, value) in environment where name.hasPrefix("WAQTOR_") && name != "WAQTOR_CONFIG" {
            let key = String(name.dropFirst("WAQTOR_".count)).lowercased()
            guard let match = known.first(where: { $0.replacingOccurrences(of: ".", with: "_") == key }) else { continue }
            values[match] = (value, "environment variable \(name)")
        }
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                throw ConfigurationError("--set \(override): expected key=value, e.g. --set rpc.port=7420")
            }
            let key = String(override[..<equals]).trimmingCharacters(in: .whitespaces)
            values[key] = (String(override[override.index(after: equals)...]), "--set \(key)")
        }
        for key in values.keys where !known.contains(key) {
            throw ConfigurationError("unknown configuration key '\(key)' (from \(values[key]!.source)); see docs/CONFIGURATION.md")
        }
        var configuration = WaqtorConfiguration()
        for (key, entry) in values.sorted(by: { $0.key < $1.key }) {
            try apply(key: key, value: entry.value, source: entry.source, to: &configuration)
        }
        return configuration
    }

    static func readFile(_ path: String) throws(ConfigurationError) -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ConfigurationError("cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ConfigurationError("the configuration file \(path) is not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any] else {
            throw ConfigurationError("the configuration file \(path) must hold a JSON object")
        }
        var flat: [String: String] = [:]
        func walk(_ node: [String: Any], prefix: String) {
            for (key, value) in node {
                let full = prefix.isEmpty ? key : "\(prefix).\(key)"
                switch value {
                case let nested as [String: Any]: walk(nested, prefix: full)
                case let list as [Any]: flat[full] = list.map { "\($0)" }.joined(separator: ",")
                case let flag as Bool where !(value is Int) || "\(type(of: value))".contains("Bool"):
                    flat[full] = flag ? "true" : "false"
                case let number as NSNumber:
                    flat[full] = number.stringValue
                default: flat[full] = "\(value)"
                }
            }
        }
        walk(root, prefix: "")
        return flat
    }

    static func apply(key: String, value raw: String, source: String, to c: inout WaqtorConfiguration) throws(ConfigurationError) {
        let value = raw.trimmingCharacters(in: .whitespaces)
        func bad(_ expected: String) -> ConfigurationError {
            ConfigurationError("\(key) = '\(raw)' (from \(source)) is not valid: expected \(expected)")
        }
        func int(_ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            guard let number = Int(value), range.contains(number) else {
                throw bad("a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        func millis(_ range: ClosedRange<Int> = 1...86_400_000) throws(ConfigurationError) -> Duration {
            .milliseconds(try int(range))
        }
        switch key {
        case "role":
            guard let role = WaqtorConfiguration.Role(rawValue: value) else { throw bad("api, worker or all") }
            c.role = role
        case "rpc.host":
            guard !value.isEmpty else { throw bad("a host name or IP address") }
            c.rpcHost = value
        case "rpc.port": c.rpcPort = try int(0...65535)
        case "rpc.max_frame_bytes": c.rpcMaxFrameBytes = try int(1024...(256 * 1024 * 1024))
        case "rpc.max_calls_per_connection": c.rpcMaxCallsPerConnection = try int(1...1_000_000)
        case "rpc.max_connections": c.rpcMaxConnections = try int(1...1_000_000)
        case "rpc.handshake_timeout_ms": c.rpcHandshakeTimeout = try millis()
        case "rpc.idle_timeout_ms": c.rpcIdleTimeout = try millis()
        case "rpc.shutdown_grace_ms": c.rpcShutdownGrace = try millis(0...86_400_000)
        case "webhook.host":
            guard !value.isEmpty else { throw bad("a host name or IP address") }
            c.webhookHost = value
        case "webhook.port": c.webhookPort = try int(0...65535)
        case "webhook.max_body_bytes": c.webhookMaxBodyBytes = try int(1024...(64 * 1024 * 1024))
        case "webhook.public_url":
            guard value.isEmpty || ((value.hasPrefix("http://") || value.hasPrefix("https://")) && value.count > 8) else {
                throw bad("an http:// or https:// URL, or empty for the listener's own address")
            }
            c.webhookPublicURL = value.hasSuffix("/") ? String(value.dropLast()) : value
        case "webhook.max_in_flight": c.webhookMaxInFlight = try int(1...1_000_000)
        case "webhook.retry_after_seconds": c.webhookRetryAfterSeconds = try int(1...3600)
        case "webhook.max_connections": c.webhookMaxConnections = try int(1...1_000_000)
        case "database.url":
            guard value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") || value.contains("=") else {
                throw bad("a postgresql:// URL or a libpq key=value string")
            }
            c.databaseURL = value
        case "database.migration_url":
            guard value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") || value.contains("=") else {
                throw bad("a postgresql:// URL or a libpq key=value string")
            }
            c.databaseMigrationURL = value
        case "database.pool_size": c.databasePoolSize = try int(1...512)
        case "database.statement_timeout_ms": c.databaseStatementTimeout = try millis()
        case "database.migrate":
            switch value.lowercased() {
            case "true", "1", "yes", "on": c.databaseMigrate = true
            case "false", "0", "no", "off": c.databaseMigrate = false
            default: throw bad("true or false")
            }
        case "redis.shards":
            let shards = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !shards.isEmpty else { throw bad("at least one host:port") }
            for shard in shards {
                guard let colon = shard.lastIndex(of: ":"), let port = Int(shard[shard.index(after: colon)...]),
                      (1...65535).contains(port), colon != shard.startIndex
                else { throw bad("host:port entries separated by commas, e.g. 127.0.0.1:63790,127.0.0.1:63791") }
            }
            c.redisShards = shards
        case "redis.connections_per_shard": c.redisConnectionsPerShard = try int(1...256)
        case "auth.session_ttl_hours": c.authSessionLifetime = .seconds(try int(1...(24 * 365)) * 3600)
        case "auth.login_max_failures": c.authLoginMaxFailures = try int(1...1000)
        case "auth.login_window_ms": c.authLoginWindow = try millis()
        case "media.root":
            guard !value.isEmpty else { throw bad("a folder path") }
            c.mediaRoot = value
        case "gateway.url":
            guard value == "embedded" || value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw bad("an http(s):// URL or `embedded`")
            }
            c.gatewayURL = value.hasSuffix("/") ? String(value.dropLast()) : value
        case "gateway.api_key":
            guard !value.isEmpty else { throw bad("a non-empty key") }
            c.gatewayAPIKey = value
        case "gateway.timeout_ms": c.gatewayTimeout = try millis()
        case "gateway.probe_interval_ms": c.gatewayProbeInterval = try millis(10...3_600_000)
        case "admin.host":
            guard !value.isEmpty else { throw bad("a host name or IP address") }
            c.adminHost = value
        case "admin.port": c.adminPort = try int(0...65535)
        case "admin.rpc_metrics":
            switch value.lowercased() {
            case "true", "1", "yes", "on": c.adminRPCMetrics = true
            case "false", "0", "no", "off": c.adminRPCMetrics = false
            default: throw bad("true or false")
            }
        case "ai.url":
            guard value == "embedded" || value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw bad("an http(s):// URL such as https://openrouter.ai/api/v1, or `embedded`")
            }
            c.aiURL = value.hasSuffix("/") ? String(value.dropLast()) : value
        case "ai.api_key": c.aiAPIKey = value
        case "ai.models":
            let models = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !models.isEmpty, models.allSatisfy({ $0.contains("/") && !$0.contains(" ") }) else {
                throw bad("OpenRouter model ids separated by commas, e.g. google/gemini-2.5-flash,qwen/qwen3-235b-a22b-2507")
            }
            c.aiModels = models
        case "ai.fallback_model":
            guard value.isEmpty || (value.contains("/") && !value.contains(" ")) else { throw bad("an OpenRouter model id, or empty for none") }
            c.aiFallbackModel = value
        case "ai.timeout_ms": c.aiTimeout = try millis(1000...3_600_000)
        case "ai.attempt_timeout_ms": c.aiAttemptTimeout = try millis(1000...3_600_000)
        case "ai.max_retries": c.aiMaxRetries = try int(0...10)
        case "ai.embedded_port": c.aiEmbeddedPort = try int(0...65535)
        case "gateway.embedded_port": c.gatewayEmbeddedPort = try int(1...65535)
        case "gateway.embedded_connect_after_ms": c.gatewayEmbeddedConnectAfter = try millis(0...86_400_000)
        case "health.check_timeout_ms": c.healthCheckTimeout = try millis(1...600_000)
        case "campaign.scheduler_interval_ms": c.campaignSchedulerInterval = try millis(100...3_600_000)
        case "send.window_size": c.sendWindowSize = try int(2...5000)
        case "send.lease_ms": c.sendLease = try millis(1000...600_000)
        case "send.timeout_ms": c.sendTimeout = try millis(100...600_000)
        case "send.max_typing_delay_ms": c.sendMaxTypingDelayMs = try int(0...25_000)
        case "send.max_in_flight": c.sendMaxInFlight = try int(1...100_000)
        case "send.max_in_flight_per_tenant": c.sendMaxInFlightPerTenant = try int(1...100_000)
        case "send.max_connections": c.sendMaxConnections = try int(1...100_000)
        case "send.max_attempts": c.sendMaxAttempts = try int(1...100)
        case "send.retry_base_ms": c.sendRetryBase = try millis(0...3_600_000)
        case "send.maintenance_interval_ms": c.sendMaintenanceInterval = try millis(10...60_000)
        case "send.redis_connections_per_shard": c.sendRedisConnectionsPerShard = try int(1...256)
        case "send.key_prefix":
            guard !value.isEmpty, value.count <= 64, !value.contains("{"), !value.contains("}"), !value.contains(" ") else {
                throw bad("1 to 64 characters without spaces or braces")
            }
            c.sendKeyPrefix = value
        case "send.tenants":
            let ids = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard ids.allSatisfy({ UUID(uuidString: $0) != nil }) else { throw bad("tenant ids (UUIDs) separated by commas") }
            c.sendTenants = ids.map { $0.lowercased() }
        case "chat.live_retention": c.chatLiveRetention = try int(1000...10_000_000)
        case "chat.live_buffer": c.chatLiveBuffer = try int(10...1_000_000)
        case "chat.projector_interval_ms": c.chatProjectorInterval = try millis(10...60_000)
        case "chat.tenants":
            let ids = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard ids.allSatisfy({ UUID(uuidString: $0) != nil }) else { throw bad("tenant ids (UUIDs) separated by commas") }
            c.chatTenants = ids.map { $0.lowercased() }
        case "log.level":
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value) else {
                throw bad("trace, debug, info, notice, warning, error or critical")
            }
            c.logLevel = value
        case "log.format":
            guard let format = WaqtorConfiguration.LogFormat(rawValue: value) else { throw bad("json or text") }
            c.logFormat = format
        default:
            throw ConfigurationError("unknown configuration key '\(key)'")
        }
    }
}
