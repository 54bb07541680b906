import Foundation
import WaqtorCore
import WaqtorPhone
import WaqtorPostgres
import WaqtorTenants

/// What one projection round did for one number.
public struct ProjectionResult: Sendable {
    /// Events marked processed (stored, duplicates, ignored).
    public var processed: Int = 0
    /// Events left for a later round (an outbound message whose send is still being recorded).
    public var deferred: Int = 0
    /// Messages stored this round (for the live feed).
    public var newMessages: [ChatMessage] = []
    /// Conversations whose unread count changed.
    public var touchedConversations: [Conversation] = []
    /// Confirmation replies queued by opt-out and opt-in words (for the reply lane).
    public var replies: [ChatMessage] = []
    /// Messages with media to fetch.
    public var mediaPending: Int = 0
    /// Another projector holds this number.
    public var busy = false

    public init() {}
}

extension ChatStore {
    /// Numbers with unprocessed message events of the given tenants, each looked up in its
    /// tenant's transaction (the pending index by tenant), oldest first per tenant.
    public func pendingInstances(tenants: Set<TenantID>, limit: Int) async throws -> [(TenantID, InstanceID)] {
        var out: [(TenantID, InstanceID)] = []
        for tenant in tenants.sorted() {
            let rows = try await pool.storeTransaction(tenant: tenant) { tx in
                try await tx.query("""
                    SELECT instance_id FROM webhook_events
                    WHERE tenant_id = $1 AND processed_at IS NULL AND event IN ('messages.upsert', 'send.message')
                    GROUP BY instance_id ORDER BY min(id) LIMIT $2
                    """, [.id(tenant), .int(Int64(max(1, limit)))])
            }
            out += rows.compactMap { row in row["instance_id"].id().map { (tenant, $0) } }
        }
        return out
    }

    /// Numbers with unprocessed message events, across tenants, oldest first.
    public func pendingInstances(limit: Int) async throws -> [(TenantID, InstanceID)] {
        do {
            return try await pool.query("SELECT * FROM chat_pending_instances($1::integer)", [.int(Int64(max(1, limit)))]).compactMap { row in
                guard let tenant = row["tenant_id"].tenantID, let instance: InstanceID = row["instance_id"].id() else { return nil }
                return (tenant, instance)
            }
        } catch {
            throw TenantStore.map(error)
        }
    }

    /// Projects a number's unprocessed `messages.upsert` and `send.message` events into
    /// conversations and messages, in arrival order, in one transaction (docs/CHAT.md,
    /// "Inbound"). One projector works on a number at a time (a transaction-scoped advisory
    /// lock): events of a conversation are applied in order whatever the number of projectors.
    ///
    /// An outbound event whose message id is not known yet, on a conversation with a send in
    /// flight (a reply or campaign message leased to a worker), waits up to `outboundGrace` for
    /// the worker to record the id, so that it is not stored twice; the conversation's later
    /// events wait with it.
    public func project(tenantID: TenantID, instanceID: InstanceID, limit: Int = 500, outboundGrace: TimeInterval = 60) async throws -> ProjectionResult {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            var result = ProjectionResult()
            guard try await tx.query("SELECT pg_try_advisory_xact_lock(hashtextextended('chat:' || $1::text, 0)) AS ok",
                                     [.id(instanceID)]).first?["ok"].bool == true else {
                result.busy = true
                return result
            }
            let rows = try await tx.query("""
                SELECT id, payload::text AS payload, received_at, received_at > now() - $3::double precision * interval '1 second' AS fresh
                FROM webhook_events WHERE instance_id = $1 AND processed_at IS NULL AND event IN ('messages.upsert', 'send.message')
                ORDER BY id LIMIT $2
                """, [.id(instanceID), .int(Int64(max(1, limit))), .double(outboundGrace)])
            guard !rows.isEmpty else { return result }
            struct Item {
                var eventID: Int64
                var event: ChatEvent
                var phone: String
                var fresh: Bool
            }
            var done: [Int64] = []
            var items: [Item] = []
            for row in rows {
                guard let eventID = row["id"].int64 else { continue }
                guard let event = try? ChatEventParser.parse(envelope: Array((row["payload"].string ?? "").utf8)),
                      event.chatType == .direct else {
                    done.append(eventID)  // malformed, group or broadcast: not a conversation (docs/CHAT.md)
                    continue
                }
                items.append(Item(eventID: eventID, event: event, phone: event.phoneDigits.map { "+" + $0 } ?? "", fresh: row["fresh"].bool ?? false))
            }
            // A LID without a phone number: the conversation that saw that LID with a number.
            let lids = Array(Set(items.filter { $0.phone.isEmpty }.compactMap(\.event.lid)))
            if !lids.isEmpty {
                var byLID: [String: String] = [:]
                for row in try await tx.query("SELECT lid, phone_number FROM conversations WHERE instance_id = $1 AND lid = ANY($2::text[])",
                                              [.id(instanceID), .text(PostgresArray.texts(lids))]) {
                    if let lid = row["lid"].string, let phone = row["phone_number"].string { byLID[lid] = phone }
                }
                for index in items.indices where items[index].phone.isEmpty {
                    items[index].phone = items[index].event.lid.flatMap { byLID[$0] } ?? ""
                }
            }
            let unaddressable = items.filter { $0.phone.isEmpty || !(8...16).contains($0.phone.count) }
            done += unaddressable.map(\.eventID)
            items.removeAll { $0.phone.isEmpty || !(8...16).contains($0.phone.count) }

            // Outbound events whose id is unknown while a send to that phone is in flight wait.
            let outbound = items.filter { $0.event.fromMe && $0.fresh }
            if !outbound.isEmpty {
                let known = Set(try await tx.query("""
                    SELECT u.id FROM unnest($2::text[]) AS u(id)
                    WHERE EXISTS (SELECT 1 FROM chat_messages m WHERE m.instance_id = $1 AND m.wa_message_id = u.id)
                       OR EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.tenant_id = $3 AND r.instance_id = $1 AND r.message_id = u.id)
                    """, [.id(instanceID), .text(PostgresArray.texts(outbound.map(\.event.messageID))), .id(tenantID)]).compactMap { $0["id"].string })
                let unknownPhones = Array(Set(outbound.filter { !known.contains($0.event.messageID) }.map(\.phone)))
                if !unknownPhones.isEmpty {
                    let inFlight = Set(try await tx.query("""
                        SELECT r.phone_number FROM campaign_recipients r
                        WHERE r.tenant_id = $3 AND r.instance_id = $1 AND r.state = 'queued' AND r.lease_token IS NOT NULL
                          AND r.phone_number = ANY($2::text[])
                        UNION
                        SELECT c.phone_number FROM chat_messages m JOIN conversations c ON c.id = m.conversation_id
                        WHERE m.instance_id = $1 AND m.direction = 'outbound' AND m.status = 'pending' AND m.lease_token IS NOT NULL
                          AND c.phone_number = ANY($2::text[])
                        """, [.id(instanceID), .text(PostgresArray.texts(unknownPhones)), .id(tenantID)]).compactMap { $0["phone_number"].string })
                    var waiting: Set<String> = []
                    var kept: [Item] = []
                    for item in items {
                        if waiting.contains(item.phone) || (item.event.fromMe && item.fresh && !known.contains(item.event.messageID) && inFlight.contains(item.phone)) {
                            waiting.insert(item.phone)
                            result.deferred += 1
                        } else {
                            kept.append(item)
                        }
                    }
                    items = kept
                }
            }

            // One row per (number, message id): the first event of an id in this batch wins; the
            // table's unique key drops what an earlier batch stored.
            var seen: Set<String> = []
            var unique: [Item] = []
            for item in items {
                if seen.insert(item.event.messageID).inserted { unique.append(item) } else { done.append(item.eventID) }
            }
            done += unique.map(\.eventID)

            if !unique.isEmpty {
                try await store(tx, tenantID: tenantID, instanceID: instanceID, unique.map { ($0.event, $0.phone) }, into: &result)
            }
            if !done.isEmpty {
                result.processed = try await tx.query("UPDATE webhook_events SET processed_at = now() WHERE id = ANY($1::bigint[]) AND processed_at IS NULL",
                                                      [.text("{" + done.map(String.init).joined(separator: ",") + "}")]).rowsAffected
            }
            return result
        }
    }

    /// Writes conversations, contacts and messages for parsed events (each with its E.164 phone).
    func store(_ tx: PostgresTransaction, tenantID: TenantID, instanceID: InstanceID, _ events: [(ChatEvent, String)], into result: inout ProjectionResult) async throws {
        // Conversations, one per phone: the profile name from the latest inbound message, the LID
        // when addressed by one, and a first activity time.
        var byPhone: [String: (lid: String?, name: String, at: Date)] = [:]
        for (event, phone) in events {
            var entry = byPhone[phone] ?? (nil, "", event.timestamp ?? Date())
            if let lid = event.lid { entry.lid = lid }
            if !event.fromMe, !event.pushName.isEmpty { entry.name = event.pushName }
            byPhone[phone] = entry
        }
        let phones = Array(byPhone.keys)
        var conversationOf: [String: (ConversationID, ContactID?)] = [:]
        for row in try await tx.query("""
            INSERT INTO conversations (tenant_id, instance_id, phone_number, lid, profile_name, last_message_at)
            SELECT $1, $2, u.phone, u.lid, u.name, u.at FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS u(phone, lid, name, at)
            ON CONFLICT (instance_id, phone_number) DO UPDATE SET
                lid = coalesce(EXCLUDED.lid, conversations.lid),
                profile_name = CASE WHEN EXCLUDED.profile_name <> '' THEN EXCLUDED.profile_name ELSE conversations.profile_name END
            RETURNING id, phone_number, contact_id
            """, [.id(tenantID), .id(instanceID), .text(PostgresArray.texts(phones)), .text(PostgresArray.texts(phones.map { byPhone[$0]!.lid })),
                  .text(PostgresArray.texts(phones.map { byPhone[$0]!.name })),
                  .text(PostgresArray.texts(phones.map { PostgresTimestamp.format(byPhone[$0]!.at) }))]) {
            if let id: ConversationID = row["id"].id(), let phone = row["phone_number"].string { conversationOf[phone] = (id, row["contact_id"].id()) }
        }
        // The messages.
        var columns: [[String?]] = Array(repeating: [], count: 16)
        for (event, phone) in events {
            guard let (conversation, _) = conversationOf[phone] else { continue }
            let content = event.content
            let status: String
            if !event.fromMe {
                status = "received"
            } else {
                switch event.status {
                case "DELIVERY_ACK": status = "delivered"
                case "READ", "PLAYED": status = "read"
                case "ERROR": status = "failed"
                default: status = "sent"
                }
            }
            let values: [String?] = [
                conversation.rawValue, event.messageID, event.fromMe ? "outbound" : "inbound", status, content.kind.rawValue,
                content.body, ChatMessage.detailsJSON(content), content.quotedID, content.reactionTo,
                event.fromMe ? "" : event.pushName,
                content.kind.hasMedia && content.media != nil ? "pending" : nil, content.kind.hasMedia ? content.kind.rawValue : nil,
                content.media?.mimeType, content.media?.fileName, content.media?.announcedSize.map(String.init),
                PostgresTimestamp.format(event.timestamp ?? Date()),
            ]
            for (index, value) in values.enumerated() { columns[index].append(value) }
        }
        guard !columns[0].isEmpty else { return }
        let inserted = try await tx.query("""
            INSERT INTO chat_messages (tenant_id, instance_id, conversation_id, wa_message_id, direction, status, kind, body, details,
                                       quoted_wa_id, reaction_to_wa_id, sender_name, media_state, media_kind, media_mime, media_file_name,
                                       media_size, created_at, campaign_id)
            SELECT $1, $2, u.conversation_id, u.wa_id, u.direction, u.status, u.kind, u.body, u.details::jsonb, u.quoted, u.reaction,
                   u.sender, u.media_state, u.media_kind, u.media_mime, u.media_file, u.media_size, u.at,
                   (SELECT r.campaign_id FROM campaign_recipients r WHERE r.tenant_id = $1 AND r.instance_id = $2 AND r.message_id = u.wa_id LIMIT 1)
            FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                        $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::bigint[], $18::timestamptz[])
                 AS u(conversation_id, wa_id, direction, status, kind, body, details, quoted, reaction, sender, media_state, media_kind,
                      media_mime, media_file, media_size, at)
            ON CONFLICT (instance_id, wa_message_id) DO NOTHING
            RETURNING id
            """, [.id(tenantID), .id(instanceID)] + columns.map { .text(PostgresArray.texts($0)) })
        let ids = inserted.compactMap { row -> ChatMessageID? in row["id"].id() }
        guard !ids.isEmpty else { return }
        let stored = try await messages(tx, ids: ids)
        let newMessages = ids.compactMap { stored[$0] }
        result.newMessages = newMessages
        result.mediaPending = newMessages.filter { $0.media?.state == .pending }.count

        // Each conversation's unread count and latest message.
        let grouped = Dictionary(grouping: newMessages, by: \.conversationID)
        var convIDs: [String] = [], unread: [String] = [], lastIDs: [String] = [], lastAts: [String] = []
        for (conversation, messages) in grouped {
            let latest = messages.max { ($0.createdAt, $0.seq) < ($1.createdAt, $1.seq) }!
            convIDs.append(conversation.rawValue)
            unread.append(String(messages.filter { $0.direction == .inbound && $0.kind != .reaction }.count))
            lastIDs.append(latest.id.rawValue)
            lastAts.append(PostgresTimestamp.format(latest.createdAt))
        }
        _ = try await tx.query("""
            UPDATE conversations c SET unread_count = c.unread_count + u.unread,
                last_message_id = CASE WHEN c.last_message_id IS NULL OR u.at >= c.last_message_at THEN u.last_id ELSE c.last_message_id END,
                last_message_at = CASE WHEN c.last_message_id IS NULL OR u.at >= c.last_message_at THEN u.at ELSE c.last_message_at END,
                updated_at = now()
            FROM unnest($1::uuid[], $2::integer[], $3::uuid[], $4::timestamptz[]) AS u(id, unread, last_id, at)
            WHERE c.id = u.id
            """, [.text(PostgresArray.uuids(convIDs)), .text("{" + unread.joined(separator: ",") + "}"),
                  .text(PostgresArray.uuids(lastIDs)), .text(PostgresArray.texts(lastAts))])

        // An unknown sender becomes a contact (its profile name, consent source "inbound"); a
        // conversation without a contact is linked to the tenant's contact with that number. Done
        // last but for the opt-out words (which need the contacts): a new contact's row, and the
        // tenant's contact counts row its trigger updates, stay locked until the commit, and
        // other projections of the tenant creating the same contact wait for it.
        let unlinked = phones.filter { conversationOf[$0]?.1 == nil }
        if !unlinked.isEmpty {
            var senders = unlinked.filter { phone in events.contains { $0.1 == phone && !$0.0.fromMe } }.sorted()
            if !senders.isEmpty {
                // Only the senders who are not contacts yet are inserted: an insert, even of no row,
                // fires the contact counts' statement trigger, which takes the tenant's counts row
                // for the rest of the transaction (and other projections of the tenant would wait).
                let known = Set(try await tx.query("SELECT phone_number FROM contacts WHERE tenant_id = $1 AND phone_number = ANY($2::text[])",
                                                   [.id(tenantID), .text(PostgresArray.texts(senders))]).compactMap { $0["phone_number"].string })
                senders.removeAll { known.contains($0) }
            }
            if !senders.isEmpty {
                let parsed = senders.map { phone -> (String, String) in
                    guard let number = try? PhoneNumber.parse(phone, defaultRegion: nil) else { return ("unknown", "") }
                    return (number.type.rawValue, number.region ?? "")
                }
                _ = try await tx.query("""
                    INSERT INTO contacts (tenant_id, phone_number, phone_type, phone_region, name, consent_source)
                    SELECT $1, u.phone, u.type, u.region, left(u.name, 200), 'inbound'
                    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(phone, type, region, name)
                    ON CONFLICT (tenant_id, phone_number) DO NOTHING
                    """, [.id(tenantID), .text(PostgresArray.texts(senders)), .text(PostgresArray.texts(parsed.map(\.0))),
                          .text(PostgresArray.texts(parsed.map(\.1))), .text(PostgresArray.texts(senders.map { byPhone[$0]!.name }))])
            }
            for row in try await tx.query("""
                UPDATE conversations c SET contact_id = k.id, updated_at = now() FROM contacts k
                WHERE c.instance_id = $1 AND c.phone_number = ANY($2::text[]) AND c.contact_id IS NULL
                  AND k.tenant_id = $3 AND k.phone_number = c.phone_number
                RETURNING c.phone_number, c.id, k.id AS contact_id
                """, [.id(instanceID), .text(PostgresArray.texts(unlinked)), .id(tenantID)]) {
                if let phone = row["phone_number"].string, let id: ConversationID = row["id"].id() { conversationOf[phone] = (id, row["contact_id"].id()) }
            }
        }

        // Opt-out and opt-in words: a later word wins, whatever order they are processed in.
        let settings = try await Self.settings(tx)
        let words = settings.words
        for message in newMessages.sorted(by: { ($0.createdAt, $0.seq) < ($1.createdAt, $1.seq) })
        where message.direction == .inbound && message.kind == .text {
            guard let intent = words.intent(of: message.body),
                  let contact = events.first(where: { $0.0.messageID == message.waMessageID }).flatMap({ conversationOf[$0.1]?.1 }) else { continue }
            let optOut = intent == .optOut
            let changed = try await tx.query("""
                UPDATE contacts SET opted_out = $2, opt_out_time = CASE WHEN $2 THEN coalesce(opt_out_time, $3) END,
                    consent_source = 'inbound', consent_changed_at = $3, updated_at = now()
                WHERE id = $1 AND opted_out <> $2 AND (consent_changed_at IS NULL OR consent_changed_at <= $3)
                """, [.id(contact), .bool(optOut), .timestamptz(message.createdAt)]).rowsAffected
            let reply = optOut ? settings.optOutReply : settings.optInReply
            if changed > 0, !reply.isEmpty {
                result.replies.append(try await insertReply(tx, tenantID: tenantID, conversation: message.conversationID, instanceID: instanceID,
                                                            text: reply, quotedWaID: nil, idempotencyKey: nil, media: nil))
            }
        }
        result.touchedConversations = try await conversations(tx, ids: grouped.keys.map { $0 })
    }
}
