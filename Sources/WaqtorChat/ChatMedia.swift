import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// The largest media stored per kind (bytes); larger media is marked TOO_LARGE, not fetched.
public enum MediaLimits {
    public static func maximum(for kind: ChatKind) -> Int64 {
        switch kind {
        case .image: 16 << 20
        case .video: 32 << 20
        case .audio, .voice: 16 << 20
        case .document: 32 << 20
        case .sticker: 1 << 20
        default: 0
        }
    }
}

/// A message whose media is to be fetched, with what the gateway needs.
public struct MediaJob: Sendable {
    public var tenantID: TenantID
    public var message: ChatMessage
    public var gatewayName: String
    /// The message event's `data` as received (key and message), JSON.
    public var eventData: String?
    public var attempts: Int
}

extension ChatStore {
    /// Messages of the given tenants whose media is due for a fetch, each looked up in its
    /// tenant's transaction.
    public func mediaDue(tenants: Set<TenantID>, limit: Int) async throws -> [(TenantID, ChatMessageID)] {
        var out: [(TenantID, ChatMessageID)] = []
        for tenant in tenants.sorted() {
            let rows = try await pool.storeTransaction(tenant: tenant) { tx in
                try await tx.query("""
                    SELECT id FROM chat_messages
                    WHERE tenant_id = $1 AND media_state = 'pending' AND (media_next_attempt_at IS NULL OR media_next_attempt_at <= now())
                    ORDER BY media_next_attempt_at NULLS FIRST LIMIT $2
                    """, [.id(tenant), .int(Int64(max(1, limit)))])
            }
            out += rows.compactMap { row in row["id"].id().map { (tenant, $0) } }
        }
        return out
    }

    /// Messages whose media is due for a fetch, across tenants.
    public func mediaDue(limit: Int) async throws -> [(TenantID, ChatMessageID)] {
        do {
            return try await pool.query("SELECT * FROM chat_media_due($1::integer)", [.int(Int64(max(1, limit)))]).compactMap { row in
                guard let tenant = row["tenant_id"].tenantID, let id: ChatMessageID = row["message_id"].id() else { return nil }
                return (tenant, id)
            }
        } catch {
            throw TenantStore.map(error)
        }
    }

    /// Takes a message's media fetch for `hold` (another fetcher skips it meanwhile); nil when it
    /// is not due (taken, stored or gone).
    public func takeMediaJob(tenantID: TenantID, id: ChatMessageID, hold: Duration = .seconds(120)) async throws -> MediaJob? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            guard let row = try await tx.query("""
                UPDATE chat_messages m SET media_next_attempt_at = now() + $2::bigint * interval '1 second'
                WHERE m.id = $1 AND m.media_state = 'pending' AND (m.media_next_attempt_at IS NULL OR m.media_next_attempt_at <= now())
                RETURNING m.media_attempts, m.instance_id, m.wa_message_id
                """, [.id(id), .int(hold.components.seconds)]).first,
                  let instance: InstanceID = row["instance_id"].id() else { return nil }
            guard let message = try await messages(tx, ids: [id])[id],
                  let gateway = try await tx.query("SELECT gateway_name FROM instances WHERE id = $1", [.id(instance)]).first?["gateway_name"].string else {
                return nil
            }
            var data: String?
            if let wa = row["wa_message_id"].string {
                data = try await tx.query("""
                    SELECT CASE WHEN jsonb_typeof(payload->'data') = 'array' THEN payload->'data'->0 ELSE payload->'data' END::text AS data
                    FROM webhook_events WHERE instance_id = $1 AND dedupe_key = 'message:' || $2
                    """, [.id(instance), .text(wa)]).first?["data"].string
            }
            return MediaJob(tenantID: tenantID, message: message, gatewayName: gateway, eventData: data, attempts: row["media_attempts"].int ?? 0)
        }
    }

    /// Records a stored file for a message (and the file row); returns the message as it is now.
    public func mediaStored(tenantID: TenantID, id: ChatMessageID, sha256: String, mimeType: String, size: Int64) async throws -> ChatMessage? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            _ = try await tx.query("""
                INSERT INTO media_files (tenant_id, sha256, mime_type, size_bytes) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, sha256) DO NOTHING
                """, [.id(tenantID), .text(sha256), .text(mimeType), .int(size)])
            _ = try await tx.query("""
                UPDATE chat_messages SET media_state = 'stored', media_sha256 = $2, media_mime = $3, media_size = $4,
                    media_attempts = media_attempts + 1, media_next_attempt_at = NULL, error = '', updated_at = now()
                WHERE id = $1 AND media_state = 'pending'
                """, [.id(id), .text(sha256), .text(mimeType), .int(size)])
            return try await messages(tx, ids: [id])[id]
        }
    }

    /// Records a failed fetch: retried after `retryAfter`, or, with nil, FAILED (or TOO_LARGE)
    /// for good, the reason kept in the message's error.
    public func mediaNotStored(tenantID: TenantID, id: ChatMessageID, error: String, retryAfter: Duration?, tooLarge: Bool = false) async throws -> ChatMessage? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            let state = retryAfter == nil ? (tooLarge ? "too_large" : "failed") : "pending"
            _ = try await tx.query("""
                UPDATE chat_messages SET media_state = $2, error = $3, media_attempts = media_attempts + 1,
                    media_next_attempt_at = CASE WHEN $4::bigint IS NULL THEN NULL ELSE now() + $4::bigint * interval '1 millisecond' END,
                    updated_at = now()
                WHERE id = $1 AND media_state = 'pending'
                """, [.id(id), .text(state), .text(error),
                      retryAfter.map { .int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }])
            return try await messages(tx, ids: [id])[id]
        }
    }
}
