import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// Contacts and contact lists under row-level security: every call runs in the tenant's
/// transaction. The caller has validated the fields (names, attribute keys) and parsed numbers.
public struct ContactStore: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns = """
        c.id, c.tenant_id, c.phone_number, c.phone_type, c.phone_region, c.name, c.attributes::text AS attributes, \
        c.opted_out, c.opt_out_time, c.consent_source, c.created_at, c.updated_at, \
        (SELECT string_agg(m.list_id::text, ',' ORDER BY m.list_id) FROM contact_list_members m WHERE m.contact_id = c.id) AS list_ids
        """

    // MARK: - Contacts

    /// Creates a contact, or refuses: the number is taken (ALREADY_EXISTS naming the contact), or
    /// the plan's contact limit is reached (``PlanLimitReached``), counted inside the transaction
    /// under a per-tenant lock so that concurrent creations cannot pass it together.
    public func create(
        tenantID: TenantID, number: ContactNumber, name: String, attributes: [String: String],
        optedOut: Bool, consentSource: ConsentSource, limit: (maximum: Int, planID: String)?
    ) async throws -> Contact {
        try await scoped(tenantID) { tx in
            if let limit {
                try await Self.lockContactCount(tenantID, tx)
                let count = try await tx.query("SELECT coalesce((SELECT contacts FROM contact_counts WHERE tenant_id = $1), 0) AS n", [.id(tenantID)]).first?["n"].int ?? 0
                if count + 1 > limit.maximum {
                    throw Self.limitReached(current: count, maximum: limit.maximum, planID: limit.planID)
                }
            }
            if let existing = try await tx.query(
                "SELECT id FROM contacts WHERE tenant_id = $1 AND phone_number = $2", [.id(tenantID), .text(number.e164)]).first?["id"].uuid {
                throw ContactError(.alreadyExists, "a contact with the number \(number.e164) exists already (\(existing)); update it instead")
            }
            let rows = try await tx.query("""
                INSERT INTO contacts (tenant_id, phone_number, phone_type, phone_region, name, attributes, opted_out, opt_out_time, consent_source)
                VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, CASE WHEN $7 THEN now() END, $8)
                RETURNING id
                """,
                [.id(tenantID), .text(number.e164), .text(number.type), .text(number.region), .text(name),
                 .text(Self.json(attributes)), .bool(optedOut), .text(consentSource.rawValue)])
            let id = try Self.contactID(rows.first)
            return try await Self.fetch(id, tx)
        }
    }

    /// The contact, or nil (also for another tenant's id).
    public func get(tenantID: TenantID, id: ContactID) async throws -> Contact? {
        try await scoped(tenantID) { tx in try await Self.fetchIfAny(id, tx) }
    }

    /// Applies `changes`; nil when there is no such contact. A number taken by another contact is
    /// ALREADY_EXISTS. Opting out records the time and the consent source; opting in clears the time.
    public func update(tenantID: TenantID, id: ContactID, _ changes: ContactChanges) async throws -> Contact? {
        try await scoped(tenantID) { tx in
            guard try await Self.fetchIfAny(id, tx) != nil else { return nil }
            if let number = changes.number, let other = try await tx.query(
                "SELECT id FROM contacts WHERE tenant_id = $1 AND phone_number = $2 AND id <> $3",
                [.id(tenantID), .text(number.e164), .id(id)]).first?["id"].uuid {
                throw ContactError(.alreadyExists, "another contact (\(other)) has the number \(number.e164)")
            }
            _ = try await tx.query("""
                UPDATE contacts SET
                    phone_number = COALESCE($2, phone_number), phone_type = COALESCE($3, phone_type),
                    phone_region = COALESCE($4, phone_region), name = COALESCE($5, name),
                    attributes = COALESCE($6::jsonb, attributes),
                    opt_out_time = CASE WHEN $7::boolean IS NULL OR $7 = opted_out THEN opt_out_time
                                        WHEN $7 THEN now() ELSE NULL END,
                    consent_source = CASE WHEN $7::boolean IS NULL OR $7 = opted_out THEN consent_source ELSE $8 END,
                    opted_out = COALESCE($7, opted_out),
                    updated_at = now()
                WHERE id = $1
                """,
                [.id(id), changes.number.map { .text($0.e164) }, changes.number.map { .text($0.type) },
                 changes.number.map { .text($0.region) }, changes.name.map { .text($0) },
                 changes.attributes.map { .text(Self.json($0)) }, changes.optedOut.map { .bool($0) },
                 .text(changes.consentSource.rawValue)])
            return try await Self.fetch(id, tx)
        }
    }

    /// Deletes the contact (and its list memberships); false when there is none.
    public func delete(tenantID: TenantID, id: ContactID) async throws -> Bool {
        try await scoped(tenantID) { tx in
            try await tx.query("DELETE FROM contacts WHERE id = $1", [.id(id)]).rowsAffected == 1
        }
    }

    /// How many contacts the tenant has.
    public func count(tenantID: TenantID) async throws -> Int {
        try await scoped(tenantID) { tx in
            try await tx.query("SELECT coalesce((SELECT contacts FROM contact_counts WHERE tenant_id = $1), 0) AS n", [.id(tenantID)]).first?["n"].int ?? 0
        }
    }

    /// A page of contacts by name (case-insensitively, then id), after `cursor`.
    public func list(tenantID: TenantID, filter: ContactFilter, after cursor: PageCursor?, limit: Int) async throws -> KeysetPage<Contact> {
        let limit = max(1, min(limit, 1000))
        var conditions = ["c.tenant_id = $1"]
        var parameters: [PostgresValue?] = [.id(tenantID)]
        func parameter(_ value: PostgresValue) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if !filter.includeOptedOut { conditions.append("NOT c.opted_out") }
        let text = filter.text.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty {
            let pattern = parameter(.text("%" + Self.likeEscaped(text) + "%"))
            let digits = text.filter(\.isNumber)
            if digits.isEmpty || digits.count < text.filter({ !$0.isWhitespace && !"+-().".contains($0) }).count {
                conditions.append("c.name ILIKE \(pattern)")
            } else {
                let digitPattern = parameter(.text("%" + digits + "%"))
                conditions.append("(c.name ILIKE \(pattern) OR c.phone_number LIKE \(digitPattern))")
            }
        }
        if let listID = filter.listID {
            conditions.append("EXISTS (SELECT 1 FROM contact_list_members m WHERE m.contact_id = c.id AND m.list_id = \(parameter(.id(listID))))")
        }
        if let key = filter.attributeKey {
            conditions.append("lower(c.attributes ->> \(parameter(.text(key)))) = lower(\(parameter(.text(filter.attributeValue))))")
        }
        if let cursor, cursor.fields.count == 2, let after = ContactID(validating: cursor.fields[1]) {
            conditions.append("(lower(c.name), c.id) > (\(parameter(.text(cursor.fields[0]))), \(parameter(.id(after))))")
        }
        let sql = "SELECT \(Self.columns) FROM contacts c WHERE \(conditions.joined(separator: " AND ")) ORDER BY lower(c.name), c.id LIMIT \(limit + 1)"
        return try await scoped(tenantID) { tx in
            let rows = try await tx.query(sql, parameters)
            var items = try rows.map { try Self.contact($0) }
            var next: PageCursor?
            if items.count > limit {
                items.removeLast()
                if let last = items.last {
                    next = PageCursor(kind: Self.cursorKind, fields: [last.name.lowercased(), last.id.rawValue])
                }
            }
            return KeysetPage(items: items, next: next)
        }
    }

    /// The kind of a contact listing's cursor (a token of another listing is refused).
    public static let cursorKind = "contacts"

    // MARK: - Lists

    /// Creates a list; a name in use (case-insensitively) is ALREADY_EXISTS.
    public func createList(tenantID: TenantID, name: String, description: String) async throws -> ContactList {
        try await scoped(tenantID) { tx in
            if try await !tx.query("SELECT 1 FROM contact_lists WHERE tenant_id = $1 AND lower(name) = lower($2)", [.id(tenantID), .text(name)]).isEmpty {
                throw ContactError(.alreadyExists, "a contact list named \"\(name)\" exists already")
            }
            let rows = try await tx.query(
                "INSERT INTO contact_lists (tenant_id, name, description) VALUES ($1, $2, $3) RETURNING id",
                [.id(tenantID), .text(name), .text(description)])
            guard let id: ContactListID = rows.first?["id"].id() else { throw TenantStoreError(.database, "the list row was not returned") }
            return try await Self.fetchList(id, tx)
        }
    }

    /// The list, or nil.
    public func getList(tenantID: TenantID, id: ContactListID) async throws -> ContactList? {
        try await scoped(tenantID) { tx in
            guard try await !tx.query("SELECT 1 FROM contact_lists WHERE id = $1", [.id(id)]).isEmpty else { return nil }
            return try await Self.fetchList(id, tx)
        }
    }

    /// A page of lists by name.
    public func lists(tenantID: TenantID, after cursor: PageCursor?, limit: Int) async throws -> KeysetPage<ContactList> {
        let limit = max(1, min(limit, 1000))
        var parameters: [PostgresValue?] = [.id(tenantID)]
        var condition = ""
        if let cursor, cursor.fields.count == 2, let after = ContactListID(validating: cursor.fields[1]) {
            parameters += [.text(cursor.fields[0]), .id(after)]
            condition = " AND (lower(l.name), l.id) > ($2, $3)"
        }
        return try await scoped(tenantID) { tx in
            let rows = try await tx.query("""
                SELECT l.id, l.name, l.description, l.created_at,
                       (SELECT count(*) FROM contact_list_members m WHERE m.list_id = l.id) AS contact_count
                FROM contact_lists l WHERE l.tenant_id = $1\(condition)
                ORDER BY lower(l.name), l.id LIMIT \(limit + 1)
                """, parameters)
            var items = try rows.map { try Self.list($0) }
            var next: PageCursor?
            if items.count > limit {
                items.removeLast()
                if let last = items.last { next = PageCursor(kind: Self.listCursorKind, fields: [last.name.lowercased(), last.id.rawValue]) }
            }
            return KeysetPage(items: items, next: next)
        }
    }

    /// The kind of a list listing's cursor.
    public static let listCursorKind = "contact-lists"

    /// Adds contacts to a list; returns how many were not members before and the list after, or
    /// nil when there is no such list. Ids of contacts that do not exist (or are another tenant's)
    /// are NOT_FOUND, naming the first.
    public func addToList(tenantID: TenantID, listID: ContactListID, contactIDs: [ContactID]) async throws -> (added: Int, list: ContactList)? {
        try await scoped(tenantID) { tx in
            guard try await !tx.query("SELECT 1 FROM contact_lists WHERE id = $1 FOR UPDATE", [.id(listID)]).isEmpty else { return nil }
            let ids = Array(Set(contactIDs.map(\.rawValue))).sorted()
            let found = try await tx.query(
                "SELECT id::text AS id FROM contacts WHERE id = ANY($1::uuid[])", [.text(PostgresArray.uuids(ids))]).compactMap { $0["id"].string }
            if let missing = ids.first(where: { !Set(found).contains($0) }) {
                throw ContactError(.notFound, "no contact \(missing) in this account")
            }
            let added = try await tx.query("""
                INSERT INTO contact_list_members (tenant_id, list_id, contact_id)
                SELECT $1, $2, id FROM unnest($3::uuid[]) AS id ON CONFLICT DO NOTHING
                """, [.id(tenantID), .id(listID), .text(PostgresArray.uuids(ids))]).rowsAffected
            return (added, try await Self.fetchList(listID, tx))
        }
    }

    /// Removes contacts from a list; returns how many were members and the list after, or nil
    /// when there is no such list.
    public func removeFromList(tenantID: TenantID, listID: ContactListID, contactIDs: [ContactID]) async throws -> (removed: Int, list: ContactList)? {
        try await scoped(tenantID) { tx in
            guard try await !tx.query("SELECT 1 FROM contact_lists WHERE id = $1 FOR UPDATE", [.id(listID)]).isEmpty else { return nil }
            let ids = Array(Set(contactIDs.map(\.rawValue))).sorted()
            let removed = try await tx.query(
                "DELETE FROM contact_list_members WHERE list_id = $1 AND contact_id = ANY($2::uuid[])",
                [.id(listID), .text(PostgresArray.uuids(ids))]).rowsAffected
            return (removed, try await Self.fetchList(listID, tx))
        }
    }

    // MARK: - Helpers

    /// Serialises creations and imports of one tenant's contacts, so that counts against the
    /// plan's limit are never stale.
    static func lockContactCount(_ tenantID: TenantID, _ tx: PostgresTransaction) async throws {
        _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtext('waqtor.contacts:' || $1::text))", [.text(tenantID.rawValue)])
    }

    static func limitReached(current: Int, maximum: Int, planID: String) -> PlanLimitReached {
        PlanLimitReached(
            message: "plan limit reached: the \(planID) plan allows \(maximum) contacts and the account has \(current); delete some or ask for an upgrade (`waqtor plan upgrade`)",
            limit: "contacts", retryAfterMilliseconds: nil)
    }

    static func fetchIfAny(_ id: ContactID, _ tx: PostgresTransaction) async throws -> Contact? {
        try await tx.query("SELECT \(columns) FROM contacts c WHERE c.id = $1", [.id(id)]).first.map { try contact($0) }
    }

    static func fetch(_ id: ContactID, _ tx: PostgresTransaction) async throws -> Contact {
        guard let contact = try await fetchIfAny(id, tx) else { throw TenantStoreError(.database, "the contact row was not returned") }
        return contact
    }

    static func fetchList(_ id: ContactListID, _ tx: PostgresTransaction) async throws -> ContactList {
        let rows = try await tx.query("""
            SELECT l.id, l.name, l.description, l.created_at,
                   (SELECT count(*) FROM contact_list_members m WHERE m.list_id = l.id) AS contact_count
            FROM contact_lists l WHERE l.id = $1
            """, [.id(id)])
        return try list(rows.first)
    }

    static func contactID(_ row: PostgresRow?) throws -> ContactID {
        guard let id: ContactID = row?["id"].id() else { throw TenantStoreError(.database, "the contact row was not returned") }
        return id
    }

    static func contact(_ row: PostgresRow) throws -> Contact {
        guard let id: ContactID = row["id"].id(), let tenant = row["tenant_id"].tenantID else {
            throw TenantStoreError(.database, "the contact row was not returned")
        }
        let attributes = (row["attributes"].string?.data(using: .utf8)).flatMap { try? JSONDecoder().decode([String: String].self, from: $0) } ?? [:]
        let lists = (row["list_ids"].string ?? "").split(separator: ",").map { ContactListID(trusted: String($0)) }
        return Contact(
            id: id, tenantID: tenant,
            number: ContactNumber(e164: row["phone_number"].string ?? "", type: row["phone_type"].string ?? "unknown",
                                  region: row["phone_region"].string ?? ""),
            name: row["name"].string ?? "", attributes: attributes, optedOut: row["opted_out"].bool ?? false,
            optOutTime: row["opt_out_time"].date, consentSource: ConsentSource(rawValue: row["consent_source"].string ?? "") ?? .manual,
            listIDs: lists, createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0),
            updatedAt: row["updated_at"].date ?? Date(timeIntervalSince1970: 0))
    }

    static func list(_ row: PostgresRow?) throws -> ContactList {
        guard let row, let id: ContactListID = row["id"].id() else { throw TenantStoreError(.database, "the list row was not returned") }
        return ContactList(id: id, name: row["name"].string ?? "", description: row["description"].string ?? "",
                           contactCount: row["contact_count"].int ?? 0, createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0))
    }

    /// A JSON object of the attributes, keys sorted (stable text for tests and diffs).
    static func json(_ attributes: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(attributes)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// `%`, `_` and `\` matched literally by LIKE.
    static func likeEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }

    func scoped<R: Sendable>(_ tenantID: TenantID, _ body: (PostgresTransaction) async throws -> R) async throws -> R {
        try await pool.storeTransaction(tenant: tenantID, body)
    }
}
