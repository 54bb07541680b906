import WaqtorCore
import WaqtorSecurity
import WaqtorTenants
import Foundation
import WaqtorPostgres

/// The connection state of an instance, as stored in `instances.state`.
public enum InstanceState: String, Sendable, Hashable, CaseIterable {
    case unspecified
    case connecting
    case open
    case close
    case refused
    /// Logged out or banned (a close with 401, 402, 403 or 406, or `logout.instance`): the number
    /// must be paired again; sending is paused.
    case needsRepairing = "needs_repairing"
}

/// Pacing of sends on one number. Quiet hours are minutes of the day in the tenant's time zone.
public struct InstancePacing: Sendable, Hashable {
    public var minDelayMs: Int
    public var maxDelayMs: Int
    /// nil: only the plan's daily limit applies.
    public var dailyCap: Int?
    public var quietStartMinute: Int?
    public var quietEndMinute: Int?
    public var warmupEnabled: Bool
    public var warmupDays: Int

    public init(minDelayMs: Int = 3000, maxDelayMs: Int = 9000, dailyCap: Int? = nil, quietStartMinute: Int? = nil,
                quietEndMinute: Int? = nil, warmupEnabled: Bool = true, warmupDays: Int = 14) {
        self.minDelayMs = minDelayMs
        self.maxDelayMs = maxDelayMs
        self.dailyCap = dailyCap
        self.quietStartMinute = quietStartMinute
        self.quietEndMinute = quietEndMinute
        self.warmupEnabled = warmupEnabled
        self.warmupDays = warmupDays
    }
}

/// One row of `instances` (never the secret or its hash).
public struct Instance: Sendable, Hashable {
    public var id: InstanceID
    public var tenantID: TenantID
    public var displayName: String
    /// The Evolution API instance name.
    public var gatewayName: String
    /// E.164: the number WhatsApp paired, or until then the one given at creation.
    public var phoneNumber: String?
    /// The WhatsApp profile name, once paired.
    public var profileName: String?
    public var state: InstanceState
    /// statusReason of the last close, if any.
    public var stateReason: Int?
    public var needsRepairing: Bool
    /// See ``InstanceConnection/paired``.
    public var paired: Bool
    /// See ``InstanceConnection/pairingNumber``.
    public var pairingNumber: String?
    /// See ``InstanceConnection/logoutRequested``.
    public var logoutRequested: Bool
    /// The `date_time` (gateway clock) of the newest webhook applied to the state.
    public var stateGatewayTime: GatewayTime?
    public var pacing: InstancePacing
    public var createdAt: Date
    public var updatedAt: Date
    /// When the state last changed (our clock).
    public var stateChangedAt: Date
    public var lastEventAt: Date?

    /// The connection part, as the state rules see it.
    public var connection: InstanceConnection {
        InstanceConnection(
            state: state, reason: stateReason, needsRepairing: needsRepairing, paired: paired, phoneNumber: phoneNumber,
            profileName: profileName, pairingNumber: pairingNumber, logoutRequested: logoutRequested, eventTime: stateGatewayTime)
    }
}

/// A new instance with its webhook secret, which exists only here: the database keeps its SHA-256.
public struct CreatedInstance: Sendable {
    public var instance: Instance
    /// Give it to the gateway as the webhook header `x-waqtor-webhook-secret`.
    public var webhookSecret: String
}

/// What the webhook endpoint learns from a gateway name before it knows the tenant.
public struct WebhookTarget: Sendable, Hashable {
    public var instanceID: InstanceID
    public var tenantID: TenantID
    public var secretHash: [UInt8]

    public init(instanceID: InstanceID, tenantID: TenantID, secretHash: [UInt8]) {
        self.instanceID = instanceID
        self.tenantID = tenantID
        self.secretHash = secretHash
    }

    /// Whether `presented` is the instance's secret: its SHA-256 against the stored one, compared in
    /// constant time by swift-crypto (``Hashing/sha256(of:matches:)``).
    public func accepts(secret presented: String) -> Bool {
        Hashing.sha256(of: Array(presented.utf8), matches: secretHash)
    }
}

/// What ``InstanceStore/recordEvent(_:event:dedupeKey:payload:connectionEvent:at:)`` did.
public enum RecordedEvent: Sendable, Hashable {
    /// Stored (and its connection change, if any, applied).
    case stored
    /// A repeated delivery of an event already stored: nothing changed.
    case duplicate
    /// The instance was deleted meanwhile (the webhook raced its deletion): nothing stored.
    case instanceGone
}

/// One stored webhook event.
public struct StoredWebhookEvent: Sendable {
    public var id: Int64
    public var instanceID: InstanceID
    public var event: String
    public var dedupeKey: String
    /// The envelope as received (JSON text, normalised by PostgreSQL's jsonb).
    public var payload: String
    public var receivedAt: Date
    public var processedAt: Date?
}

/// Instances (WhatsApp numbers) and their webhook events, under row-level security: every
/// tenant-scoped call runs inside `withTransaction(tenantID:)`. Shared by the webhook endpoint
/// and the InstanceService handlers.
public struct InstanceStore: Sendable {
    public let pool: PostgresPool

    /// Close reasons after which the gateway does not reconnect: logged out, banned, forbidden.
    public static let loggedOutReasons = InstanceConnection.loggedOutReasons

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns = """
        id, tenant_id, display_name, gateway_name, phone_number, profile_name, state, state_reason, needs_repairing, \
        paired, pairing_number, logout_requested, \
        (extract(epoch FROM state_gateway_time) * 1000)::bigint AS state_gateway_ms, \
        min_delay_ms, max_delay_ms, daily_cap, quiet_start_minute, quiet_end_minute, warmup_enabled, warmup_days, \
        created_at, updated_at, state_changed_at, last_event_at
        """

    // MARK: - Instances

    /// The gateway instance name for a tenant: `wq-` + the first 12 hex digits of its id + `-` +
    /// 8 random hex digits.
    public static func makeGatewayName(tenantID: TenantID) -> String {
        let hex = tenantID.rawValue.filter { $0.isHexDigit }
        var generator = SystemRandomNumberGenerator()
        let suffix = (0..<4).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
        return "wq-\(hex.prefix(12))-\(suffix)"
    }

    /// A fresh webhook secret: `whs_` + 32 random bytes, base64url.
    public static func makeWebhookSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "whs_" + SecretToken.base64URL(bytes)
    }

    /// Creates an instance row for a tenant; the caller checks the plan's limit. Returns the
    /// one-time webhook secret with it.
    public func create(
        tenantID: TenantID, displayName: String, phoneNumber: String? = nil, pacing: InstancePacing = InstancePacing(),
        gatewayName: String? = nil, maxInstances: Int? = nil
    ) async throws -> CreatedInstance {
        let secret = Self.makeWebhookSecret()
        let name = gatewayName ?? Self.makeGatewayName(tenantID: tenantID)
        let instance = try await scoped(tenantID) { tx in
            if let maxInstances {
                // Concurrent creations of one tenant queue here, so the count below cannot be stale.
                _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtext('waqtor.instances:' || $1::text))", [.text(tenantID.rawValue)])
                let count = try await tx.query("SELECT count(*) AS n FROM instances WHERE tenant_id = $1", [.id(tenantID)]).first?["n"].int ?? 0
                if count >= maxInstances { throw InstanceLimitReached(current: count, limit: maxInstances) }
            }
            let rows = try await tx.query("""
                INSERT INTO instances (tenant_id, display_name, gateway_name, phone_number, webhook_secret_hash,
                    min_delay_ms, max_delay_ms, daily_cap, quiet_start_minute, quiet_end_minute, warmup_enabled, warmup_days)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING \(Self.columns)
                """,
                [.id(tenantID), .text(displayName), .text(name), phoneNumber.map { .text($0) }, .bytea(Hashing.sha256(Array(secret.utf8))),
                 .int(pacing.minDelayMs), .int(pacing.maxDelayMs), pacing.dailyCap.map { .int($0) },
                 pacing.quietStartMinute.map { .int($0) }, pacing.quietEndMinute.map { .int($0) },
                 .bool(pacing.warmupEnabled), .int(pacing.warmupDays)])
            return try Self.instance(rows.first)
        }
        return CreatedInstance(instance: instance, webhookSecret: secret)
    }

    /// The tenant's instance, or nil (also for another tenant's id or a malformed id).
    public func get(tenantID: TenantID, id: InstanceID) async throws -> Instance? {
        return try await scoped(tenantID) { tx in
            try await tx.query("SELECT \(Self.columns) FROM instances WHERE id = $1", [.id(id)]).first.map { try Self.instance($0) }
        }
    }

    /// The tenant's instances, oldest first.
    public func list(tenantID: TenantID) async throws -> [Instance] {
        try await scoped(tenantID) { tx in
            try await tx.query("SELECT \(Self.columns) FROM instances ORDER BY created_at, id").map { try Self.instance($0) }
        }
    }

    /// The number of instances of the tenant (for the plan's limit).
    public func count(tenantID: TenantID) async throws -> Int {
        try await scoped(tenantID) { tx in
            try await tx.query("SELECT count(*) AS c FROM instances").first?["c"].int ?? 0
        }
    }

    /// Deletes the tenant's instance and its events. False if there was none (idempotent).
    @discardableResult
    public func delete(tenantID: TenantID, id: InstanceID) async throws -> Bool {
        return try await scoped(tenantID) { tx in
            try await tx.query("DELETE FROM instances WHERE id = $1", [.id(id)]).rowsAffected == 1
        }
    }

    /// Applies one input to the instance's connection (``InstanceConnection/applying(_:)``) and
    /// returns the instance as stored after it; nil if no such instance for the tenant.
    @discardableResult
    public func updateConnection(tenantID: TenantID, id: InstanceID, _ input: InstanceConnection.Input) async throws -> Instance? {
        return try await scoped(tenantID) { tx in
            guard try await Self.apply(input, instanceID: id, tx: tx) != nil else { return nil }
            return try await tx.query("SELECT \(Self.columns) FROM instances WHERE id = $1", [.id(id)]).first.map { try Self.instance($0) }
        }
    }

    /// Replaces the pacing settings. False if no such instance for the tenant.
    @discardableResult
    public func updatePacing(tenantID: TenantID, id: InstanceID, pacing: InstancePacing) async throws -> Bool {
        return try await scoped(tenantID) { tx in
            try await tx.query("""
                UPDATE instances SET min_delay_ms = $2, max_delay_ms = $3, daily_cap = $4, quiet_start_minute = $5,
                    quiet_end_minute = $6, warmup_enabled = $7, warmup_days = $8, updated_at = now()
                WHERE id = $1
                """,
                [.id(id), .int(pacing.minDelayMs), .int(pacing.maxDelayMs), pacing.dailyCap.map { .int($0) },
                 pacing.quietStartMinute.map { .int($0) }, pacing.quietEndMinute.map { .int($0) },
                 .bool(pacing.warmupEnabled), .int(pacing.warmupDays)]).rowsAffected == 1
        }
    }

    // MARK: - Webhook events

    /// The instance behind a gateway name, whichever its tenant (`webhook_resolve_instance`).
    public func resolveWebhookTarget(gatewayName: String) async throws -> WebhookTarget? {
        let rows = try await unscoped {
            try await pool.query("SELECT * FROM webhook_resolve_instance($1)", [.text(gatewayName)])
        }
        guard let row = rows.first, let id: InstanceID = row["instance_id"].id(), let tenant = row["tenant_id"].tenantID,
              let hash = row["webhook_secret_hash"].bytes else { return nil }
        return WebhookTarget(instanceID: id, tenantID: tenant, secretHash: hash)
    }

    /// Stores one event in the instance's tenant's transaction, once per `(instance, dedupeKey)`,
    /// and applies its connection change only when it is new (a repeated delivery changes
    /// nothing). `time` is the envelope's `date_time`, which orders connection changes.
    ///
    /// The instance row is locked first (`FOR UPDATE`): webhooks of one instance apply their
    /// changes one at a time (each reads the state the previous one wrote), and an instance
    /// deleted meanwhile is reported as ``RecordedEvent/instanceGone`` instead of failing the
    /// insert on the foreign key.
    @discardableResult
    public func recordEvent(
        _ target: WebhookTarget, event: String, dedupeKey: String, payload: String,
        connectionEvent: GatewayConnectionEvent?, at time: GatewayTime? = nil
    ) async throws -> RecordedEvent {
        try await scoped(target.tenantID) { tx in
            let locked = try await tx.query("SELECT id FROM instances WHERE id = $1 FOR UPDATE", [.id(target.instanceID)])
            guard !locked.isEmpty else { return .instanceGone }
            let inserted = try await tx.query("""
                INSERT INTO webhook_events (tenant_id, instance_id, event, dedupe_key, payload)
                VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (instance_id, dedupe_key) DO NOTHING
                """,
                [.id(target.tenantID), .id(target.instanceID), .text(event), .text(dedupeKey), .text(payload)]).rowsAffected == 1
            guard inserted else { return .duplicate }
            if let connectionEvent {
                _ = try await Self.apply(.event(connectionEvent, at: time), instanceID: target.instanceID, tx: tx)
            }
            _ = try await tx.query("UPDATE instances SET last_event_at = now() WHERE id = $1", [.id(target.instanceID)])
            return .stored
        }
    }

    /// The QR code (`data.qrcode.code`) of the instance's newest stored `qrcode.updated`, if any:
    /// the gateway's cached code, which a new session replaces.
    public func latestQRCode(tenantID: TenantID, instanceID: InstanceID) async throws -> String? {
        return try await scoped(tenantID) { tx in
            try await tx.query("""
                SELECT payload->'data'->'qrcode'->>'code' AS code FROM webhook_events
                WHERE instance_id = $1 AND event = 'qrcode.updated' ORDER BY id DESC LIMIT 1
                """, [.id(instanceID)]).first?["code"].string
        }
    }

    /// The tenant's stored events, oldest first; optionally of one instance, only unprocessed.
    public func events(tenantID: TenantID, instanceID: InstanceID? = nil, unprocessedOnly: Bool = false, limit: Int = 100) async throws -> [StoredWebhookEvent] {
        try await scoped(tenantID) { tx in
            try await tx.query("""
                SELECT id, instance_id, event, dedupe_key, payload::text AS payload, received_at, processed_at
                FROM webhook_events
                WHERE ($1::uuid IS NULL OR instance_id = $1::uuid) AND (NOT $2 OR processed_at IS NULL)
                ORDER BY id LIMIT $3
                """, [instanceID.map { .id($0) }, .bool(unprocessedOnly), .int(max(1, min(limit, 10_000)))]
            ).map { row in
                StoredWebhookEvent(
                    id: row["id"].int64 ?? 0, instanceID: row["instance_id"].id() ?? InstanceID(trusted: ""), event: row["event"].string ?? "",
                    dedupeKey: row["dedupe_key"].string ?? "", payload: row["payload"].string ?? "",
                    receivedAt: row["received_at"].date ?? Date(timeIntervalSince1970: 0), processedAt: row["processed_at"].date)
            }
        }
    }

    /// Marks events processed (by their consumer). Returns how many were marked.
    @discardableResult
    public func markProcessed(tenantID: TenantID, eventIDs: [Int64]) async throws -> Int {
        guard !eventIDs.isEmpty else { return 0 }
        let list = "{" + eventIDs.map(String.init).joined(separator: ",") + "}"
        return try await scoped(tenantID) { tx in
            try await tx.query("UPDATE webhook_events SET processed_at = now() WHERE id = ANY($1::bigint[]) AND processed_at IS NULL",
                               [.text(list)]).rowsAffected
        }
    }

    // MARK: - Helpers

    /// Reads the instance's connection under a row lock, applies `input`, and writes back what
    /// changed. Nil when there is no such instance; false when the input changed nothing.
    static func apply(_ input: InstanceConnection.Input, instanceID: InstanceID, tx: PostgresTransaction) async throws -> Bool? {
        guard let row = try await tx.query("SELECT \(columns) FROM instances WHERE id = $1 FOR UPDATE", [.id(instanceID)]).first else {
            return nil
        }
        let current = try instance(row).connection
        guard let next = current.applying(input) else { return false }
        _ = try await tx.query("""
            UPDATE instances SET state = $2, state_reason = $3::integer, needs_repairing = $4, paired = $5,
                phone_number = $6, profile_name = $7, pairing_number = $8, logout_requested = $9,
                state_gateway_time = $10::timestamp,
                state_changed_at = CASE WHEN state IS DISTINCT FROM $2 OR state_reason IS DISTINCT FROM $3::integer
                                        THEN now() ELSE state_changed_at END,
                warmup_started_at = CASE WHEN $2 = 'open' THEN coalesce(warmup_started_at, now()) ELSE warmup_started_at END,
                updated_at = now()
            WHERE id = $1
            """,
            [.id(instanceID), .text(next.state.rawValue), next.reason.map { .int($0) }, .bool(next.needsRepairing),
             .bool(next.paired), next.phoneNumber.map { .text($0) }, next.profileName.map { .text($0) },
             next.pairingNumber.map { .text($0) }, .bool(next.logoutRequested), next.eventTime.map { .text($0.description) }])
        return true
    }

    static func instance(_ row: PostgresRow?) throws -> Instance {
        guard let row, let id: InstanceID = row["id"].id(), let tenant = row["tenant_id"].tenantID else {
            throw TenantStoreError(.database, "the instance row was not returned")
        }
        return Instance(
            id: id, tenantID: tenant, displayName: row["display_name"].string ?? "", gatewayName: row["gateway_name"].string ?? "",
            phoneNumber: row["phone_number"].string, profileName: row["profile_name"].string,
            state: InstanceState(rawValue: row["state"].string ?? "") ?? .unspecified,
            stateReason: row["state_reason"].int, needsRepairing: row["needs_repairing"].bool ?? false,
            paired: row["paired"].bool ?? false, pairingNumber: row["pairing_number"].string,
            logoutRequested: row["logout_requested"].bool ?? false,
            stateGatewayTime: row["state_gateway_ms"].int64.map(GatewayTime.init(milliseconds:)),
            pacing: InstancePacing(
                minDelayMs: row["min_delay_ms"].int ?? 0, maxDelayMs: row["max_delay_ms"].int ?? 0, dailyCap: row["daily_cap"].int,
                quietStartMinute: row["quiet_start_minute"].int, quietEndMinute: row["quiet_end_minute"].int,
                warmupEnabled: row["warmup_enabled"].bool ?? false, warmupDays: row["warmup_days"].int ?? 0),
            createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0),
            updatedAt: row["updated_at"].date ?? Date(timeIntervalSince1970: 0),
            stateChangedAt: row["state_changed_at"].date ?? row["updated_at"].date ?? Date(timeIntervalSince1970: 0),
            lastEventAt: row["last_event_at"].date)
    }

    func scoped<R: Sendable>(_ tenantID: TenantID, _ body: (PostgresTransaction) async throws -> R) async throws -> R {
        try await pool.storeTransaction(tenant: tenantID, body)
    }

    func unscoped<R>(_ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch let error as PostgresError {
            throw TenantStore.map(error)
        }
    }
}

/// ``InstanceStore/create(tenantID:displayName:phoneNumber:pacing:gatewayName:maxInstances:)``
/// refused: the tenant has `limit` instances already.
public struct InstanceLimitReached: Error, Sendable, Hashable {
    public var current: Int
    public var limit: Int
}
