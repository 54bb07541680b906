import Foundation
import Testing
import WaqtorSecurity
import WaqtorPostgres
import WaqtorCore
import WaqtorTenants
import WaqtorInstances
import WaqtorTestSupport

/// Row-level security under the application role, against the real PostgreSQL.
@Suite("Tenant isolation (real server)")
struct IsolationTests {
    @Test func unscopedSelectInATransactionReturnsOnlyThatTenantsRows() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let a = try await f.populatedTenant(admin: admin)
        let b = try await f.populatedTenant(admin: admin)
        for (table, column) in tenantTables {
            for tenant in [a.profile.id, b.profile.id] {
                let rows = try await f.pool.withTransaction(tenant: tenant) { tx in
                    try await tx.query("SELECT * FROM \(table)")
                }
                #expect(rows.count >= 1, "\(table): the tenant sees its own rows")
                #expect(rows.allSatisfy { $0[column].tenantID == tenant }, "\(table): only the tenant's rows")
            }
            // No tenant set (in a transaction, or autocommit), or a malformed one: nothing, no error.
            let none = try await f.pool.withTransaction { tx in try await tx.query("SELECT * FROM \(table)") }
            #expect(none.count == 0, "\(table) without a tenant")
            #expect(try await f.pool.query("SELECT * FROM \(table)").count == 0, "\(table) in autocommit")
            for bogus in ["", "not-a-uuid", "'; DROP TABLE tenants; --"] {
                let rows = try await f.pool.withTransaction(tenantID: bogus) { tx in try await tx.query("SELECT * FROM \(table)") }
                #expect(rows.count == 0, "\(table) with tenant \"\(bogus)\"")
            }
        }
        await f.shutdown()
    }

    @Test func aTenantCannotUpdateOrDeleteAnotherTenantsRows() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let a = try await f.populatedTenant(admin: admin)
        let b = try await f.populatedTenant(admin: admin)
        let before = try await f.ownerCounts(b.profile.id)
        let affected = try await f.pool.withTransaction(tenant: a.profile.id) { tx in
            var counts = [Int]()
            counts.append(try await tx.query("UPDATE tenants SET name = 'pwned' WHERE id = $1", [.id(b.profile.id)]).rowsAffected)
            counts.append(try await tx.query("UPDATE sessions SET revoked_at = now() WHERE id = $1", [.uuid(b.session.id)]).rowsAffected)
            counts.append(try await tx.query("UPDATE api_keys SET revoked_at = now() WHERE id = $1", [.uuid(b.key.record.id)]).rowsAffected)
            counts.append(try await tx.query("UPDATE usage_daily SET messages_sent = 0 WHERE tenant_id = $1", [.id(b.profile.id)]).rowsAffected)
            for (table, column) in tenantTables where !readOnlyTenantTables.contains(table) {
                counts.append(try await tx.query("DELETE FROM \(table) WHERE \(column) = $1", [.id(b.profile.id)]).rowsAffected)
            }
            return counts
        }
        // Tables only triggers write: the application role cannot even try.
        for table in readOnlyTenantTables {
            do {
                _ = try await f.pool.withTransaction(tenant: a.profile.id) { tx in
                    try await tx.query("DELETE FROM \(table) WHERE tenant_id = $1", [.id(b.profile.id)])
                }
                Issue.record("the application role could delete from \(table)")
            } catch let error as PostgresError {
                #expect(error.sqlState == "42501", "\(table): \(error)")
            }
        }
        #expect(affected.allSatisfy { $0 == 0 }, "\(affected)")
        #expect(try await f.ownerCounts(b.profile.id) == before)
        #expect(try await f.store.resolveSession(token: b.session.token.value)?.tenantID == b.profile.id)
        #expect(try await f.store.resolveAPIKey(key: b.key.token.value)?.tenantID == b.profile.id)
        #expect(try await f.store.profile(tenantID: b.profile.id)?.name == "Tenant")

        // Through the store: B's ids are simply not found for A.
        #expect(try await !f.store.revokeSession(tenantID: a.profile.id, sessionID: b.session.id))
        #expect(try await !f.store.revokeAPIKey(tenantID: a.profile.id, keyID: b.key.record.id))
        #expect(try await f.store.resolveAPIKey(key: b.key.token.value) != nil)

        // Writing a row for B inside A's transaction is refused by the policy's WITH CHECK.
        await #expect { try await f.pool.withTransaction(tenant: a.profile.id) { tx in
            try await tx.query("INSERT INTO api_keys (tenant_id, name, scope, key_prefix, key_hash) VALUES ($1, 'x', 'full', 'x', $2)",
                               [.id(b.profile.id), .bytea(SecretToken.generate(.apiKey).hash)])
        } } throws: { ($0 as? PostgresError)?.isInsufficientPrivilege == true }
        // A tenant cannot raise its own plan, status or administrator flag.
        for column in ["is_admin = true", "plan_id = 'business'", "status = 'active'"] {
            await #expect { try await f.pool.withTransaction(tenant: a.profile.id) { tx in
                try await tx.query("UPDATE tenants SET \(column) WHERE id = $1", [.id(a.profile.id)])
            } } throws: { ($0 as? PostgresError)?.isInsufficientPrivilege == true }
        }
        await f.shutdown()
    }

    @Test func twoTenantsTimesTwoHundredConcurrentScopedQueriesNeverSeeTheOther() async throws {
        let f = try await Fixture.make(poolSize: 8)
        let admin = try await f.admin()
        let a = try await f.populatedTenant(admin: admin)
        let b = try await f.populatedTenant(admin: admin)
        let sql = tenantTables.map { "SELECT \($0.tenantColumn)::text AS owner FROM \($0.table)" }.joined(separator: " UNION ALL ")
        let results = try await withThrowingTaskGroup(of: (TenantID, [String]).self) { group in
            for i in 0..<400 {
                let tenant = i % 2 == 0 ? a.profile.id : b.profile.id
                group.addTask {
                    let rows = try await f.pool.withTransaction(tenant: tenant) { tx in try await tx.query(sql) }
                    return (tenant, rows.map { $0["owner"].string ?? "?" })
                }
            }
            return try await group.reduce(into: [(TenantID, [String])]()) { $0.append($1) }
        }
        #expect(results.count == 400)
        let foreign = results.reduce(0) { sum, result in sum + result.1.filter { $0 != result.0.rawValue }.count }
        #expect(foreign == 0)
        #expect(results.allSatisfy { $0.1.count >= tenantTables.count })
        await f.shutdown()
    }

    @Test func tenantScopedQueriesCanUseTheTenantIndex() async throws {
        // The application role's policy must be a plain `column = app_current_tenant()`: with
        // sequential scans priced out, every tenant table is then read through an index keyed by
        // the tenant (an OR in the policy would leave only a full scan).
        let f = try await Fixture.make()
        let tenant = try await f.signUp()
        for (table, column) in tenantTables {
            let plan = try await f.pool.withTransaction(tenant: tenant.id) { tx in
                _ = try await tx.query("SET LOCAL enable_seqscan = off")
                return try await tx.query("EXPLAIN SELECT * FROM \(table)").map { $0["QUERY PLAN"].string ?? "" }
            }.joined(separator: "\n")
            #expect(plan.contains("Index Cond: (\(column) = app_current_tenant())"), "\(table):\n\(plan)")
        }
        await f.shutdown()
    }

    @Test func theApplicationRoleOwnsNothingAndCannotBypassRowSecurity() async throws {
        let f = try await Fixture.make()
        let role = try #require(try await f.pool.query(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user").first)
        #expect(role["rolsuper"].bool == false && role["rolbypassrls"].bool == false)
        #expect(role["rolcreaterole"].bool == false && role["rolcreatedb"].bool == false)
        #expect(try await f.pool.query("SELECT current_user AS u").first?["u"].string == "waqtor_app")
        let owned = try await f.pool.query(
            "SELECT count(*) AS c FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = 'waqtor_app'")
        #expect(owned.first?["c"].int == 0)
        let ownedFunctions = try await f.pool.query(
            "SELECT count(*) AS c FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = 'waqtor_app'")
        #expect(ownedFunctions.first?["c"].int == 0)
        for (table, _) in tenantTables {
            let row = try #require(try await f.pool.query(
                """
                SELECT c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relname = $1
                """, [.text(table)]).first)
            #expect(row["relrowsecurity"].bool == true && row["relforcerowsecurity"].bool == true, "\(table)")
            #expect(row["owner"].string == "waqtor_owner", "\(table)")
        }
        // Every SECURITY DEFINER function is the owner's, pins its search_path, and PUBLIC may not run it.
        let definers = try await f.pool.query(
            """
            SELECT p.proname, pg_get_userbyid(p.proowner) AS owner, array_to_string(p.proconfig, ',') AS config,
                   has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND p.prosecdef
            """)
        #expect(definers.count >= 9)
        for row in definers {
            #expect(row["owner"].string == "waqtor_owner", "\(row["proname"].string ?? "")")
            #expect(row["config"].string == "search_path=public, pg_temp", "\(row["proname"].string ?? "")")
            #expect(row["public_exec"].bool == false, "\(row["proname"].string ?? "")")
        }
        await f.shutdown()
    }
}
