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
    /// A transaction scoped to one tenant: row-level security shows and changes only its rows.
    public func withTransaction<R: Sendable>(
        tenant: TenantID, _ body: (PostgresTransaction) async throws -> R
    ) async throws -> R {
        try await withTransaction(tenantID: tenant.rawValue, body)
    }
}
