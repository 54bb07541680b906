import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorSecurity
import WaqtorTemplates
import WaqtorTenants

/// What a start needs from outside the store.
public struct StartContext: Sendable {
    public var now: Date
    /// The rendering seed of a recipient (TEMPLATES.md's contract; tests may fix it).
    public var seed: @Sendable (CampaignID, ContactID) -> UInt64

    public init(now: Date, seed: @escaping @Sendable (CampaignID, ContactID) -> UInt64 = CampaignSeed.of) {
        self.now = now
        self.seed = seed
    }
}

/// The rendering seed of a recipient, as TEMPLATES.md fixes it: SHA-256 of
/// "<campaign id>:<contact id>", its first 8 bytes big-endian. The preview and the start use it,
/// so the preview shows the exact text a recipient gets, and a retry renders the same text.
public enum CampaignSeed {
    @Sendable public static func of(_ campaign: CampaignID, _ contact: ContactID) -> UInt64 {
        Template.seed(digest: Hashing.sha256(Array("\(campaign.rawValue):\(contact.rawValue)".utf8)))
    }
}

extension CampaignStore {
    /// Applies `event` to the campaign in one transaction: the life cycle decides (or refuses,
    /// naming the state), the row is written guarded by the state it was read in, and the effects
    /// run with it (materialising the audience on the first run). Nil when there is no such
    /// campaign.
    public func apply(tenantID: TenantID, id: CampaignID, event: CampaignEvent, context: StartContext) async throws -> Campaign? {
        try await scoped(tenantID) { tx in
            guard let current = try await tx.query("SELECT \(Self.columns) FROM campaigns c WHERE c.id = $1 FOR UPDATE", [.id(id)])
                .first.map({ try Self.campaign($0) })
            else { return nil }
            let (next, effects) = try current.lifecycle.applying(event)
            if effects.contains(.materializeAudience) {
                try await Self.materialize(current, tx: tx, context: context)
            }
            if effects.contains(.holdSending) {
                // Messages handed to the numbers' windows come back: the windows' entries are
                // then stale and dropped by the senders, and a resume hands them out again.
                _ = try await tx.query("""
                    UPDATE campaign_recipients SET state = 'pending', queued_at = NULL, updated_at = now()
                    WHERE campaign_id = $1 AND state = 'queued' AND (leased_until IS NULL OR leased_until < now())
                    """, [.id(id)])
            }
            if effects.contains(.cancelUnsentRecipients) {
                _ = try await tx.query("""
                    UPDATE campaign_recipients SET state = 'cancelled', updated_at = now()
                    WHERE campaign_id = $1 AND state IN ('pending', 'queued')
                    """, [.id(id)])
            }
            let updated = try await tx.query("""
                UPDATE campaigns SET state = $2, state_detail = $3, materialized = $4, updated_at = now(),
                    start_time = CASE WHEN $5 THEN now() ELSE start_time END,
                    finish_time = CASE WHEN $6 THEN now() ELSE finish_time END
                WHERE id = $1 AND state = $7
                """, [.id(id), .text(next.state.rawValue), .text(next.detail), .bool(next.materialized),
                      .bool(effects.contains(.recordStartTime)), .bool(effects.contains(.recordFinishTime)),
                      .text(current.lifecycle.state.rawValue)]).rowsAffected
            guard updated == 1 else {
                throw CampaignError(.aborted, "the campaign changed meanwhile; try again")
            }
            return try await Self.fetch(id, tx)
        }
    }

    /// Writes the recipients of a first run: the audience now (lists and contacts, each contact
    /// once, every number once), opted-out contacts SKIPPED with the reason, the others PENDING
    /// with a number (the one that last wrote to the contact if it is among the campaign's
    /// connected numbers, else one chosen by the contact's id) and the text rendered for them.
    ///
    /// One pass, in the start's transaction: a cursor reads the audience in send order with the
    /// template's variables only (no attribute document is decoded), each batch is rendered on
    /// every core and copied into a staging table, and one `INSERT ... SELECT` writes every
    /// recipient (row-level security refuses `COPY` into the table itself).
    static func materialize(_ campaign: Campaign, tx: PostgresTransaction, context: StartContext) async throws {
        let settings = campaign.settings
        let template = try Template.parse(settings.templateText)
        let maxLength = settings.media != nil ? TemplateLimits.mediaCaption : TemplateLimits.textBody
        let numbers = try await tx.query("""
            SELECT n.instance_id::text AS id FROM campaign_numbers n JOIN instances i ON i.id = n.instance_id
            WHERE n.campaign_id = $1 AND i.state = 'open' ORDER BY n.position
            """, [.id(campaign.id)]).compactMap { $0["id"].string }
        guard !numbers.isEmpty else {
            throw CampaignError(.failedPrecondition, "none of the campaign's WhatsApp numbers is connected; pair one (waqtor instance qr) or add a connected number to the campaign")
        }
        // The attributes the template uses, read as columns a0, a1, ...
        let keys = template.variableNames.subtracting(["name", "phone_number"]).sorted()
        let attributeColumns = keys.indices.map { ", c.attributes ->> ($6::text[])[\($0 + 1)] AS a\($0)" }.joined()
        // The cursor is read to its end: plan it for the whole result, not for its first rows
        // (the default fraction picked nested loops that took seconds per batch).
        _ = try await tx.query("SET LOCAL cursor_tuple_fraction = 1.0")
        _ = try await tx.query("""
            DECLARE audience NO SCROLL CURSOR FOR
            SELECT c.id, c.phone_number, c.name, c.opted_out,
                   CASE WHEN c.opted_out THEN NULL ELSE coalesce(
                       last.instance_id,
                       ($5::uuid[])[1 + mod(abs(hashtext(c.id::text)), cardinality($5::uuid[]))]) END AS instance_id
                   \(attributeColumns)
            FROM contacts c
            -- The number that last wrote to each contact, among these: one pass over the
            -- account's earlier recipients on these numbers (none for a first campaign), joined,
            -- rather than a lookup per contact.
            LEFT JOIN (SELECT DISTINCT ON (r.contact_id) r.contact_id, r.instance_id FROM campaign_recipients r
                       WHERE r.tenant_id = $1 AND r.instance_id = ANY($5::uuid[])
                       ORDER BY r.contact_id, r.updated_at DESC) last ON last.contact_id = c.id
            WHERE c.id IN (SELECT m.contact_id FROM contact_list_members m WHERE m.list_id = ANY($3::uuid[])
                           UNION SELECT unnest($4::uuid[]))
            ORDER BY lower(c.name), c.id
            """, [.id(campaign.tenantID), .id(campaign.id), .text(PostgresArray.uuids(settings.listIDs.map(\.rawValue))),
                  .text(PostgresArray.uuids(settings.contactIDs.map(\.rawValue))), .text(PostgresArray.uuids(numbers)),
                  .text(PostgresArray.texts(keys))])
        _ = try await tx.query("""
            CREATE TEMP TABLE materialized (
                contact_id uuid, seq bigint, phone_number text, instance_id uuid, state text, error text, rendered_text text
            ) ON COMMIT DROP
            """)
        var seq = 0
        while true {
            let rows = try await tx.query("FETCH \(Self.materializeBatch) FROM audience")
            guard !rows.isEmpty else { break }
            let first = seq
            seq += rows.count
            let out = await Self.render(rows, firstSeq: first, keys: keys, template: template, campaign: campaign.id,
                                        maxLength: maxLength, seed: context.seed)
            _ = try await tx.copy(into: "materialized (contact_id, seq, phone_number, instance_id, state, error, rendered_text)", rows: out)
        }
        _ = try await tx.query("CLOSE audience")
        guard seq > 0 else {
            throw CampaignError(.failedPrecondition, "the campaign's audience has no contacts; add contacts to its lists first")
        }
        _ = try await tx.query("""
            INSERT INTO campaign_recipients (tenant_id, campaign_id, contact_id, seq, phone_number, instance_id, state, error, rendered_text)
            SELECT $1, $2, contact_id, seq, phone_number, instance_id, state, error, rendered_text FROM materialized
            """, [.id(campaign.tenantID), .id(campaign.id)])
    }

    /// Rows of the audience cursor fetched at once.
    static let materializeBatch = 10_000

    /// A fetched batch as staging rows (contact, seq, phone, number, state, error, text), rendered
    /// on every core. A text that cannot be rendered (too long with this contact's values) skips
    /// its recipient with the reason.
    static func render(
        _ rows: PostgresRows, firstSeq: Int, keys: [String], template: Template, campaign: CampaignID, maxLength: Int,
        seed: @escaping @Sendable (CampaignID, ContactID) -> UInt64
    ) async -> [[String?]] {
        let rendered: [[String?]?] = await Array(rows.indices).concurrentMap(minimumSlice: 1000) { index in
            let row = rows[index]
            guard let contact: ContactID = row["id"].id() else { return nil }
            let phone = row["phone_number"].string ?? ""
            let number = row["instance_id"].string
            let seq = String(firstSeq + index + 1)
            if row["opted_out"].bool == true {
                return [contact.rawValue, seq, phone, nil, "skipped", "opted out", nil]
            }
            var values: [String: String] = ["name": row["name"].string ?? "", "phone_number": phone]
            for (k, key) in keys.enumerated() {
                if let value = row[5 + k].string { values[key] = value }  // a0 is the sixth column
            }
            do {
                let text = try template.render(values: values, seed: seed(campaign, contact), maxLength: maxLength)
                return [contact.rawValue, seq, phone, number, "pending", "", text]
            } catch {
                return [contact.rawValue, seq, phone, number, "skipped", (error as? TemplateError)?.message ?? "\(error)", nil]
            }
        }
        return rendered.compactMap { $0 }
    }
}
