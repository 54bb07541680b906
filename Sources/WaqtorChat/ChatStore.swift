import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// Conversations, their messages and the account's chat settings in PostgreSQL, every statement
/// in the tenant's transaction under row-level security (docs/CHAT.md).
public struct ChatStore: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let conversationColumns = """
        c.id, c.instance_id, c.phone_number, c.contact_id, c.profile_name, c.unread_count, c.last_message_id,
        c.last_message_at, c.last_message_at::text AS at_text, k.name AS contact_name, coalesce(k.opted_out, false) AS opted_out
        """

    func conversation(_ row: PostgresRow, last: ChatMessage?) -> Conversation? {
        guard let id: ConversationID = row["id"].id(), let instance: InstanceID = row["instance_id"].id() else { return nil }
        let contactName = row["contact_name"].string ?? ""
        return Conversation(
            id: id, instanceID: instance, phoneNumber: row["phone_number"].string ?? "", contactID: row["contact_id"].id(),
            displayName: contactName.isEmpty ? row["profile_name"].string ?? "" : contactName, unreadCount: row["unread_count"].int ?? 0,
            lastMessage: last, lastMessageAt: row["last_message_at"].date, optedOut: row["opted_out"].bool ?? false)
    }

    /// Messages by id, in the tenant's transaction.
    func messages(_ tx: PostgresTransaction, ids: [ChatMessageID]) async throws -> [ChatMessageID: ChatMessage] {
        try await Self.messages(tx, ids: ids)
    }

    static func messages(_ tx: PostgresTransaction, ids: [ChatMessageID]) async throws -> [ChatMessageID: ChatMessage] {
        guard !ids.isEmpty else { return [:] }
        var out: [ChatMessageID: ChatMessage] = [:]
        for row in try await tx.query("SELECT \(ChatMessage.columns) FROM chat_messages m \(ChatMessage.joins) WHERE m.id = ANY($1::uuid[])",
                                      [.text(PostgresArray.uuids(ids.map(\.rawValue)))]) {
            if let message = ChatMessage(row: row) { out[message.id] = message }
        }
        return out
    }

    /// Messages by id (in the order given, missing ones left out), in a transaction of their tenant.
    public static func loadMessages(_ tx: PostgresTransaction, ids: [ChatMessageID]) async throws -> [ChatMessage] {
        guard !ids.isEmpty else { return [] }
        let found = try await messages(tx, ids: ids)
        return ids.compactMap { found[$0] }
    }

    /// Conversations by id, with their last messages.
    func conversations(_ tx: PostgresTransaction, ids: [ConversationID]) async throws -> [Conversation] {
        guard !ids.isEmpty else { return [] }
        let rows = try await tx.query("""
            SELECT \(Self.conversationColumns) FROM conversations c LEFT JOIN contacts k ON k.id = c.contact_id
            WHERE c.id = ANY($1::uuid[])
            """, [.text(PostgresArray.uuids(ids.map(\.rawValue)))])
        let lasts = try await messages(tx, ids: rows.compactMap { $0["last_message_id"].id() })
        return rows.compactMap { row in conversation(row, last: row["last_message_id"].id().flatMap { lasts[$0] }) }
    }

    /// One conversation, or nil (also another tenant's).
    public func conversation(tenantID: TenantID, id: ConversationID) async throws -> Conversation? {
        try await pool.storeTransaction(tenant: tenantID) { tx in try await conversations(tx, ids: [id]).first }
    }

    /// One message, or nil.
    public func message(tenantID: TenantID, id: ChatMessageID) async throws -> ChatMessage? {
        try await pool.storeTransaction(tenant: tenantID) { tx in try await messages(tx, ids: [id])[id] }
    }

    /// A page of conversations by last activity (unread ones first when asked), optionally of one
    /// number, only unread ones, or matching a search (name or number).
    public func listConversations(
        tenantID: TenantID, instanceID: InstanceID?, unreadOnly: Bool, unreadFirst: Bool, query: String,
        after cursor: PageCursor?, limit: Int
    ) async throws -> (items: [Conversation], next: PageCursor?) {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            var conditions = ["c.tenant_id = $1"]
            var parameters: [PostgresValue?] = [.id(tenantID)]
            func bind(_ value: PostgresValue) -> String {
                parameters.append(value)
                return "$\(parameters.count)"
            }
            if let instanceID { conditions.append("c.instance_id = \(bind(.id(instanceID)))") }
            if unreadOnly { conditions.append("c.unread_count > 0") }
            let trimmed = query.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty {
                let pattern = bind(.text("%" + Self.likeEscaped(trimmed) + "%"))
                var parts = ["k.name ILIKE \(pattern)", "c.profile_name ILIKE \(pattern)"]
                let digits = trimmed.filter { $0.isASCII && $0.isNumber }
                if digits.count >= 3 { parts.append("c.phone_number LIKE \(bind(.text("%" + digits + "%")))") }
                conditions.append("(" + parts.joined(separator: " OR ") + ")")
            }
            let unreadKey = unreadFirst ? "(c.unread_count > 0)::int" : "(c.unread_count < 0)::int"
            if let cursor, cursor.fields.count == 3 {
                let flag = bind(.int(Int64(cursor.fields[0]) ?? 0))
                let at = bind(.text(cursor.fields[1]))
                let id = bind(.uuid(cursor.fields[2]))
                conditions.append("(\(unreadKey), coalesce(c.last_message_at, 'epoch'), c.id) < (\(flag), \(at)::timestamptz, \(id)::uuid)")
            }
            let rows = try await tx.query("""
                SELECT \(Self.conversationColumns), \(unreadKey) AS unread_key FROM conversations c LEFT JOIN contacts k ON k.id = c.contact_id
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY \(unreadKey) DESC, coalesce(c.last_message_at, 'epoch') DESC, c.id DESC LIMIT \(bind(.int(Int64(limit + 1))))
                """, parameters)
            let page = Array(rows.prefix(limit))
            let lasts = try await messages(tx, ids: page.compactMap { $0["last_message_id"].id() })
            let items = page.compactMap { row in conversation(row, last: row["last_message_id"].id().flatMap { lasts[$0] }) }
            var next: PageCursor?
            if rows.count > limit, let last = page.last {
                next = PageCursor(kind: "conversations", fields: [
                    last["unread_key"].string ?? "0", last["at_text"].string ?? "1970-01-01 00:00:00+00", last["id"].string ?? ""])
            }
            return (items, next)
        }
    }

    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    /// Where a history page starts.
    public enum HistoryPosition: Sendable, Hashable {
        /// The newest messages.
        case newest
        /// Strictly before an instant.
        case before(Date)
        /// Older than a message of the conversation (newest first).
        case olderThan(ChatMessageID)
        /// Newer than a message of the conversation (oldest first).
        case newerThan(ChatMessageID)
    }

    /// A page of a conversation's messages; nil when the conversation (or the anchor message in
    /// it) does not exist. `next` continues the same way, `previous` pages back from the first.
    public func history(
        tenantID: TenantID, conversation: ConversationID, from position: HistoryPosition, limit: Int
    ) async throws -> (items: [ChatMessage], next: HistoryPosition?, previous: HistoryPosition?)? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            guard try await tx.query("SELECT 1 FROM conversations WHERE id = $1", [.id(conversation)]).first != nil else { return nil }
            var condition = "true"
            var parameters: [PostgresValue?] = [.id(conversation), .int(Int64(limit + 1))]
            var newer = false
            switch position {
            case .newest:
                break
            case .before(let date):
                condition = "m.created_at < $3"
                parameters.append(.timestamptz(date))
            case .olderThan(let id), .newerThan(let id):
                guard try await tx.query("SELECT 1 FROM chat_messages WHERE id = $1 AND conversation_id = $2", [.id(id), .id(conversation)]).first != nil else {
                    return nil
                }
                if case .newerThan = position { newer = true }
                condition = "(m.created_at, m.seq) \(newer ? ">" : "<") (SELECT created_at, seq FROM chat_messages WHERE id = $3)"
                parameters.append(.id(id))
            }
            let rows = try await tx.query("""
                SELECT \(ChatMessage.columns) FROM chat_messages m \(ChatMessage.joins)
                WHERE m.conversation_id = $1 AND \(condition)
                ORDER BY m.created_at \(newer ? "ASC" : "DESC"), m.seq \(newer ? "ASC" : "DESC") LIMIT $2
                """, parameters)
            let items = rows.prefix(limit).compactMap(ChatMessage.init(row:))
            let more = rows.count > limit
            var next: HistoryPosition?
            if more, let last = items.last { next = newer ? .newerThan(last.id) : .olderThan(last.id) }
            var previous: HistoryPosition?
            if let first = items.first { previous = newer ? .olderThan(first.id) : .newerThan(first.id) }
            return (items, next, previous)
        }
    }

    /// Clears the unread count (all messages, or those up to and including a message) and marks
    /// the inbound messages read. Returns the conversation and the inbound messages newly read
    /// (for read receipts), or nil when the conversation (or message) does not exist.
    public func markRead(tenantID: TenantID, conversation: ConversationID, upTo: ChatMessageID?) async throws -> (Conversation, [ChatMessage])? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            guard try await tx.query("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", [.id(conversation)]).first != nil else { return nil }
            var bound = "true"
            var parameters: [PostgresValue?] = [.id(conversation)]
            if let upTo {
                guard try await tx.query("SELECT 1 FROM chat_messages WHERE id = $1 AND conversation_id = $2", [.id(upTo), .id(conversation)]).first != nil else {
                    return nil
                }
                bound = "(m.created_at, m.seq) <= (SELECT created_at, seq FROM chat_messages WHERE id = $2)"
                parameters.append(.id(upTo))
            }
            let read = try await tx.query("""
                UPDATE chat_messages m SET status = 'read', updated_at = now()
                WHERE m.conversation_id = $1 AND m.direction = 'inbound' AND m.status = 'received' AND \(bound)
                RETURNING m.id
                """, parameters).compactMap { row -> ChatMessageID? in row["id"].id() }
            _ = try await tx.query("""
                UPDATE conversations c SET unread_count = (
                    SELECT count(*) FROM chat_messages m WHERE m.conversation_id = c.id AND m.direction = 'inbound'
                      AND m.status = 'received' AND m.kind <> 'reaction'), updated_at = now()
                WHERE c.id = $1
                """, [.id(conversation)])
            let messages = try await messages(tx, ids: read)
            guard let updated = try await conversations(tx, ids: [conversation]).first else { return nil }
            return (updated, read.compactMap { messages[$0] })
        }
    }

    /// Deletes a conversation and its messages. Returns how many messages went, and the media
    /// files (SHA-256) no message or upload of the tenant references any more (their rows are
    /// deleted; the caller removes the files). Nil when it does not exist.
    public func deleteConversation(tenantID: TenantID, id: ConversationID) async throws -> (messages: Int, orphans: [String])? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            let files = try await tx.query("""
                SELECT DISTINCT media_sha256 FROM chat_messages WHERE conversation_id = $1 AND media_sha256 IS NOT NULL
                """, [.id(id)]).compactMap { $0["media_sha256"].string }
            guard try await tx.query("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", [.id(id)]).first != nil else { return nil }
            let count = try await tx.query("DELETE FROM chat_messages WHERE conversation_id = $1", [.id(id)]).rowsAffected
            _ = try await tx.query("DELETE FROM conversations WHERE id = $1", [.id(id)])
            let orphans = try await Self.deleteOrphanFiles(tx, tenantID: tenantID, candidates: files)
            return (count, orphans)
        }
    }

    /// Deletes the `media_files` rows among `candidates` that no message or completed upload
    /// references; returns their hashes.
    static func deleteOrphanFiles(_ tx: PostgresTransaction, tenantID: TenantID, candidates: [String]) async throws -> [String] {
        guard !candidates.isEmpty else { return [] }
        return try await tx.query("""
            DELETE FROM media_files f WHERE f.tenant_id = $1 AND f.sha256 = ANY($2::text[])
              AND NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.tenant_id = $1 AND m.media_sha256 = f.sha256)
              AND NOT EXISTS (SELECT 1 FROM media_uploads u WHERE u.tenant_id = $1 AND u.sha256 = f.sha256
                                                             AND u.completed_at IS NOT NULL AND u.expires_at > now())
            RETURNING f.sha256
            """, [.id(tenantID), .text(PostgresArray.texts(candidates))]).compactMap { $0["sha256"].string }
    }

    // MARK: Settings

    /// The account's chat settings (defaults when never set).
    public func settings(tenantID: TenantID) async throws -> ChatSettings {
        try await pool.storeTransaction(tenant: tenantID) { tx in try await Self.settings(tx) }
    }

    static func settings(_ tx: PostgresTransaction) async throws -> ChatSettings {
        guard let row = try await tx.query("""
            SELECT array_to_json(opt_out_words)::text AS out_words, array_to_json(opt_in_words)::text AS in_words,
                   opt_out_reply, opt_in_reply, send_read_receipts FROM chat_settings
            """).first else { return ChatSettings() }
        func words(_ text: String?) -> [String]? {
            guard let text, let data = text.data(using: .utf8) else { return nil }
            return try? JSONDecoder().decode([String].self, from: data)
        }
        return ChatSettings(optOutWords: words(row["out_words"].string), optInWords: words(row["in_words"].string),
                            optOutReply: row["opt_out_reply"].string ?? "", optInReply: row["opt_in_reply"].string ?? "",
                            sendReadReceipts: row["send_read_receipts"].bool ?? false)
    }

    /// Replaces the account's chat settings.
    public func setSettings(tenantID: TenantID, _ settings: ChatSettings) async throws -> ChatSettings {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            func array(_ words: [String]?) -> PostgresValue? { words.map { .text(PostgresArray.texts($0)) } }
            _ = try await tx.query("""
                INSERT INTO chat_settings (tenant_id, opt_out_words, opt_in_words, opt_out_reply, opt_in_reply, send_read_receipts)
                VALUES ($1, $2::text[], $3::text[], $4, $5, $6)
                ON CONFLICT (tenant_id) DO UPDATE SET opt_out_words = EXCLUDED.opt_out_words, opt_in_words = EXCLUDED.opt_in_words,
                    opt_out_reply = EXCLUDED.opt_out_reply, opt_in_reply = EXCLUDED.opt_in_reply,
                    send_read_receipts = EXCLUDED.send_read_receipts, updated_at = now()
                """, [.id(tenantID), array(settings.optOutWords), array(settings.optInWords), .text(settings.optOutReply),
                      .text(settings.optInReply), .bool(settings.sendReadReceipts)])
            return try await Self.settings(tx)
        }
    }
}

extension ChatStore {
    /// Records a stored file of the tenant (kept once per content).
    public func registerFile(tenantID: TenantID, sha256: String, mimeType: String, size: Int64) async throws {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            _ = try await tx.query("""
                INSERT INTO media_files (tenant_id, sha256, mime_type, size_bytes) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, sha256) DO NOTHING
                """, [.id(tenantID), .text(sha256), .text(mimeType), .int(size)])
        }
    }

    /// A number's gateway name (nil: not the tenant's).
    public func gatewayName(tenantID: TenantID, instance: InstanceID) async throws -> String? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            try await tx.query("SELECT gateway_name FROM instances WHERE id = $1", [.id(instance)]).first?["gateway_name"].string
        }
    }
}
