import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// A number of a RUNNING campaign, as the queue serves it.
public struct RunningNumber: Sendable, Hashable {
    public var tenantID: TenantID
    public var campaignID: CampaignID
    public var instanceID: InstanceID
    /// The number's connection state (`open`, `close`, `needs_repairing`, ...).
    public var instanceState: String
    /// `wait` or `reassign`.
    public var onNumberUnavailable: String
    /// The campaign's PENDING and QUEUED recipients.
    public var unsent: Int
    /// The campaign's PENDING recipients (some may wait for a retry time).
    public var pending: Int
}

/// A claimed message as PostgreSQL has it, with what deciding and sending it needs.
public struct OutboundMessage: Sendable {
    public var entry: QueueEntry
    /// The row's state (`queued` when it may be sent).
    public var state: String
    public var instanceID: InstanceID?
    public var phoneNumber: String
    public var text: String?
    /// The campaign's attachment as stored (JSON), if any.
    public var mediaJSON: String?
    public var attempts: Int
    /// Another worker holds a live lease on it, until then.
    public var leasedElsewhere: Bool
    public var leasedUntil: Date?
    /// A worker took it before and never recorded what happened (it died, or lost PostgreSQL for
    /// longer than its lease): when that lease ended. The gateway may have sent it.
    public var unrecordedLeaseEnded: Date?
    public var campaignState: String
    /// The campaign's own pacing, if any.
    public var campaignMinDelayMs: Int?
    public var campaignMaxDelayMs: Int?
    public var campaignDailyCap: Int?
}

/// A number's sending settings and connection.
public struct OutboundNumber: Sendable {
    public var instanceID: InstanceID
    public var gatewayName: String
    public var displayName: String
    public var state: String
    public var pacing: NumberPacing
}

/// What became of one send, to record.
public struct SendRecord: Sendable {
    public enum Result: Sendable, Hashable {
        /// The gateway took it; its message id.
        case sent(messageID: String)
        /// Not sent; try again after `retryAfterMs` (PENDING again).
        case retry(error: String, retryAfterMs: Int, countsAsAttempt: Bool)
        /// Not sent and never will be (FAILED, the reason kept).
        case failed(error: String)
    }

    public var entry: QueueEntry
    public var token: String
    public var result: Result

    public init(entry: QueueEntry, token: String, result: Result) {
        self.entry = entry
        self.token = token
        self.result = result
    }
}

/// The send queue's PostgreSQL side: what is running, windows taken from PENDING recipients,
/// claimed messages checked and leased, outcomes and statuses recorded (docs/QUEUE.md).
public struct Outbox: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Every number of every RUNNING campaign, across tenants.
    public func running() async throws -> [RunningNumber] {
        do {
            return try await pool.query("SELECT * FROM send_queue_running()").compactMap { row in
                guard let tenant = row["tenant_id"].tenantID, let campaign: CampaignID = row["campaign_id"].id(),
                      let instance: InstanceID = row["instance_id"].id() else { return nil }
                return RunningNumber(tenantID: tenant, campaignID: campaign, instanceID: instance,
                                     instanceState: row["instance_state"].string ?? "", onNumberUnavailable: row["on_number_unavailable"].string ?? "wait",
                                     unsent: Int(row["unsent"].int64 ?? 0), pending: Int(row["pending"].int64 ?? 0))
            }
        } catch {
            throw TenantStore.map(error)
        }
    }

    /// Takes, for each number, up to its wanted count of PENDING recipients of `campaign` that are
    /// due, in send order, marks them QUEUED and returns them per number: one statement for all the
    /// numbers (each number's rows through the pending index, `SKIP LOCKED`).
    public func takeForWindows(tenantID: TenantID, campaign: CampaignID, wants: [(InstanceID, Int)]) async throws -> [InstanceID: [QueueEntry]] {
        let wants = wants.filter { $0.1 > 0 }
        guard !wants.isEmpty else { return [:] }
        return try await pool.storeTransaction(tenant: tenantID) { tx in
            let rows = try await tx.query("""
                WITH picked AS (
                    SELECT x.contact_id FROM unnest($2::uuid[], $3::integer[]) AS w(instance_id, n)
                    CROSS JOIN LATERAL (
                        SELECT r.contact_id FROM campaign_recipients r
                        WHERE r.campaign_id = $1 AND r.instance_id = w.instance_id AND r.state = 'pending'
                          AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= now())
                        ORDER BY r.seq LIMIT w.n FOR UPDATE SKIP LOCKED) x)
                UPDATE campaign_recipients r SET state = 'queued', queued_at = now(), updated_at = now()
                FROM picked p WHERE r.campaign_id = $1 AND r.contact_id = p.contact_id
                RETURNING r.contact_id, r.instance_id, r.seq
                """, [.id(campaign), .text(PostgresArray.uuids(wants.map(\.0.rawValue))), .text("{" + wants.map { String($0.1) }.joined(separator: ",") + "}")])
            var out: [InstanceID: [(Int64, ContactID)]] = [:]
            for row in rows {
                guard let contact: ContactID = row["contact_id"].id(), let instance: InstanceID = row["instance_id"].id() else { continue }
                out[instance, default: []].append((row["seq"].int64 ?? 0, contact))
            }
            return out.mapValues { $0.sorted { $0.0 < $1.0 }.map { QueueEntry(campaignID: campaign, contactID: $0.1) } }
        }
    }

    /// QUEUED recipients of these numbers, handed out longer than `olderThan` ago and not leased,
    /// go back to PENDING (the refill hands them out again): their window entries are gone. Used
    /// after a shard lost its data (`olderThan: .zero`) and for numbers whose windows are empty
    /// while PostgreSQL still has QUEUED rows for them (a crash between taking and pushing them, a
    /// key prefix no worker serves any more). Rows a worker's check holds locked right now are
    /// skipped (it is leasing or returning them); the rest are locked in key order, so this never
    /// waits on a check nor a check on it in a cycle. Returns how many.
    @discardableResult
    public func requeueUnleased(tenantID: TenantID, instances: [InstanceID], olderThan: Duration) async throws -> Int {
        guard !instances.isEmpty else { return 0 }
        return try await pool.storeTransaction(tenant: tenantID) { tx in
            try await tx.query("""
                UPDATE campaign_recipients r SET state = 'pending', queued_at = NULL, updated_at = now()
                FROM (SELECT campaign_id, contact_id FROM campaign_recipients
                      WHERE tenant_id = $1 AND instance_id = ANY($2::uuid[]) AND state = 'queued'
                        AND queued_at <= now() - $3::bigint * interval '1 millisecond'
                        AND (leased_until IS NULL OR leased_until < now())
                      ORDER BY campaign_id, contact_id FOR UPDATE SKIP LOCKED) AS picked
                WHERE r.campaign_id = picked.campaign_id AND r.contact_id = picked.contact_id
                """, [.id(tenantID), .text(PostgresArray.uuids(instances.map(\.rawValue))), .int(Self.milliseconds(olderThan))]).rowsAffected
        }
    }

    /// The claimed messages' rows (locked for this transaction) and their numbers, and the
    /// tenant's time zone; then `decide` says which to lease and which go back to PENDING, and
    /// both happen before the transaction commits.
    public func check(
        tenantID: TenantID, entries: [QueueEntry], lease: Duration,
        decide: ([OutboundMessage], [InstanceID: OutboundNumber], TimeZone) -> (lease: [(QueueEntry, String)], backToPending: [QueueEntry])
    ) async throws -> (messages: [OutboundMessage], numbers: [InstanceID: OutboundNumber], zone: TimeZone, leased: Set<QueueEntry>) {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            // One statement: the rows (locked in key order), their campaigns, their numbers and the
            // tenant's zone.
            let rows = try await tx.query("""
                SELECT r.campaign_id, r.contact_id, r.state, r.instance_id, r.phone_number, r.rendered_text, r.attempt_count,
                       coalesce(r.leased_until > now(), false) AS leased, r.leased_until,
                       CASE WHEN r.lease_token IS NOT NULL AND r.leased_until <= now() THEN r.leased_until END AS unrecorded_until,
                       c.state AS campaign_state, c.media::text AS media,
                       c.min_delay_ms, c.max_delay_ms, c.daily_cap,
                       i.gateway_name, i.display_name, i.state AS instance_state, i.min_delay_ms AS i_min, i.max_delay_ms AS i_max,
                       i.daily_cap AS i_cap, i.quiet_start_minute, i.quiet_end_minute, i.warmup_enabled, i.warmup_days, i.warmup_started_at,
                       t.time_zone
                FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id JOIN tenants t ON t.id = r.tenant_id
                     LEFT JOIN instances i ON i.id = r.instance_id
                WHERE (r.campaign_id, r.contact_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))
                ORDER BY r.campaign_id, r.contact_id
                FOR UPDATE OF r
                """, [.text(PostgresArray.uuids(entries.map(\.campaignID.rawValue))), .text(PostgresArray.uuids(entries.map(\.contactID.rawValue)))])
            var numbers: [InstanceID: OutboundNumber] = [:]
            var zoneName: String?
            let messages = rows.compactMap { row -> OutboundMessage? in
                guard let campaign: CampaignID = row["campaign_id"].id(), let contact: ContactID = row["contact_id"].id() else { return nil }
                zoneName = zoneName ?? row["time_zone"].string
                let instance: InstanceID? = row["instance_id"].id()
                if let instance, numbers[instance] == nil, let gateway = row["gateway_name"].string {
                    let quiet = row["quiet_start_minute"].int.flatMap { start in row["quiet_end_minute"].int.map { QuietHours(startMinute: start, endMinute: $0) } }
                    let pacing = NumberPacing(
                        minDelayMs: row["i_min"].int ?? 3000, maxDelayMs: row["i_max"].int ?? 9000, dailyCap: row["i_cap"].int,
                        quietHours: quiet, warmupDays: (row["warmup_enabled"].bool ?? false) ? row["warmup_days"].int : nil,
                        warmupStartedAt: row["warmup_started_at"].date)
                    numbers[instance] = OutboundNumber(instanceID: instance, gatewayName: gateway, displayName: row["display_name"].string ?? "",
                                                       state: row["instance_state"].string ?? "", pacing: pacing)
                }
                return OutboundMessage(
                    entry: QueueEntry(campaignID: campaign, contactID: contact), state: row["state"].string ?? "",
                    instanceID: instance, phoneNumber: row["phone_number"].string ?? "", text: row["rendered_text"].string,
                    mediaJSON: row["media"].string, attempts: row["attempt_count"].int ?? 0, leasedElsewhere: row["leased"].bool ?? false, leasedUntil: row["leased_until"].date,
                    unrecordedLeaseEnded: row["unrecorded_until"].date,
                    campaignState: row["campaign_state"].string ?? "", campaignMinDelayMs: row["min_delay_ms"].int,
                    campaignMaxDelayMs: row["max_delay_ms"].int, campaignDailyCap: row["daily_cap"].int)
            }
            let zone = zoneName.flatMap { TimeZone(identifier: $0) } ?? TimeZone(identifier: "UTC")!
            let (toLease, toPending) = decide(messages, numbers, zone)
            // The lease changes no indexed column (not even updated_at): on a page with room
            // (fillfactor 80, migration 0014) it is a heap-only update that touches no index.
            if !toLease.isEmpty {
                _ = try await tx.query("""
                    UPDATE campaign_recipients r SET lease_token = u.token, leased_until = now() + $4::bigint * interval '1 millisecond',
                        attempt_count = r.attempt_count + 1
                    FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS u(campaign_id, contact_id, token)
                    WHERE r.campaign_id = u.campaign_id AND r.contact_id = u.contact_id
                    """, [.text(PostgresArray.uuids(toLease.map(\.0.campaignID.rawValue))), .text(PostgresArray.uuids(toLease.map(\.0.contactID.rawValue))),
                          .text(PostgresArray.texts(toLease.map(\.1))), .int(Self.milliseconds(lease))])
            }
            if !toPending.isEmpty {
                _ = try await tx.query("""
                    UPDATE campaign_recipients r SET state = 'pending', queued_at = NULL, updated_at = now()
                    FROM unnest($1::uuid[], $2::uuid[]) AS u(campaign_id, contact_id)
                    WHERE r.campaign_id = u.campaign_id AND r.contact_id = u.contact_id AND r.state = 'queued'
                    """, [.text(PostgresArray.uuids(toPending.map(\.campaignID.rawValue))), .text(PostgresArray.uuids(toPending.map(\.contactID.rawValue)))])
            }
            return (messages, numbers, zone, Set(toLease.map(\.0)))
        }
    }

    /// Sends so far on each number's local day (the tenant's zone), for counters a shard lost or
    /// never had: one index lookup per number (`campaign_recipients_sent_idx`).
    public func sentToday(tenantID: TenantID, instances: [InstanceID]) async throws -> [InstanceID: Int] {
        guard !instances.isEmpty else { return [:] }
        return try await pool.storeTransaction(tenant: tenantID) { tx in
            var out: [InstanceID: Int] = [:]
            for instance in instances { out[instance] = 0 }
            for row in try await tx.query("""
                SELECT w.instance_id,
                       (SELECT count(*) FROM campaign_recipients r
                        WHERE r.tenant_id = $1 AND r.instance_id = w.instance_id AND r.sent_at >= d.start) AS n
                FROM unnest($2::uuid[]) AS w(instance_id),
                     (SELECT date_trunc('day', now() AT TIME ZONE time_zone) AT TIME ZONE time_zone AS start
                      FROM tenants WHERE id = $1) AS d
                """, [.id(tenantID), .text(PostgresArray.uuids(instances.map(\.rawValue)))]) {
                if let id: InstanceID = row["instance_id"].id() { out[id] = row["n"].int ?? 0 }
            }
            return out
        }
    }

    /// Records outcomes, each guarded by its lease token (a lease taken over by another worker is
    /// that worker's to record). Returns the entries recorded.
    @discardableResult
    public func record(tenantID: TenantID, _ records: [SendRecord]) async throws -> Int {
        guard !records.isEmpty else { return 0 }
        var states: [String?] = [], errors: [String?] = [], ids: [String?] = [], retryMs: [String?] = [], refunds: [String?] = []
        for record in records {
            switch record.result {
            case .sent(let id): states.append("sent"); errors.append(""); ids.append(id); retryMs.append(nil); refunds.append("0")
            case .retry(let error, let after, let counts): states.append("pending"); errors.append(error); ids.append(nil); retryMs.append(String(after)); refunds.append(counts ? "0" : "1")
            case .failed(let error): states.append("failed"); errors.append(error); ids.append(nil); retryMs.append(nil); refunds.append("0")
            }
        }
        return try await pool.storeTransaction(tenant: tenantID) { tx in
            // The rows are locked in key order first (the ordered FOR UPDATE subquery): statements
            // that change many recipients at once (records, receipts, checks) never wait on each
            // other in a cycle.
            try await tx.query("""
                UPDATE campaign_recipients r SET state = u.state, error = u.error, message_id = coalesce(u.message_id, r.message_id),
                    sent_at = CASE WHEN u.state = 'sent' THEN now() ELSE r.sent_at END,
                    status_at = CASE WHEN u.state = 'sent' THEN now() ELSE r.status_at END,
                    next_attempt_at = CASE WHEN u.retry_ms IS NULL THEN NULL ELSE now() + u.retry_ms * interval '1 millisecond' END,
                    queued_at = CASE WHEN u.state = 'pending' THEN NULL ELSE r.queued_at END,
                    attempt_count = r.attempt_count - u.refund,
                    lease_token = NULL, leased_until = NULL, updated_at = now()
                FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::integer[])
                     AS u(campaign_id, contact_id, token, state, error, message_id, retry_ms, refund),
                     (SELECT campaign_id, contact_id FROM campaign_recipients
                      WHERE (campaign_id, contact_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))
                      ORDER BY campaign_id, contact_id FOR UPDATE) AS locked
                WHERE r.campaign_id = u.campaign_id AND r.contact_id = u.contact_id AND r.lease_token = u.token
                  AND locked.campaign_id = r.campaign_id AND locked.contact_id = r.contact_id
                """, [.text(PostgresArray.uuids(records.map(\.entry.campaignID.rawValue))), .text(PostgresArray.uuids(records.map(\.entry.contactID.rawValue))),
                      .text(PostgresArray.texts(records.map(\.token))), .text(PostgresArray.texts(states)), .text(PostgresArray.texts(errors)),
                      .text(PostgresArray.texts(ids)), .text(PostgresArray.texts(retryMs)), .text(PostgresArray.texts(refunds))]).rowsAffected
        }
    }

    /// Moves a dropped-out number's unsent recipients (PENDING, and QUEUED ones no lease holds) of
    /// a campaign to its other connected numbers, each contact by its id (the same contact, the
    /// same number). Returns how many moved.
    @discardableResult
    public func reassign(tenantID: TenantID, campaign: CampaignID, from instance: InstanceID, to targets: [InstanceID]) async throws -> Int {
        guard !targets.isEmpty else { return 0 }
        return try await pool.storeTransaction(tenant: tenantID) { tx in
            try await tx.query("""
                UPDATE campaign_recipients SET instance_id = ($3::uuid[])[1 + mod(abs(hashtext(contact_id::text)), cardinality($3::uuid[]))],
                    state = 'pending', queued_at = NULL, updated_at = now()
                WHERE campaign_id = $1 AND instance_id = $2
                  AND (state = 'pending' OR (state = 'queued' AND (leased_until IS NULL OR leased_until < now())))
                """, [.id(campaign), .id(instance), .text(PostgresArray.uuids(targets.map(\.rawValue)))]).rowsAffected
        }
    }

    /// A number's display name (in its tenant's transaction), for messages.
    public func instanceName(tenantID: TenantID, instance: InstanceID) async throws -> String {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            try await tx.query("SELECT display_name FROM instances WHERE id = $1", [.id(instance)]).first?["display_name"].string ?? instance.rawValue
        }
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}
