import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// A recipient's state (stored as its raw value).
public enum RecipientState: String, Sendable, Hashable, CaseIterable {
    case pending, queued, sent, delivered, read, failed, skipped, cancelled

    /// Sent, delivered, read, failed, skipped and cancelled are final for sending.
    public var isFinal: Bool { self != .pending && self != .queued }
}

/// Counts of a campaign's recipients per state, read from `campaign_counts` (kept by triggers:
/// no count over the recipients on a read).
public struct CampaignCounts: Sendable, Hashable {
    public var byState: [RecipientState: Int]
    public var total: Int { byState.values.reduce(0, +) }
    public var unsent: Int { (byState[.pending] ?? 0) + (byState[.queued] ?? 0) }
}

/// One recipient's outcome so far.
public struct RecipientResult: Sendable, Hashable {
    public var contactID: ContactID
    public var seq: Int64
    public var phoneNumber: String
    public var state: RecipientState
    public var error: String
    public var attempts: Int
    public var messageID: String?
    public var updatedAt: Date
    public var sentAt: Date?
}

extension CampaignStore {
    /// The campaign and its counts, or nil.
    public func progress(tenantID: TenantID, id: CampaignID) async throws -> (Campaign, CampaignCounts)? {
        try await scoped(tenantID) { tx in
            guard let campaign = try await Self.fetchIfAny(id, tx) else { return nil }
            let row = try await tx.query("SELECT * FROM campaign_counts WHERE campaign_id = $1", [.id(id)]).first
            var counts: [RecipientState: Int] = [:]
            for state in RecipientState.allCases { counts[state] = row?[state.rawValue].int ?? 0 }
            return (campaign, CampaignCounts(byState: counts))
        }
    }

    /// A page of recipients in send order, optionally of one state; nil when there is no such
    /// campaign.
    public func results(tenantID: TenantID, id: CampaignID, state: RecipientState?, after cursor: PageCursor?, limit: Int) async throws -> KeysetPage<RecipientResult>? {
        let limit = max(1, min(limit, 1000))
        return try await scoped(tenantID) { tx in
            guard try await !tx.query("SELECT 1 FROM campaigns WHERE id = $1", [.id(id)]).isEmpty else { return nil }
            var parameters: [PostgresValue?] = [.id(id), .int(Int64(cursor.flatMap { Int64($0.fields[0]) } ?? 0))]
            var condition = ""
            if let state {
                parameters.append(.text(state.rawValue))
                condition = " AND state = $3"
            }
            let rows = try await tx.query("""
                SELECT contact_id, seq, phone_number, state, error, attempt_count, message_id, updated_at, sent_at
                FROM campaign_recipients WHERE campaign_id = $1 AND seq > $2\(condition) ORDER BY seq LIMIT \(limit + 1)
                """, parameters)
            var items: [RecipientResult] = rows.compactMap { row in
                guard let contact: ContactID = row["contact_id"].id(), let seq = row["seq"].int64,
                      let state = RecipientState(rawValue: row["state"].string ?? "") else { return nil }
                return RecipientResult(
                    contactID: contact, seq: seq, phoneNumber: row["phone_number"].string ?? "", state: state,
                    error: row["error"].string ?? "", attempts: row["attempt_count"].int ?? 0, messageID: row["message_id"].string,
                    updatedAt: row["updated_at"].date ?? Date(timeIntervalSince1970: 0), sentAt: row["sent_at"].date)
            }
            var next: PageCursor?
            if items.count > limit {
                items.removeLast()
                if let last = items.last { next = PageCursor(kind: Self.resultsCursorKind, fields: [String(last.seq)]) }
            }
            return KeysetPage(items: items, next: next)
        }
    }

    /// The kind of a results listing's cursor.
    public static let resultsCursorKind = "recipients"
}
