import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// One good row of an import, already parsed and checked by the caller.
public struct ImportRow: Sendable, Hashable {
    /// The row's number in the caller's file (for errors).
    public var rowNumber: Int
    public var number: ContactNumber
    /// nil: the file has no name column (an update keeps the contact's name).
    public var name: String?
    /// Merged into an existing contact's attributes (keys given replace theirs).
    public var attributes: [String: String]
    /// nil: the file has no opted_out column (an update keeps the consent state).
    public var optedOut: Bool?

    public init(rowNumber: Int, number: ContactNumber, name: String?, attributes: [String: String], optedOut: Bool?) {
        self.rowNumber = rowNumber
        self.number = number
        self.name = name
        self.attributes = attributes
        self.optedOut = optedOut
    }
}

/// What an import did.
public struct ImportOutcome: Sendable, Hashable {
    /// New contacts.
    public var imported: Int
    /// Existing contacts (same number) updated.
    public var updated: Int
    /// Existing contacts left as they were (without "update existing").
    public var unchanged: Int
    /// Rows refused because the plan's contact limit was reached, by row number.
    public var overLimitRows: [Int]

    public init(imported: Int, updated: Int, unchanged: Int, overLimitRows: [Int]) {
        self.imported = imported
        self.updated = updated
        self.unchanged = unchanged
        self.overLimitRows = overLimitRows
    }
}

extension ContactStore {
    /// Imports rows in one transaction: a `COPY` into a staging table, then set-based statements
    /// (insert the new numbers, update or keep the existing ones, add them to the list). New
    /// contacts beyond the plan's limit are refused row by row (``ImportOutcome/overLimitRows``),
    /// the rest is imported. Nil when `listID` names no list of the tenant.
    public func importRows(
        tenantID: TenantID, rows: [ImportRow], updateExisting: Bool, listID: ContactListID?,
        limit: (maximum: Int, planID: String)
    ) async throws -> ImportOutcome? {
        try await scoped(tenantID) { tx in
            if let listID, try await tx.query("SELECT 1 FROM contact_lists WHERE id = $1", [.id(listID)]).isEmpty {
                return nil
            }
            try await Self.lockContactCount(tenantID, tx)
            _ = try await tx.query("""
                CREATE TEMP TABLE import_rows (
                    row_number integer NOT NULL, phone_number text NOT NULL, phone_type text NOT NULL, phone_region text NOT NULL,
                    name text, attributes jsonb NOT NULL, opted_out boolean, existing_id uuid, contact_id uuid
                ) ON COMMIT DROP
                """)
            _ = try await tx.copy(
                into: "import_rows (row_number, phone_number, phone_type, phone_region, name, attributes, opted_out)",
                rows: rows.map { row in
                    [String(row.rowNumber), row.number.e164, row.number.type, row.number.region, row.name,
                     Self.json(row.attributes), row.optedOut.map { $0 ? "t" : "f" }]
                })
            // One index lookup per row (a join would hash every contact of the tenant per call).
            _ = try await tx.query("""
                UPDATE import_rows r SET existing_id = (
                    SELECT c.id FROM contacts c WHERE c.tenant_id = $1 AND c.phone_number = r.phone_number)
                """, [.id(tenantID)])
            // Statistics for the statements below: without them the planner takes the staging
            // table for a few rows and may pick a nested loop over every contact.
            _ = try await tx.query("ANALYZE import_rows")
            let current = try await tx.query("SELECT coalesce((SELECT contacts FROM contact_counts WHERE tenant_id = $1), 0) AS n", [.id(tenantID)]).first?["n"].int ?? 0
            let room = max(0, limit.maximum - current)
            // New numbers past the room left, in file order, are refused.
            let overLimit = try await tx.query("""
                DELETE FROM import_rows WHERE row_number IN (
                    SELECT row_number FROM (
                        SELECT row_number, row_number() OVER (ORDER BY row_number) AS k FROM import_rows WHERE existing_id IS NULL
                    ) ranked WHERE k > $1)
                RETURNING row_number
                """, [.int(Int64(room))]).compactMap { $0["row_number"].int }.sorted()
            // The new contacts' ids go to their rows (for the list) with the insert.
            let imported = try await tx.query("""
                WITH inserted AS (
                    INSERT INTO contacts (tenant_id, phone_number, phone_type, phone_region, name, attributes, opted_out, opt_out_time, consent_source)
                    SELECT $1, phone_number, phone_type, phone_region, coalesce(name, ''), attributes, coalesce(opted_out, false),
                           CASE WHEN opted_out THEN now() END, 'import'
                    FROM import_rows WHERE existing_id IS NULL
                    ON CONFLICT (tenant_id, phone_number) DO NOTHING
                    RETURNING id, phone_number)
                UPDATE import_rows r SET contact_id = i.id FROM inserted i WHERE r.phone_number = i.phone_number
                """, [.id(tenantID)]).rowsAffected
            var updated = 0
            if updateExisting {
                updated = try await tx.query("""
                    UPDATE contacts c SET
                        name = coalesce(r.name, c.name),
                        attributes = c.attributes || r.attributes,
                        phone_type = r.phone_type, phone_region = r.phone_region,
                        opt_out_time = CASE WHEN r.opted_out IS NULL OR r.opted_out = c.opted_out THEN c.opt_out_time
                                            WHEN r.opted_out THEN now() ELSE NULL END,
                        consent_source = CASE WHEN r.opted_out IS NULL OR r.opted_out = c.opted_out THEN c.consent_source ELSE 'import' END,
                        opted_out = coalesce(r.opted_out, c.opted_out),
                        updated_at = now()
                    FROM import_rows r WHERE r.existing_id = c.id
                    """).rowsAffected
            }
            let existing = try await tx.query("SELECT count(*) AS n FROM import_rows WHERE existing_id IS NOT NULL").first?["n"].int ?? 0
            if let listID {
                // Existing contacts are their rows' contacts; a number another transaction
                // added meanwhile (not inserted here) is looked up.
                _ = try await tx.query("""
                    UPDATE import_rows r SET contact_id = coalesce(r.existing_id, (
                        SELECT c.id FROM contacts c WHERE c.tenant_id = $1 AND c.phone_number = r.phone_number))
                    WHERE r.contact_id IS NULL
                    """, [.id(tenantID)])
                _ = try await tx.query("""
                    INSERT INTO contact_list_members (tenant_id, list_id, contact_id)
                    SELECT DISTINCT $1::uuid, $2::uuid, contact_id FROM import_rows
                    WHERE contact_id IS NOT NULL AND (existing_id IS NULL OR $3)
                    ON CONFLICT DO NOTHING
                    """, [.id(tenantID), .id(listID), .bool(updateExisting)])
            }
            return ImportOutcome(imported: imported, updated: updated, unchanged: updateExisting ? 0 : existing, overLimitRows: overLimit)
        }
    }
}
