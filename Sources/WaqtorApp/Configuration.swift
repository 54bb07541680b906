import Foundation

/// Everything `waqtor-server` can be told, with its defaults. docs/CONFIGURATION.md lists every
/// key; ``ConfigurationLoader`` reads them from a JSON file, `WAQTOR_*` environment variables and
/// `--set key=value` flags, in that order of increasing precedence.
public struct WaqtorConfiguration: Sendable, Equatable {
    /// Which parts of the server run in this process.
    public enum Role: String, Sendable, CaseIterable {
        /// The RPC API only.
        case api
        /// Background workers only (the send queue's consumers; they arrive with the campaign work).
        case worker
        /// Both.
        case all
    }

    /// Log output format.
    public enum LogFormat: String, Sendable, CaseIterable {
        /// One JSON object per line (default): machine-readable, carries every metadata field.
        case json
        /// `time level message key=value…`, for people reading a terminal.
        case text
    }

    public var role: Role = .all

    // rpc.*
    public var rpcHost = "127.0.0.1"
    public var rpcPort = 7420
    public var rpcMaxFrameBytes = 4 * 1024 * 1024
    public var rpcMaxCallsPerConnection = 1024
    public var rpcMaxConnections = 10_000
    public var rpcHandshakeTimeout: Duration = .seconds(10)
    public var rpcIdleTimeout: Duration = .seconds(300)
    public var rpcShutdownGrace: Duration = .seconds(30)

    // webhook.*
    /// Address of the webhook listener (the Evolution API gateway posts events to it).
    public var webhookHost = "127.0.0.1"
    /// Its TCP port (0 picks a free one).
    public var webhookPort = 7421
    /// Largest webhook body accepted; larger ones get 413 without being read to the end.
    public var webhookMaxBodyBytes = 1024 * 1024
    /// The listener's URL as the gateway reaches it (given to the gateway at instance creation).
    public var webhookPublicURL = ""
    /// Webhook requests accepted and not answered yet; one more is answered 503 with Retry-After,
    /// its body unread (docs/WEBHOOKS.md, "Shedding load").
    public var webhookMaxInFlight = 256
    /// The Retry-After of a shed webhook request, in seconds.
    public var webhookRetryAfterSeconds = 2
    /// Webhook connections open at once; one more is closed as soon as it is accepted.
    public var webhookMaxConnections = 10_000

    // database.*
    /// The application role's connection (owns no table, row-level security applies).
    public var databaseURL = "postgresql://waqtor_app:waqtor-app-dev@127.0.0.1:54329/waqtor"
    /// The owner role's connection, used only to apply migrations at start-up.
    public var databaseMigrationURL = "postgresql://waqtor_owner:waqtor-owner-dev@127.0.0.1:54329/waqtor"
    public var databasePoolSize = 8
    public var databaseStatementTimeout: Duration = .seconds(30)
    /// Apply pending migrations at start-up (safe with several servers starting at once).
    public var databaseMigrate = true

    // redis.*
    /// The send queue's shards, in order (the order is part of the key → shard mapping's input:
    /// shard i is named `shard-i`).
    public var redisShards = ["127.0.0.1:63790", "127.0.0.1:63791"]
    public var redisConnectionsPerShard = 4

    // auth.*
    /// How long a session from sign-up or login stays valid.
    public var authSessionLifetime: Duration = .seconds(30 * 86_400)
    /// Failed logins for one email within the window before logins are refused for a while.
    public var authLoginMaxFailures = 5
    /// The window of ``authLoginMaxFailures``, and how long the refusal lasts.
    public var authLoginWindow: Duration = .seconds(900)

    // media.*
    /// Where media files live: one folder per tenant (`<root>/<tenant id>/`).
    public var mediaRoot = ".data/media"

    // gateway.*
    /// The Evolution API's base URL, or `embedded` for the simulator started inside the server
    /// (the local default, so that the whole flow works without a real gateway).
    public var gatewayURL = "embedded"
    /// The Evolution API's global key (`apikey` header).
    public var gatewayAPIKey = "waqtor-dev-gateway-key"
    /// Timeout of each gateway call (sends add their typing delay to it).
    public var gatewayTimeout: Duration = .seconds(30)
    /// How often an `api` process checks that the gateway answers (`GET /`); while it does not,
    /// instance states are shown stale.
    public var gatewayProbeInterval: Duration = .seconds(5)
    /// Port of the embedded simulator (with `gateway.url = embedded`).
    public var gatewayEmbeddedPort = 7422
    /// The embedded simulator "scans" a QR code this long after it was handed out (0: never; use
    /// its control route `POST /_sim/connect/{instance}`).
    public var gatewayEmbeddedConnectAfter: Duration = .seconds(5)

    /// The gateway's base URL in effect.
    public var effectiveGatewayURL: String {
        gatewayURL == "embedded" ? "http://127.0.0.1:\(gatewayEmbeddedPort)" : gatewayURL
    }

    // ai.* (AI drafting through OpenRouter; docs/AI.md)
    /// OpenRouter's API base URL, or `embedded` for the stand-in started inside the server (the
    /// local default: drafting works without an account, with deterministic drafts).
    public var aiURL = "embedded"
    /// The OpenRouter API key; empty: drafting answers FAILED_PRECONDITION (except `embedded`,
    /// which uses the stand-in's key). Never logged or printed.
    public var aiAPIKey = ""
    /// The models DraftTemplates accepts (OpenRouter ids); the first is the default.
    public var aiModels = ["google/gemini-2.5-flash", "qwen/qwen3-235b-a22b-2507"]
    /// Tried by OpenRouter when the requested model is unavailable (empty: none).
    public var aiFallbackModel = "qwen/qwen3-235b-a22b-2507"
    /// A DraftTemplates call's time limit when the caller gives no deadline (retries included).
    public var aiTimeout: Duration = .seconds(90)
    /// The longest one provider call may take.
    public var aiAttemptTimeout: Duration = .seconds(60)
    /// Retries of a provider call that failed transiently (408, 429, 5xx, no answer).
    public var aiMaxRetries = 2
    /// Port of the embedded stand-in (with `ai.url = embedded`); 0: a free port (only this process
    /// talks to it; its address is logged at start).
    public var aiEmbeddedPort = 0
    /// The stand-in's key: what the server sends it with `ai.url = embedded`.
    public static let embeddedAIKey = "sim-openrouter-key"

    /// The API key in effect.
    public var effectiveAIAPIKey: String {
        aiURL == "embedded" && aiAPIKey.isEmpty ? Self.embeddedAIKey : aiAPIKey
    }

    // admin.* (the admin listener: /metrics, /health/live, /health/ready; docs/OPERATIONS.md)
    /// Address of the admin listener; loopback by default (it shows addresses and error texts).
    public var adminHost = "127.0.0.1"
    /// Its port; 0 picks a free one (logged at start). Every role opens it.
    public var adminPort = 7424
    /// Whether the RPC server records per-call metrics (calls by method and status, latency, in
    /// flight). Off saves their cost on the hottest path (docs/BENCHMARKS.md); the other metrics stay.
    public var adminRPCMetrics = true

    // health.*
    /// How long a readiness check waits for each dependency.
    public var healthCheckTimeout: Duration = .seconds(2)
    /// How often a worker looks for scheduled campaigns whose time has come.
    public var campaignSchedulerInterval: Duration = .seconds(5)

    // send.* (the send queue; docs/QUEUE.md)
    /// Most campaign messages held in one number's window on its Redis shard.
    public var sendWindowSize = 200
    /// How long a claimed message is a worker's before another may take it.
    public var sendLease: Duration = .seconds(25)
    /// Timeout of one send to the gateway (its typing delay is added).
    public var sendTimeout: Duration = .seconds(10)
    /// Longest typing delay ("typing…") before a message, in ms (0: none).
    public var sendMaxTypingDelayMs = 5000
    /// Most sends in flight in one worker, and for one tenant in one worker.
    public var sendMaxInFlight = 2048
    public var sendMaxInFlightPerTenant = 512
    /// Most connections from one worker to the gateway (sends beyond wait inside libcurl).
    public var sendMaxConnections = 2048
    /// Attempts of a message that fails for a passing reason, and the first retry's delay.
    public var sendMaxAttempts = 5
    public var sendRetryBase: Duration = .seconds(5)
    /// How often a worker refills windows, reclaims leases, applies receipts and checks campaigns.
    public var sendMaintenanceInterval: Duration = .milliseconds(250)
    /// Redis connections per shard for the send queue (apart from `redis.connections_per_shard`).
    public var sendRedisConnectionsPerShard = 4
    /// The prefix of the send queue's Redis keys (workers sharing a queue share it).
    public var sendKeyPrefix = "wq"
    /// Serve only these tenants' campaigns (empty: every tenant's), e.g. workers of their own for
    /// a large tenant, with their own key prefix.
    public var sendTenants: [String] = []

    // chat.*
    /// About how many events the live feed keeps per Redis shard (resumable window).
    public var chatLiveRetention = 100_000
    /// Events a Live stream may fall behind before it ends with RESOURCE_EXHAUSTED.
    public var chatLiveBuffer = 1000
    /// How often the chat projector looks for webhook message events.
    public var chatProjectorInterval: Duration = .milliseconds(100)
    /// Project and fetch media only for these tenants (empty: every tenant's).
    public var chatTenants: [String] = []

    // log.*
    public var logLevel = "info"
    public var logFormat: LogFormat = .json

    public init() {}

    /// The webhook URL to give the gateway for an instance (docs/WEBHOOKS.md).
    public func webhookURL(gatewayName: String) -> String {
        "\(webhookPublicURL)/webhooks/evolution/\(gatewayName)"
    }
}
