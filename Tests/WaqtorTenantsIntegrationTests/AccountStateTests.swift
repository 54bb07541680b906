import Foundation
import Testing
import WaqtorSecurity
import WaqtorPostgres
import WaqtorCore
import WaqtorTenants
import WaqtorInstances
import WaqtorTestSupport

/// What migration 0006 stores: suspension reasons, API key expiry, withdrawn upgrade requests;
/// and the counts and reset times the store reports.
@Suite("Account state (real server)")
struct AccountStateTests {
    @Test func theSuspensionReasonIsStoredShownWithEveryCredentialAndClearedOnReactivation() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let t = try await f.signUp(name: "Suspended Co")
        let session = try await f.store.createSession(tenantID: t.id, lifetime: .seconds(3600))
        let key = try await f.store.createAPIKey(tenantID: t.id, name: "k", scope: .full)
        try await f.store.adminSetStatus(adminID: admin.id, tenantID: t.id, status: .suspended, reason: "unpaid invoice 2024-17")

        #expect(try await f.store.profile(tenantID: t.id)?.suspensionReason == "unpaid invoice 2024-17")
        #expect(try await f.store.resolveSession(token: session.token.value)?.suspensionReason == "unpaid invoice 2024-17")
        #expect(try await f.store.resolveAPIKey(key: key.token.value)?.suspensionReason == "unpaid invoice 2024-17")
        #expect(try await f.store.login(email: t.email, password: "pw-123456") == .suspended(reason: "unpaid invoice 2024-17"))
        let local = String(t.email.split(separator: "@")[0])
        let listed = try #require(try await f.store.adminListTenants(adminID: admin.id, search: local).items.first)
        #expect(listed.suspensionReason == "unpaid invoice 2024-17" && listed.status == .suspended)
        #expect(listed.timeZone == "Europe/Berlin" && listed.updatedAt >= listed.createdAt)

        // The tenant cannot clear it: the application role has no UPDATE on the column.
        await #expect { try await f.pool.withTransaction(tenant: t.id) { tx in
            try await tx.query("UPDATE tenants SET suspension_reason = NULL WHERE id = $1", [.id(t.id)])
        } } throws: { ($0 as? PostgresError)?.isInsufficientPrivilege == true }

        try await f.store.adminSetStatus(adminID: admin.id, tenantID: t.id, status: .active)
        #expect(try await f.store.profile(tenantID: t.id)?.suspensionReason == nil)
        #expect(try await f.store.resolveSession(token: session.token.value)?.suspensionReason == nil)
        await f.shutdown()
    }

    @Test func anExpiredAPIKeyResolvesAsExpiredAndIsNotMarkedUsed() async throws {
        let f = try await Fixture.make()
        let t = try await f.signUp()
        let inAnHour = Date().addingTimeInterval(3600)
        let expiring = try await f.store.createAPIKey(tenantID: t.id, name: "ci", scope: .readOnly, expiresAt: inAnHour)
        let forever = try await f.store.createAPIKey(tenantID: t.id, name: "forever", scope: .readOnly)
        #expect(abs((expiring.record.expiresAt ?? .distantPast).timeIntervalSince(inAnHour)) < 0.001)
        #expect(forever.record.expiresAt == nil)
        let live = try #require(try await f.store.resolveAPIKey(key: expiring.token.value))
        #expect(!live.isExpired && live.expiresAt != nil)
        #expect(try await f.store.resolveAPIKey(key: forever.token.value)?.isExpired == false)

        // Expiry moved into the past by the owner (the app role cannot change it: fixed at creation).
        await #expect { try await f.pool.withTransaction(tenant: t.id) { tx in
            try await tx.query("UPDATE api_keys SET expires_at = now() + interval '1 year' WHERE id = $1", [.uuid(expiring.record.id)])
        } } throws: { ($0 as? PostgresError)?.isInsufficientPrivilege == true }
        _ = try await f.owner.query("UPDATE api_keys SET expires_at = now() - interval '1 second', last_used_at = NULL WHERE id = $1",
                                    [.uuid(expiring.record.id)])
        let expired = try #require(try await f.store.resolveAPIKey(key: expiring.token.value))
        #expect(expired.isExpired && expired.tenantID == t.id)
        let listed = try #require(try await f.store.listAPIKeys(tenantID: t.id).first { $0.id == expiring.record.id })
        #expect(listed.expiresAt != nil && listed.lastUsedAt == nil, "an expired key is listed, and its refused use is not recorded")
        // Revoked wins: no row at all.
        #expect(try await f.store.revokeAPIKey(tenantID: t.id, keyID: expiring.record.id))
        #expect(try await f.store.resolveAPIKey(key: expiring.token.value) == nil)
        await f.shutdown()
    }

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

    @Test func aRefusedDailyQuotaSaysWhenTheTenantsDayEnds() async throws {
        let f = try await Fixture.make()
        // Kiritimati is UTC+14: its day ends at a different instant than UTC's or Berlin's.
        let t = try await f.store.signUp(name: "Far East", email: Fixture.email(), password: "pw-123456", timeZone: "Pacific/Kiritimati")
        let limit = try await f.store.planAndUsage(tenantID: t.id).plan.maxAIDraftsPerDay
        #expect(try await f.store.consumeDailyQuota(tenantID: t.id, .aiDrafts, count: limit) == .granted(used: limit, limit: limit))
        guard case .exceeded(let used, let max, let plan, let zone, let resetIn) = try await f.store.consumeDailyQuota(tenantID: t.id, .aiDrafts, count: 1) else {
            Issue.record("the quota was not refused"); return
        }
        #expect(used == limit && max == limit && plan == "free" && zone == "Pacific/Kiritimati")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "Pacific/Kiritimati"))
        let midnight = try #require(calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: Date())))
        let expected = midnight.timeIntervalSinceNow * 1000
        #expect(abs(Double(resetIn) - expected) < 5000, "reset in \(resetIn) ms, the zone's midnight is in \(Int(expected)) ms")
        await f.shutdown()
    }

    @Test func settingThePlanWithdrawsAPendingRequestItMeets() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let t = try await f.signUp()
        // A plan below the requested one leaves the request pending.
        let request = try await f.store.requestUpgrade(tenantID: t.id, planID: "pro", reason: "more numbers")
        try await f.store.adminSetPlan(adminID: admin.id, tenantID: t.id, planID: "starter", reason: "trial")
        #expect(try await f.store.upgradeRequests(tenantID: t.id).first?.state == .pending)
        // The requested plan or a higher one withdraws it, recording who and why.
        try await f.store.adminSetPlan(adminID: admin.id, tenantID: t.id, planID: "business", reason: "annual contract")
        let withdrawn = try #require(try await f.store.upgradeRequests(tenantID: t.id).first { $0.id == request.id })
        #expect(withdrawn.state == .cancelled && withdrawn.decidedBy == admin.id && withdrawn.decidedAt != nil)
        #expect(withdrawn.decisionNote?.contains("business") == true)
        let cancelled = try await f.store.adminUpgradeRequests(adminID: admin.id, state: .cancelled, tenantID: t.id)
        #expect(cancelled.items.map(\.id) == [request.id])
        #expect(try await f.store.adminDecideUpgradeRequest(adminID: admin.id, requestID: request.id, grant: true, note: "")
                == .alreadyDecided(.cancelled))
        // A new request can be made once it is withdrawn.
        _ = try await f.store.requestUpgrade(tenantID: t.id, planID: "business", reason: "wait, no")
        await #expect { _ = try await f.store.requestUpgrade(tenantID: t.id, planID: "business", reason: "again") }
            throws: { storeError($0) == .alreadyExists }
        await f.shutdown()
    }

    @Test func theDeletedFilterListsNothingBecauseDeletionRemovesTheAccount() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let t = try await f.signUp()
        let local = String(t.email.split(separator: "@")[0])
        #expect(try await f.store.adminListTenants(adminID: admin.id, search: local, status: .active).total == 1)
        #expect(try await f.store.deleteAccount(tenantID: t.id))
        let deleted = try await f.store.adminListTenants(adminID: admin.id, search: local, status: .deleted)
        #expect(deleted.items.isEmpty && deleted.total == 0)
        #expect(try await f.store.adminListTenants(adminID: admin.id, status: .deleted).total == 0)
        #expect(try await f.store.adminListTenants(adminID: admin.id, search: local).total == 0)
        await f.shutdown()
    }

    @Test func tenantsAreListedNewestFirst() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let marker = TestEnvironment.uniqueName("order")
        var made = [TenantID]()
        for index in 0..<3 {
            made.append(try await f.store.signUp(name: "\(marker) \(index)", email: Fixture.email(), password: "pw-123456", timeZone: "UTC").id)
        }
        let listed = try await f.store.adminListTenants(adminID: admin.id, search: marker)
        #expect(listed.items.map(\.id) == made.reversed())
        await f.shutdown()
    }
}
