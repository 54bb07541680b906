import WaqtorCore
import WaqtorPostgres

// Typed ids in and out of PostgreSQL: a `uuid` column read as an id, an id as a parameter.

extension PostgresCell {
    /// A `uuid` column as a typed id (nil for NULL).
    public func id<ID: TypedID>(_: ID.Type = ID.self) -> ID? {
        uuid.map { ID(trusted: $0.lowercased()) }
    }

    /// A `uuid` column as a tenant id.
    public var tenantID: TenantID? { id() }
}

extension PostgresValue {
    /// A typed id as a `uuid` parameter.
    public static func id(_ id: some TypedID) -> PostgresValue { .uuid(id.rawValue) }
}

extension PostgresPool {
    /// ``withTransaction(tenant:_:)`` for the domain stores: PostgreSQL's errors come out as
    /// ``TenantStoreError`` (taken, not found, invalid, or the database's own, for the error map).
    public func storeTransaction<R: Sendable>(
        tenant: TenantID, _ body: (PostgresTransaction) async throws -> R
    ) async throws -> R {
        do {
            return try await withTransaction(tenantID: tenant.rawValue, body)
        } catch let error as PostgresError {
            throw TenantStore.map(error)
        }
    }

    /// A transaction scoped to one tenant: row-level security shows and changes only its rows.
    public func withTransaction<R: Sendable>(
        tenant: TenantID, _ body: (PostgresTransaction) async throws -> R
    ) async throws -> R {
        try await withTransaction(tenantID: tenant.rawValue, body)
    }
}

/// PostgreSQL array literals for `= ANY($n::uuid[])` parameters.
public enum PostgresArray {
    /// `{a,b,c}` of ids that are UUIDs already (typed ids' raw values): no quoting is needed.
    public static func uuids(_ ids: [String]) -> String { "{" + ids.joined(separator: ",") + "}" }

    /// `{"a","b\"c",NULL}`: any texts (or NULLs), each quoted, `"` and `\` escaped.
    public static func texts(_ values: [String?]) -> String {
        "{" + values.map { value in
            guard let value else { return "NULL" }
            var out = "\""
            for character in value.unicodeScalars {
                if character == "\"" || character == "\\" { out.unicodeScalars.append("\\") }
                out.unicodeScalars.append(character)
            }
            return out + "\""
        }.joined(separator: ",") + "}"
    }
}
