import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// A webhook event without a connection change, to store in a batch.
public struct PlainEvent: Sendable {
    public var target: WebhookTarget
    public var event: String
    public var dedupeKey: String
    public var payload: String

    public init(target: WebhookTarget, event: String, dedupeKey: String, payload: String) {
        self.target = target
        self.event = event
        self.dedupeKey = dedupeKey
        self.payload = payload
    }
}

extension InstanceStore {
    /// Stores events that change no connection state (messages, receipts, others) of one tenant in
    /// one transaction: one multi-row insert (`ON CONFLICT DO NOTHING`), the numbers locked only
    /// against deletion (`FOR KEY SHARE`: such events do not wait for one another), and
    /// `last_event_at` moved at most once a second per number. Returns each event's outcome, in
    /// order: a key repeated in the batch is stored once (the first), the others are duplicates.
    public func recordPlainEvents(tenantID: TenantID, _ events: [PlainEvent]) async throws -> [RecordedEvent] {
        guard !events.isEmpty else { return [] }
        return try await scoped(tenantID) { tx in
            let instances = Array(Set(events.map(\.target.instanceID.rawValue)))
            let existing = Set(try await tx.query("SELECT id FROM instances WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE",
                                                  [.text(PostgresArray.uuids(instances))]).compactMap { $0["id"].string?.lowercased() })
            let live = events.filter { existing.contains($0.target.instanceID.rawValue) }
            var inserted: Set<String> = []
            if !live.isEmpty {
                for row in try await tx.query("""
                    INSERT INTO webhook_events (tenant_id, instance_id, event, dedupe_key, payload)
                    SELECT $1, u.instance_id, u.event, u.dedupe_key, u.payload::jsonb
                    FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS u(instance_id, event, dedupe_key, payload)
                    ON CONFLICT (instance_id, dedupe_key) DO NOTHING
                    RETURNING instance_id::text || ' ' || dedupe_key AS k
                    """, [.id(tenantID), .text(PostgresArray.uuids(live.map(\.target.instanceID.rawValue))), .text(PostgresArray.texts(live.map(\.event))),
                          .text(PostgresArray.texts(live.map(\.dedupeKey))), .text(PostgresArray.texts(live.map(\.payload)))]) {
                    if let k = row["k"].string { inserted.insert(k) }
                }
                _ = try await tx.query("""
                    UPDATE instances SET last_event_at = now()
                    WHERE id = ANY($1::uuid[]) AND (last_event_at IS NULL OR last_event_at < now() - interval '1 second')
                    """, [.text(PostgresArray.uuids(Array(existing)))])
            }
            var claimed: Set<String> = []
            return events.map { event in
                guard existing.contains(event.target.instanceID.rawValue) else { return .instanceGone }
                let k = event.target.instanceID.rawValue + " " + event.dedupeKey
                guard inserted.contains(k), claimed.insert(k).inserted else { return .duplicate }
                return .stored
            }
        }
    }
}
