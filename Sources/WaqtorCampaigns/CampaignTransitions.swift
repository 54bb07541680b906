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
    /// Set-based statements and one COPY, in the start's transaction.
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
        let inserted = try await tx.query("""
            INSERT INTO campaign_recipients (tenant_id, campaign_id, contact_id, seq, phone_number, instance_id, state, error)
            SELECT $1, $2, c.id, row_number() OVER (ORDER BY lower(c.name), c.id), c.phone_number,
                   CASE WHEN c.opted_out THEN NULL ELSE coalesce(
                       (SELECT r.instance_id FROM campaign_recipients r
                        WHERE r.tenant_id = $1 AND r.contact_id = c.id AND r.instance_id = ANY($5::uuid[])
                        ORDER BY r.updated_at DESC LIMIT 1),
                       ($5::uuid[])[1 + mod(abs(hashtext(c.id::text)), cardinality($5::uuid[]))]) END,
                   CASE WHEN c.opted_out THEN 'skipped' ELSE 'pending' END,
                   CASE WHEN c.opted_out THEN 'opted out' ELSE '' END
            FROM contacts c
            WHERE c.id IN (SELECT m.contact_id FROM contact_list_members m WHERE m.list_id = ANY($3::uuid[])
                           UNION SELECT unnest($4::uuid[]))
            """, [.id(campaign.tenantID), .id(campaign.id), .text(PostgresArray.uuids(settings.listIDs.map(\.rawValue))),
                  .text(PostgresArray.uuids(settings.contactIDs.map(\.rawValue))), .text(PostgresArray.uuids(numbers))]).rowsAffected
        guard inserted > 0 else {
            throw CampaignError(.failedPrecondition, "the campaign's audience has no contacts; add contacts to its lists first")
        }
        // The texts, rendered in batches by send order; a text that cannot be rendered (too long
        // with this contact's values) skips its recipient with the reason.
        _ = try await tx.query("CREATE TEMP TABLE rendered (contact_id uuid, text text, error text) ON COMMIT DROP")
        var after: Int64 = 0
        while true {
            let rows = try await tx.query("""
                SELECT r.seq, r.contact_id, r.phone_number, c.name, c.attributes::text AS attributes
                FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id
                WHERE r.campaign_id = $1 AND r.state = 'pending' AND r.seq > $2 ORDER BY r.seq LIMIT 5000
                """, [.id(campaign.id), .int(after)])
            guard let last = rows.last?["seq"].int64 else { break }
            after = last
            var out: [[String?]] = []
            out.reserveCapacity(rows.count)
            for row in rows {
                guard let contact: ContactID = row["contact_id"].id() else { continue }
                var values = (row["attributes"].string.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }) ?? [:]
                values["name"] = row["name"].string ?? ""
                values["phone_number"] = row["phone_number"].string ?? ""
                do {
                    let text = try template.render(values: values, seed: context.seed(campaign.id, contact), maxLength: maxLength)
                    out.append([contact.rawValue, text, nil])
                } catch {
                    out.append([contact.rawValue, nil, error.message])
                }
            }
            _ = try await tx.copy(into: "rendered (contact_id, text, error)", rows: out)
        }
        _ = try await tx.query("""
            UPDATE campaign_recipients r SET rendered_text = x.text,
                state = CASE WHEN x.error IS NULL THEN r.state ELSE 'skipped' END,
                error = coalesce(x.error, r.error), updated_at = now()
            FROM rendered x WHERE r.campaign_id = $1 AND r.contact_id = x.contact_id
            """, [.id(campaign.id)])
    }
}
