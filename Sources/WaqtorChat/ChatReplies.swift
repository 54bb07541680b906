import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// A reply's attachment: a stored file (by hash) or a URL the gateway fetches.
public struct ReplyMedia: Sendable, Hashable {
    public var kind: ChatKind
    public var mimeType: String
    public var fileName: String
    /// A file in the media store.
    public var sha256: String?
    public var sizeBytes: Int64?
    /// A URL the gateway downloads (when no file is stored).
    public var url: String?

    public init(kind: ChatKind, mimeType: String, fileName: String, sha256: String? = nil, sizeBytes: Int64? = nil, url: String? = nil) {
        self.kind = kind
        self.mimeType = mimeType
        self.fileName = fileName
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
        self.url = url
    }
}

/// A reply as the sender needs it.
public struct OutboundReply: Sendable {
    public var message: ChatMessage
    public var phoneNumber: String
    public var quotedWaID: String?
    /// The URL of a URL attachment (details.url).
    public var mediaURL: String?
    public var attempts: Int
    public var leasedElsewhere: Bool
    public var leasedUntil: Date?
    /// The number's gateway name and connection state.
    public var gatewayName: String
    public var instanceState: String
}

extension ChatStore {
    /// Queues a reply in a conversation: a PENDING outbound message (the caller pushes it to the
    /// number's reply lane after the commit). A repeated idempotency key answers the message it
    /// made the first time. Nil when the conversation (or the quoted message) does not exist.
    public func createReply(
        tenantID: TenantID, conversation: ConversationID, text: String, quoted: ChatMessageID?, idempotencyKey: String?, media: ReplyMedia?
    ) async throws -> (message: ChatMessage, created: Bool)? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            if let key = idempotencyKey, !key.isEmpty,
               let existing = try await tx.query("SELECT id FROM chat_messages WHERE idempotency_key = $1", [.text(key)]).first?["id"].id() as ChatMessageID? {
                guard let message = try await messages(tx, ids: [existing])[existing] else { return nil }
                guard message.conversationID == conversation else {
                    throw ChatError(.alreadyExists, "the idempotency key \(key) was used for a message in another conversation: use a new key")
                }
                return (message, false)
            }
            guard let row = try await tx.query("SELECT instance_id FROM conversations WHERE id = $1", [.id(conversation)]).first,
                  let instance: InstanceID = row["instance_id"].id() else { return nil }
            var quotedWaID: String?
            if let quoted {
                guard let q = try await tx.query("SELECT wa_message_id FROM chat_messages WHERE id = $1 AND conversation_id = $2",
                                                 [.id(quoted), .id(conversation)]).first else {
                    throw ChatError(.notFound, "no message \(quoted) in conversation \(conversation) to quote")
                }
                guard let wa = q["wa_message_id"].string else {
                    throw ChatError(.failedPrecondition, "message \(quoted) is not sent yet, so it cannot be quoted: quote it once it is SENT")
                }
                quotedWaID = wa
            }
            let message = try await insertReply(tx, tenantID: tenantID, conversation: conversation, instanceID: instance, text: text,
                                                quotedWaID: quotedWaID, idempotencyKey: idempotencyKey.flatMap { $0.isEmpty ? nil : $0 }, media: media)
            return (message, true)
        }
    }

    /// Inserts a PENDING reply and makes it the conversation's latest message.
    func insertReply(
        _ tx: PostgresTransaction, tenantID: TenantID, conversation: ConversationID, instanceID: InstanceID, text: String,
        quotedWaID: String?, idempotencyKey: String?, media: ReplyMedia?
    ) async throws -> ChatMessage {
        var details = "{}"
        if let url = media?.url, let data = try? JSONSerialization.data(withJSONObject: ["url": url]) { details = String(decoding: data, as: UTF8.self) }
        guard let id: ChatMessageID = try await tx.query("""
            INSERT INTO chat_messages (tenant_id, conversation_id, instance_id, direction, status, kind, body, details, quoted_wa_id,
                                       idempotency_key, media_state, media_kind, media_mime, media_file_name, media_size, media_sha256)
            VALUES ($1, $2, $3, 'outbound', 'pending', $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14)
            RETURNING id
            """, [.id(tenantID), .id(conversation), .id(instanceID), .text(media?.kind.rawValue ?? "text"), .text(text), .text(details),
                  quotedWaID.map { .text($0) }, idempotencyKey.map { .text($0) },
                  media?.sha256 == nil ? nil : PostgresValue.text("stored"), media.map { .text($0.kind.rawValue) }, media.map { .text($0.mimeType) },
                  media.map { .text($0.fileName) }, media?.sizeBytes.map { .int($0) }, media?.sha256.map { .text($0) }]).first?["id"].id() else {
            throw ChatError(.unavailable, "the reply could not be stored; try again")
        }
        _ = try await tx.query("""
            UPDATE conversations c SET last_message_id = $2, last_message_at = m.created_at, updated_at = now()
            FROM chat_messages m WHERE c.id = $1 AND m.id = $2
            """, [.id(conversation), .id(id)])
        guard let message = try await messages(tx, ids: [id])[id] else { throw ChatError(.unavailable, "the reply could not be read back; try again") }
        return message
    }

    /// Replies waiting to be sent and not leased, across tenants, per number (for the reply
    /// lanes' sweep: a push that failed, or a shard that lost its data).
    public func unsentReplies(limit: Int) async throws -> [(TenantID, InstanceID, ChatMessageID)] {
        do {
            return try await pool.query("SELECT * FROM chat_unsent_replies($1::integer)", [.int(Int64(max(1, limit)))]).compactMap { row in
                guard let tenant = row["tenant_id"].tenantID, let instance: InstanceID = row["instance_id"].id(),
                      let id: ChatMessageID = row["message_id"].id() else { return nil }
                return (tenant, instance, id)
            }
        } catch {
            throw TenantStore.map(error)
        }
    }

    /// The claimed replies (locked for this transaction) with their conversations and numbers;
    /// `decide` says which to lease (with their lease tokens); those are leased before the commit.
    public func checkReplies(
        tenantID: TenantID, ids: [ChatMessageID], lease: Duration,
        decide: ([OutboundReply]) -> [(ChatMessageID, String)]
    ) async throws -> [OutboundReply] {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            let rows = try await tx.query("""
                SELECT m.id, m.attempt_count, m.quoted_wa_id, m.details->>'url' AS url,
                       coalesce(m.leased_until > now(), false) AS leased, m.leased_until,
                       c.phone_number, i.gateway_name, i.state AS instance_state
                FROM chat_messages m JOIN conversations c ON c.id = m.conversation_id JOIN instances i ON i.id = m.instance_id
                WHERE m.id = ANY($1::uuid[]) AND m.direction = 'outbound'
                ORDER BY m.id FOR UPDATE OF m
                """, [.text(PostgresArray.uuids(ids.map(\.rawValue)))])
            let full = try await messages(tx, ids: rows.compactMap { $0["id"].id() })
            let replies = rows.compactMap { row -> OutboundReply? in
                guard let id: ChatMessageID = row["id"].id(), let message = full[id] else { return nil }
                return OutboundReply(
                    message: message, phoneNumber: row["phone_number"].string ?? "", quotedWaID: row["quoted_wa_id"].string, mediaURL: row["url"].string,
                    attempts: row["attempt_count"].int ?? 0, leasedElsewhere: row["leased"].bool ?? false, leasedUntil: row["leased_until"].date,
                    gatewayName: row["gateway_name"].string ?? "", instanceState: row["instance_state"].string ?? "")
            }
            let toLease = decide(replies)
            if !toLease.isEmpty {
                _ = try await tx.query("""
                    UPDATE chat_messages m SET lease_token = u.token, leased_until = now() + $3::bigint * interval '1 millisecond',
                        attempt_count = m.attempt_count + 1
                    FROM unnest($1::uuid[], $2::text[]) AS u(id, token) WHERE m.id = u.id
                    """, [.text(PostgresArray.uuids(toLease.map(\.0.rawValue))), .text(PostgresArray.texts(toLease.map(\.1))),
                          .int(Int64(lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000))])
            }
            return replies
        }
    }

    /// What became of a reply's send.
    public enum ReplyOutcome: Sendable, Hashable {
        case sent(messageID: String)
        case retry(error: String, afterMs: Int)
        case failed(error: String)
    }

    /// Records a reply's send, guarded by its lease token. Returns the message as it now is
    /// (for the live feed), or nil when the lease was no longer this worker's.
    public func recordReply(tenantID: TenantID, id: ChatMessageID, token: String, _ outcome: ReplyOutcome) async throws -> ChatMessage? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            var status = "pending", error = "", wa: String?, retryMs: Int64?
            switch outcome {
            case .sent(let id): status = "sent"; wa = id
            case .retry(let why, let after): error = why; retryMs = Int64(after)
            case .failed(let why): status = "failed"; error = why
            }
            if let wa {
                // A `send.message` event projected first (after its grace ran out) made a row for the
                // same WhatsApp id: this reply is that message; the projected copy goes.
                let removed = try await tx.query("""
                    DELETE FROM chat_messages WHERE instance_id = (SELECT instance_id FROM chat_messages WHERE id = $1) AND wa_message_id = $2 AND id <> $1
                    RETURNING id
                    """, [.id(id), .text(wa)]).compactMap { $0["id"].string }
                if !removed.isEmpty {
                    _ = try await tx.query("UPDATE conversations SET last_message_id = $1 WHERE last_message_id = ANY($2::uuid[])",
                                           [.id(id), .text(PostgresArray.uuids(removed))])
                }
            }
            let changed = try await tx.query("""
                UPDATE chat_messages SET status = $3, error = $4, wa_message_id = coalesce($5, wa_message_id),
                    next_attempt_at = CASE WHEN $6::bigint IS NULL THEN NULL ELSE now() + $6::bigint * interval '1 millisecond' END,
                    lease_token = NULL, leased_until = NULL, updated_at = now()
                WHERE id = $1 AND lease_token = $2
                """, [.id(id), .text(token), .text(status), .text(error), wa.map { .text($0) }, retryMs.map { .int($0) }]).rowsAffected
            guard changed > 0 else { return nil }
            return try await messages(tx, ids: [id])[id]
        }
    }

    /// The receipts of one call, by message, as a CTE `k(instance_id, message_id, rank, error)`
    /// from three array parameters: `rank` is the furthest status reported (SERVER_ACK 1,
    /// DELIVERY_ACK 2, READ or PLAYED 3, else 0), `error` whether an ERROR was. Shared by the
    /// receipts of campaign recipients and of chat messages.
    public static func receiptRanks(instances: String, messages: String, statuses: String) -> String {
        """
        WITH u AS (SELECT * FROM unnest(\(instances)::uuid[], \(messages)::text[], \(statuses)::text[]) AS u(instance_id, message_id, status)),
        k AS (
            SELECT instance_id, message_id,
                   max(CASE status WHEN 'SERVER_ACK' THEN 1 WHEN 'DELIVERY_ACK' THEN 2 WHEN 'READ' THEN 3 WHEN 'PLAYED' THEN 3 ELSE 0 END) AS rank,
                   bool_or(status = 'ERROR') AS error
            FROM u GROUP BY instance_id, message_id)
        """
    }

    /// Applies delivery receipts to chat messages (outbound ones move forward only). Returns the
    /// messages whose status changed, and the receipts' (instance, message id) keys that name a chat
    /// message.
    public static func applyReceipts(
        _ tx: PostgresTransaction, instances: [InstanceID], messageIDs: [String], statuses: [String]
    ) async throws -> (changed: [ChatMessageID], found: Set<String>) {
        let changed = try await tx.query("""
            \(receiptRanks(instances: "$1", messages: "$2", statuses: "$3"))
            UPDATE chat_messages m SET
                status = CASE WHEN k.rank = 3 THEN 'read' WHEN k.rank = 2 THEN 'delivered' WHEN k.rank = 1 THEN 'sent' ELSE 'failed' END,
                error = CASE WHEN k.rank = 0 THEN 'WhatsApp reported the message as not delivered (status ERROR)' ELSE m.error END,
                updated_at = now()
            FROM k
            WHERE m.instance_id = k.instance_id AND m.wa_message_id = k.message_id AND m.direction = 'outbound'
              AND ((k.rank > 0 AND k.rank > CASE m.status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'pending' THEN 0 ELSE 9 END)
                   OR (k.rank <= 1 AND k.error AND m.status = 'sent'))
            RETURNING m.id
            """, [.text(PostgresArray.uuids(instances.map(\.rawValue))), .text(PostgresArray.texts(messageIDs)), .text(PostgresArray.texts(statuses))])
            .compactMap { row -> ChatMessageID? in row["id"].id() }
        let found = Set(try await tx.query("""
            SELECT m.instance_id::text || ':' || m.wa_message_id AS k FROM chat_messages m
            WHERE (m.instance_id, m.wa_message_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))
            """, [.text(PostgresArray.uuids(instances.map(\.rawValue))), .text(PostgresArray.texts(messageIDs))]).compactMap { $0["k"].string })
        return (changed, found)
    }
}
