import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// A contact of an audience, with what a template needs.
public struct AudienceContact: Sendable, Hashable {
    public var id: ContactID
    public var phoneNumber: String
    public var name: String
    public var attributes: [String: String]

    /// The template values of this contact: its attributes, its name and its number.
    public var templateValues: [String: String] {
        var values = attributes
        values["name"] = name
        values["phone_number"] = phoneNumber
        return values
    }
}

/// An audience as it stands now: counts after duplicates and opt-outs, its first contacts, and
/// the attribute keys its reachable contacts have.
public struct AudienceSummary: Sendable, Hashable {
    /// Contacts that would receive the campaign.
    public var recipients: Int
    public var optedOut: Int
    /// Names of a contact beyond its first (in several lists, or in a list and by id).
    public var duplicates: Int
    /// The first reachable contacts by name.
    public var sample: [AudienceContact]
    /// The attribute keys asked about that some reachable contact has.
    public var attributeKeys: Set<String>
}

/// A number of a campaign as it stands now.
public struct CampaignNumber: Sendable, Hashable {
    public var id: InstanceID
    public var connected: Bool
    public var minDelayMs: Int
    public var maxDelayMs: Int
    public var dailyCap: Int?
    public var quietStartMinute: Int?
    public var quietEndMinute: Int?
}

extension CampaignNumber {
    /// How this number sends for a campaign, for an estimate: the campaign's gap range if it has
    /// one, else the number's (at its middle); the lower of the two daily caps; the number's quiet
    /// hours.
    public func pace(override: CampaignPacing?) -> NumberPace {
        let min = override?.minDelayMs ?? minDelayMs
        let max = override?.maxDelayMs ?? maxDelayMs
        return NumberPace(meanGapMs: (min + max) / 2, dailyCap: [override?.dailyCap, dailyCap].compactMap { $0 }.min(),
                          quietStartMinute: quietStartMinute, quietEndMinute: quietEndMinute)
    }
}

extension CampaignStore {
    /// The audience of `lists` and `contacts` now (contacts deleted since are not counted).
    /// `attributeKeys` says which of `keys` some reachable contact has.
    public func audience(tenantID: TenantID, lists: [ContactListID], contacts: [ContactID], sample: Int, keys: Set<String>) async throws -> AudienceSummary {
        try await scoped(tenantID) { tx in
            _ = try await tx.query("""
                CREATE TEMP TABLE audience_named ON COMMIT DROP AS
                SELECT m.contact_id FROM contact_list_members m WHERE m.list_id = ANY($1::uuid[])
                UNION ALL
                SELECT c.id FROM contacts c WHERE c.id = ANY($2::uuid[])
                """, [.text(PostgresArray.uuids(lists.map(\.rawValue))), .text(PostgresArray.uuids(contacts.map(\.rawValue)))])
            let counts = try await tx.query("""
                SELECT (SELECT count(*) FROM audience_named) AS named,
                       count(*) FILTER (WHERE NOT c.opted_out) AS recipients,
                       count(*) FILTER (WHERE c.opted_out) AS opted_out
                FROM contacts c WHERE c.id IN (SELECT contact_id FROM audience_named)
                """).first
            let named = counts?["named"].int ?? 0
            let recipients = counts?["recipients"].int ?? 0
            let optedOut = counts?["opted_out"].int ?? 0
            let rows = try await tx.query("""
                SELECT c.id, c.phone_number, c.name, c.attributes::text AS attributes FROM contacts c
                WHERE c.id IN (SELECT contact_id FROM audience_named) AND NOT c.opted_out
                ORDER BY lower(c.name), c.id LIMIT $1
                """, [.int(Int64(max(0, sample)))])
            let present = keys.isEmpty ? [] : try await tx.query("""
                SELECT k.key FROM unnest($1::text[]) AS k(key)
                WHERE EXISTS (SELECT 1 FROM contacts c
                              WHERE c.attributes ? k.key AND NOT c.opted_out AND c.id IN (SELECT contact_id FROM audience_named))
                """, [.text(PostgresArray.texts(keys.sorted()))]).compactMap { $0["key"].string }
            return AudienceSummary(
                recipients: recipients, optedOut: optedOut, duplicates: max(0, named - recipients - optedOut),
                sample: rows.compactMap { row in
                    guard let id: ContactID = row["id"].id() else { return nil }
                    let attributes = row["attributes"].string.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
                    return AudienceContact(id: id, phoneNumber: row["phone_number"].string ?? "", name: row["name"].string ?? "", attributes: attributes)
                },
                attributeKeys: Set(present))
        }
    }

    /// Which of `keys` some reachable (not opted-out) contact of the audience has as an
    /// attribute: one `EXISTS` per key, which stops at the first contact that has it, instead of
    /// listing every key of every contact.
    public func attributeKeys(tenantID: TenantID, lists: [ContactListID], contacts: [ContactID], among keys: Set<String>) async throws -> Set<String> {
        guard !keys.isEmpty else { return [] }
        return try await scoped(tenantID) { tx in
            Set(try await tx.query("""
                SELECT k.key FROM unnest($3::text[]) AS k(key)
                WHERE EXISTS (
                    SELECT 1 FROM contacts c
                    WHERE c.attributes ? k.key AND NOT c.opted_out
                      AND c.id IN (SELECT m.contact_id FROM contact_list_members m WHERE m.list_id = ANY($1::uuid[])
                                   UNION ALL SELECT unnest($2::uuid[])))
                """, [.text(PostgresArray.uuids(lists.map(\.rawValue))), .text(PostgresArray.uuids(contacts.map(\.rawValue))),
                      .text(PostgresArray.texts(keys.sorted()))]).compactMap { $0["key"].string })
        }
    }

    /// The campaign's numbers as they stand now, in its order.
    public func numbers(tenantID: TenantID, ids: [InstanceID]) async throws -> [CampaignNumber] {
        guard !ids.isEmpty else { return [] }
        return try await scoped(tenantID) { tx in
            let rows = try await tx.query("""
                SELECT i.id, i.state, i.min_delay_ms, i.max_delay_ms, i.daily_cap, i.quiet_start_minute, i.quiet_end_minute
                FROM unnest($1::uuid[]) WITH ORDINALITY AS n(id, position) JOIN instances i ON i.id = n.id
                ORDER BY n.position
                """, [.text(PostgresArray.uuids(ids.map(\.rawValue)))])
            return rows.compactMap { row in
                guard let id: InstanceID = row["id"].id() else { return nil }
                return CampaignNumber(
                    id: id, connected: row["state"].string == "open", minDelayMs: row["min_delay_ms"].int ?? 3000,
                    maxDelayMs: row["max_delay_ms"].int ?? 9000, dailyCap: row["daily_cap"].int,
                    quietStartMinute: row["quiet_start_minute"].int, quietEndMinute: row["quiet_end_minute"].int)
            }
        }
    }
}
