import Foundation
import Testing
import WaqtorAuth
import WaqtorStore
import WaqtorTenants
import WaqtorTestSupport

/// What migration 0006 stores: suspension reasons, API key expiry, withdrawn upgrade requests;
/// and the counts and reset times the store reports.
@Suite("Account state (real server)")
struct AccountStateTests {
    @Test func usageCountsTheTenantsInstancesAndNoOneElses() async throws {
        let f = try await Fixture.make()
        let a = try await f.signUp()
        let b = try await f.signUp()
        let instances = InstanceStore(pool: f.pool)
        #expect(try await f.store.planAndUsage(tenantID: a.id).instances == 0)
        _ = try await instances.create(tenantID: a.id, displayName: "Sales")
        _ = try await instances.create(tenantID: a.id, displayName: "Support")
        _ = try await instances.create(tenantID: b.id, displayName: "Other")
        let usage = try await f.store.planAndUsage(tenantID: a.id)
        #expect(usage.instances == 2)
        #expect(usage.contacts == 0)
        #expect(try await f.store.planAndUsage(tenantID: b.id).instances == 1)
        await f.shutdown()
    }
}
