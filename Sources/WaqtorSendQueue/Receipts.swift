import Foundation
import WaqtorChat
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// A delivery receipt (`messages.update` of a message a number sent).
public struct Receipt: Sendable, Hashable {
    public var eventID: Int64
    public var tenantID: TenantID
    public var instanceID: InstanceID
    public var messageID: String
    /// `SERVER_ACK`, `DELIVERY_ACK`, `READ`, `PLAYED`, `ERROR` (or `PENDING`, `DELETED`: no change).
    public var status: String
    public var receivedAt: Date

    public init(eventID: Int64, tenantID: TenantID, instanceID: InstanceID, messageID: String, status: String, receivedAt: Date) {
        self.eventID = eventID
        self.tenantID = tenantID
        self.instanceID = instanceID
        self.messageID = messageID
        self.status = status
        self.receivedAt = receivedAt
    }
}

extension Outbox {
    /// Receipts not applied yet, oldest first, across tenants.
    public func pendingReceipts(limit: Int) async throws -> [Receipt] {
        do {
            return try await pool.query("SELECT * FROM send_queue_receipts($1::integer)", [.int(Int64(max(1, limit)))]).compactMap { row in
                guard let event = row["event_id"].int64, let tenant = row["tenant_id"].tenantID, let instance: InstanceID = row["instance_id"].id() else { return nil }
                return Receipt(eventID: event, tenantID: tenant, instanceID: instance, messageID: row["message_id"].string ?? "",
                               status: row["status"].string ?? "", receivedAt: row["received_at"].date ?? Date())
            }
        } catch {
            throw TenantStore.map(error)
        }
    }

    /// Applies one tenant's receipts: a recipient moves forward only (SENT → DELIVERED → READ;
    /// PLAYED reads as READ), never back, whatever order they arrive in; an ERROR before any
    /// delivery fails it. Receipts whose message is recorded, or that waited longer than
    /// `giveUpAfter` for it (a message not sent by the queue), are marked processed; the others
    /// wait for the sender's record (a receipt can arrive before it). Returns the receipts marked.
    @discardableResult
    public func apply(receipts: [Receipt], tenantID: TenantID, now: Date, giveUpAfter: TimeInterval = 600) async throws -> Int {
        try await applyReceipts(receipts, tenantID: tenantID, now: now, giveUpAfter: giveUpAfter).marked
    }

    /// ``apply(receipts:tenantID:now:giveUpAfter:)``, also for chat messages (replies, campaign
    /// sends and messages typed on the phone, as stored in conversations): returns the receipts
    /// marked and the chat messages whose status changed (for the live feed).
    public func applyReceipts(_ receipts: [Receipt], tenantID: TenantID, now: Date, giveUpAfter: TimeInterval = 600) async throws -> (marked: Int, chat: [ChatMessage]) {
        guard !receipts.isEmpty else { return (0, []) }
        return try await pool.storeTransaction(tenant: tenantID) { tx in
            let instances = PostgresArray.uuids(receipts.map(\.instanceID.rawValue))
            let messages = PostgresArray.texts(receipts.map(\.messageID))
            let statuses = PostgresArray.texts(receipts.map(\.status))
            // The rows in key order first, as Outbox.record does: statements that change many recipients
            // never wait on each other in a cycle.
            _ = try await tx.query("""
                SELECT 1 FROM campaign_recipients r
                WHERE r.tenant_id = $1 AND (r.instance_id, r.message_id) IN (SELECT * FROM unnest($2::uuid[], $3::text[]))
                ORDER BY r.campaign_id, r.contact_id FOR UPDATE
                """, [.id(tenantID), .text(instances), .text(messages)])
            _ = try await tx.query("""
                \(ChatStore.receiptRanks(instances: "$2", messages: "$3", statuses: "$4"))
                UPDATE campaign_recipients r SET
                    state = CASE WHEN k.rank = 3 THEN 'read' WHEN k.rank = 2 THEN 'delivered' WHEN k.rank = 1 THEN 'sent' ELSE 'failed' END,
                    error = CASE WHEN k.rank = 0 THEN 'WhatsApp reported the message as not delivered (status ERROR)' ELSE r.error END,
                    status_at = now(), updated_at = now()
                FROM k
                WHERE r.tenant_id = $1 AND r.instance_id = k.instance_id AND r.message_id = k.message_id
                  AND ((k.rank > 0 AND k.rank > CASE r.state WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 9 END)
                       OR (k.rank <= 1 AND k.error AND r.state = 'sent'))
                """, [.id(tenantID), .text(instances), .text(messages), .text(statuses)])
            var found = Set(try await tx.query("""
                SELECT r.instance_id::text || ':' || r.message_id AS k FROM campaign_recipients r
                WHERE r.tenant_id = $1 AND (r.instance_id, r.message_id) IN (SELECT * FROM unnest($2::uuid[], $3::text[]))
                """, [.id(tenantID), .text(instances), .text(messages)]).compactMap { $0["k"].string })
            let chat = try await ChatStore.applyReceipts(tx, instances: receipts.map(\.instanceID), messageIDs: receipts.map(\.messageID),
                                                         statuses: receipts.map(\.status))
            found.formUnion(chat.found)
            let changed = try await ChatStore.loadMessages(tx, ids: chat.changed)
            let done = receipts.filter {
                found.contains("\($0.instanceID.rawValue):\($0.messageID)") || now.timeIntervalSince($0.receivedAt) > giveUpAfter
                    || $0.messageID.isEmpty
            }.map(\.eventID)
            guard !done.isEmpty else { return (0, changed) }
            let marked = try await tx.query("UPDATE webhook_events SET processed_at = now() WHERE id = ANY($1::bigint[]) AND processed_at IS NULL",
                                            [.text("{" + done.map(String.init).joined(separator: ",") + "}")]).rowsAffected
            return (marked, changed)
        }
    }
}
