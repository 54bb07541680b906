import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// Campaigns and their numbers under row-level security. The caller has validated the settings
/// (template, pacing, schedule); the store checks that what they name exists for the tenant.
public struct CampaignStore: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns = """
        c.id, c.tenant_id, c.name, c.state, c.state_detail, c.template_text, c.media::text AS media,
        array_to_string(c.audience_list_ids, ',') AS list_ids, array_to_string(c.audience_contact_ids, ',') AS contact_ids,
        c.on_number_unavailable, c.schedule_time, c.schedule_local, c.schedule_zone, c.min_delay_ms, c.max_delay_ms,
        c.daily_cap, c.materialized, c.created_at, c.updated_at, c.start_time, c.finish_time,
        (SELECT string_agg(n.instance_id::text, ',' ORDER BY n.position) FROM campaign_numbers n WHERE n.campaign_id = c.id) AS instance_ids
        """

    /// Creates a campaign in DRAFT. Lists, contacts and numbers it names must be the tenant's
    /// (NOT_FOUND naming the first that is not).
    public func create(tenantID: TenantID, settings: CampaignSettings) async throws -> Campaign {
        try await scoped(tenantID) { tx in
            try await Self.checkReferences(settings, tx)
            let rows = try await tx.query("""
                INSERT INTO campaigns (tenant_id, name, template_text, media, audience_list_ids, audience_contact_ids,
                                       on_number_unavailable, schedule_time, schedule_local, schedule_zone,
                                       min_delay_ms, max_delay_ms, daily_cap)
                VALUES ($1, $2, $3, $4::jsonb, $5::uuid[], $6::uuid[], $7, $8, $9, $10, $11, $12, $13)
                RETURNING id
                """, Self.parameters(tenantID, settings))
            guard let id: CampaignID = rows.first?["id"].id() else { throw TenantStoreError(.database, "the campaign row was not returned") }
            try await Self.replaceNumbers(tenantID, id, settings.instanceIDs, tx)
            return try await Self.fetch(id, tx)
        }
    }

    /// The campaign, or nil (also for another tenant's id).
    public func get(tenantID: TenantID, id: CampaignID) async throws -> Campaign? {
        try await scoped(tenantID) { tx in try await Self.fetchIfAny(id, tx) }
    }

    /// Replaces the settings of a DRAFT or SCHEDULED campaign (``CampaignTransitionRefused`` in
    /// any other state); nil when there is none.
    public func update(tenantID: TenantID, id: CampaignID, settings: CampaignSettings) async throws -> Campaign? {
        try await scoped(tenantID) { tx in
            guard let current = try await tx.query("SELECT \(Self.columns) FROM campaigns c WHERE c.id = $1 FOR UPDATE", [.id(id)])
                .first.map({ try Self.campaign($0) })
            else { return nil }
            _ = try current.lifecycle.applying(.edit)
            try await Self.checkReferences(settings, tx)
            var parameters = Self.parameters(tenantID, settings)
            parameters[0] = .id(id)
            _ = try await tx.query("""
                UPDATE campaigns SET name = $2, template_text = $3, media = $4::jsonb, audience_list_ids = $5::uuid[],
                    audience_contact_ids = $6::uuid[], on_number_unavailable = $7, schedule_time = $8, schedule_local = $9,
                    schedule_zone = $10, min_delay_ms = $11, max_delay_ms = $12, daily_cap = $13, updated_at = now()
                WHERE id = $1
                """, parameters)
            try await Self.replaceNumbers(tenantID, id, settings.instanceIDs, tx)
            return try await Self.fetch(id, tx)
        }
    }

    /// A page of campaigns, newest first.
    public func list(tenantID: TenantID, filter: CampaignFilter, after cursor: PageCursor?, limit: Int) async throws -> KeysetPage<Campaign> {
        let limit = max(1, min(limit, 500))
        var conditions = ["c.tenant_id = $1"]
        var parameters: [PostgresValue?] = [.id(tenantID)]
        func parameter(_ value: PostgresValue) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if let state = filter.state { conditions.append("c.state = \(parameter(.text(state.rawValue)))") }
        if let instance = filter.instanceID {
            conditions.append("EXISTS (SELECT 1 FROM campaign_numbers n WHERE n.campaign_id = c.id AND n.instance_id = \(parameter(.id(instance))))")
        }
        if let cursor, cursor.fields.count == 2, let after = CampaignID(validating: cursor.fields[1]),
           let micros = Int64(cursor.fields[0]) {
            conditions.append("(c.created_at, c.id) < (to_timestamp(\(parameter(.int(micros)))::double precision / 1e6), \(parameter(.id(after))))")
        }
        let sql = """
            SELECT \(Self.columns), (extract(epoch FROM c.created_at) * 1e6)::bigint AS created_micros
            FROM campaigns c WHERE \(conditions.joined(separator: " AND "))
            ORDER BY c.created_at DESC, c.id DESC LIMIT \(limit + 1)
            """
        return try await scoped(tenantID) { tx in
            let rows = try await tx.query(sql, parameters)
            var items: [Campaign] = []
            var lastMicros: [CampaignID: Int64] = [:]
            for row in rows {
                let campaign = try Self.campaign(row)
                items.append(campaign)
                lastMicros[campaign.id] = row["created_micros"].int64
            }
            var next: PageCursor?
            if items.count > limit {
                items.removeLast()
                if let last = items.last, let micros = lastMicros[last.id] {
                    next = PageCursor(kind: Self.cursorKind, fields: [String(micros), last.id.rawValue])
                }
            }
            return KeysetPage(items: items, next: next)
        }
    }

    /// The kind of a campaign listing's cursor.
    public static let cursorKind = "campaigns"

    // MARK: - Helpers

    static func parameters(_ tenantID: TenantID, _ s: CampaignSettings) -> [PostgresValue?] {
        let media: PostgresValue? = s.media.flatMap { media in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(media)).map { .text(String(decoding: $0, as: UTF8.self)) }
        }
        return [
            .id(tenantID), .text(s.name), .text(s.templateText), media,
            .text(PostgresArray.uuids(s.listIDs.map(\.rawValue))), .text(PostgresArray.uuids(s.contactIDs.map(\.rawValue))),
            .text(s.onNumberUnavailable.rawValue), s.schedule.map { .timestamptz($0.time) },
            s.schedule?.local.map { .text($0) }, s.schedule?.zone.map { .text($0) },
            s.pacing.map { .int(Int64($0.minDelayMs)) }, s.pacing.map { .int(Int64($0.maxDelayMs)) },
            s.pacing?.dailyCap.map { .int(Int64($0)) },
        ]
    }


    /// NOT_FOUND for the first list, contact or number that is not the tenant's.
    static func checkReferences(_ s: CampaignSettings, _ tx: PostgresTransaction) async throws {
        func missing(_ table: String, _ ids: [String]) async throws -> String? {
            guard !ids.isEmpty else { return nil }
            let found = Set(try await tx.query("SELECT id::text AS id FROM \(table) WHERE id = ANY($1::uuid[])", [.text(PostgresArray.uuids(ids))])
                .compactMap { $0["id"].string })
            return ids.first { !found.contains($0) }
        }
        if let id = try await missing("contact_lists", s.listIDs.map(\.rawValue)) {
            throw CampaignError(.notFound, "audience: no contact list \(id) in this account")
        }
        if let id = try await missing("contacts", s.contactIDs.map(\.rawValue)) {
            throw CampaignError(.notFound, "audience: no contact \(id) in this account")
        }
        if let id = try await missing("instances", s.instanceIDs.map(\.rawValue)) {
            throw CampaignError(.notFound, "instance_ids: no WhatsApp number \(id) in this account")
        }
    }

    static func replaceNumbers(_ tenantID: TenantID, _ id: CampaignID, _ instances: [InstanceID], _ tx: PostgresTransaction) async throws {
        _ = try await tx.query("DELETE FROM campaign_numbers WHERE campaign_id = $1", [.id(id)])
        _ = try await tx.query("""
            INSERT INTO campaign_numbers (tenant_id, campaign_id, instance_id, position)
            SELECT $1, $2, instance_id, position FROM unnest($3::uuid[]) WITH ORDINALITY AS n(instance_id, position)
            """, [.id(tenantID), .id(id), .text(PostgresArray.uuids(instances.map(\.rawValue)))])
    }

    static func fetchIfAny(_ id: CampaignID, _ tx: PostgresTransaction) async throws -> Campaign? {
        try await tx.query("SELECT \(columns) FROM campaigns c WHERE c.id = $1", [.id(id)]).first.map { try campaign($0) }
    }

    static func fetch(_ id: CampaignID, _ tx: PostgresTransaction) async throws -> Campaign {
        guard let campaign = try await fetchIfAny(id, tx) else { throw TenantStoreError(.database, "the campaign row was not returned") }
        return campaign
    }

    static func ids<ID: TypedID>(_ text: String?) -> [ID] {
        (text ?? "").split(separator: ",").map { ID(trusted: String($0)) }
    }

    static func campaign(_ row: PostgresRow) throws -> Campaign {
        guard let id: CampaignID = row["id"].id(), let tenant = row["tenant_id"].tenantID,
              let state = CampaignState(rawValue: row["state"].string ?? "")
        else { throw TenantStoreError(.database, "the campaign row was not returned") }
        let media = row["media"].string.flatMap { try? JSONDecoder().decode(CampaignMedia.self, from: Data($0.utf8)) }
        let schedule = row["schedule_time"].date.map {
            CampaignSchedule(time: $0, local: row["schedule_local"].string, zone: row["schedule_zone"].string)
        }
        let pacing = row["min_delay_ms"].int.map {
            CampaignPacing(minDelayMs: $0, maxDelayMs: row["max_delay_ms"].int ?? $0, dailyCap: row["daily_cap"].int)
        }
        let settings = CampaignSettings(
            name: row["name"].string ?? "", templateText: row["template_text"].string ?? "", media: media,
            listIDs: ids(row["list_ids"].string), contactIDs: ids(row["contact_ids"].string),
            instanceIDs: ids(row["instance_ids"].string),
            onNumberUnavailable: NumberDropPolicy(rawValue: row["on_number_unavailable"].string ?? "") ?? .wait,
            schedule: schedule, pacing: pacing)
        return Campaign(
            id: id, tenantID: tenant, settings: settings,
            lifecycle: CampaignLifecycle(state: state, detail: row["state_detail"].string ?? "", materialized: row["materialized"].bool ?? false),
            createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0), updatedAt: row["updated_at"].date ?? Date(timeIntervalSince1970: 0),
            startTime: row["start_time"].date, finishTime: row["finish_time"].date)
    }

    func scoped<R: Sendable>(_ tenantID: TenantID, _ body: (PostgresTransaction) async throws -> R) async throws -> R {
        try await pool.storeTransaction(tenant: tenantID, body)
    }
}
