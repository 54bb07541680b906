import Foundation
import Testing
import WaqtorSecurity
import WaqtorPostgres
import WaqtorCore
import WaqtorTenants
import WaqtorInstances
import WaqtorTestSupport

@Suite("TenantStore (real server)")
struct TenantStoreTests {
    @Test func storedPasswordHashIsNotThePasswordAndDiffersBetweenTenants() async throws {
        let f = try await Fixture.make(hasher: PasswordHasher())
        let password = "same password for both"
        let a = try await f.signUp(password)
        let b = try await f.signUp(password)
        let hashes = try await f.owner.query("SELECT id::text AS id, password_hash FROM tenants WHERE id IN ($1, $2)",
                                             [.id(a.id), .id(b.id)])
        #expect(hashes.count == 2)
        let values = hashes.compactMap { $0["password_hash"].string }
        #expect(values.allSatisfy { $0 != password && !$0.contains(password) && $0.hasPrefix("$argon2id$v=19$m=65536,t=3,p=1$") })
        #expect(Set(values).count == 2)
        guard case .success(let session, let isAdmin) = try await f.store.login(email: a.email.uppercased(), password: password) else {
            Issue.record("login failed"); return
        }
        #expect(session.tenantID == a.id && !isAdmin && session.token.value.hasPrefix("wqs_"))
        #expect(try await f.store.login(email: a.email, password: password + "x") == .invalidCredentials)
        #expect(try await f.store.login(email: Fixture.email("nobody"), password: password) == .invalidCredentials)
        // The token itself is not stored, only its SHA-256.
        let stored = try await f.owner.query("SELECT token_hash FROM sessions WHERE id = $1", [.uuid(session.id)]).first?["token_hash"].bytes
        #expect(stored == session.token.hash && stored != Array(session.token.value.utf8))
        await f.shutdown()
    }

    @Test func signUpReturnsTheProfileAndRefusesATakenEmailCaseInsensitively() async throws {
        let f = try await Fixture.make()
        let email = Fixture.email()
        let profile = try await f.store.signUp(name: "Ada", email: email, password: "pw-123456", timeZone: "Asia/Riyadh")
        #expect(profile.name == "Ada" && profile.email == email && profile.timeZone == "Asia/Riyadh")
        #expect(profile.planID == "free" && profile.status == .active && !profile.isAdmin)
        await #expect { _ = try await f.store.signUp(name: "Eve", email: email.uppercased(), password: "x", timeZone: "UTC") }
            throws: { storeError($0) == .alreadyExists }
        let updated = try await f.store.updateProfile(tenantID: profile.id, name: "Ada L.")
        #expect(updated?.name == "Ada L." && updated?.timeZone == "Asia/Riyadh")
        #expect(try await f.store.updateProfile(tenantID: profile.id, timeZone: "UTC")?.timeZone == "UTC")
        #expect(try await f.store.profile(tenantID: profile.id)?.name == "Ada L.")
        #expect(try await f.store.profile(tenantID: TenantID.random()) == nil)
        await f.shutdown()
    }

    @Test func expiredAndRevokedSessionsAreRefused() async throws {
        let f = try await Fixture.make()
        let t = try await f.signUp()
        let live = try await f.store.createSession(tenantID: t.id, lifetime: .seconds(3600))
        let resolved = try await f.store.resolveSession(token: live.token.value)
        #expect(resolved?.tenantID == t.id && resolved?.sessionID == live.id && resolved?.status == .active)
        #expect(abs((resolved?.expiresAt.timeIntervalSinceNow ?? 0) - 3600) < 60)

        let expiring = try await f.store.createSession(tenantID: t.id, lifetime: .seconds(3600))
        _ = try await f.owner.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [.uuid(expiring.id)])
        #expect(try await f.store.resolveSession(token: expiring.token.value) == nil)

        #expect(try await f.store.revokeSession(tenantID: t.id, sessionID: live.id))
        #expect(try await f.store.resolveSession(token: live.token.value) == nil)
        #expect(try await f.store.resolveSession(token: "wqs_unknown") == nil)
        #expect(try await f.store.resolveSession(token: "garbage") == nil)
        #expect(try await f.store.resolveSession(token: SecretToken.generate(.apiKey).value) == nil)
        await f.shutdown()
    }

    @Test func apiKeysResolveWithTheirScopeUntilRevoked() async throws {
        let f = try await Fixture.make()
        let t = try await f.signUp()
        var issued = [IssuedAPIKey]()
        for scope in APIKeyScope.allCases {
            issued.append(try await f.store.createAPIKey(tenantID: t.id, name: "key \(scope)", scope: scope))
        }
        for key in issued {
            let resolved = try await f.store.resolveAPIKey(key: key.token.value)
            #expect(resolved?.tenantID == t.id && resolved?.scope == key.record.scope && resolved?.keyID == key.record.id)
            #expect(key.record.keyPrefix == key.token.displayPrefix && key.token.value.hasPrefix("wqk_"))
        }
        let listed = try await f.store.listAPIKeys(tenantID: t.id)
        #expect(Set(listed.map(\.id)) == Set(issued.map(\.record.id)))
        #expect(listed.allSatisfy { $0.lastUsedAt != nil }, "resolution marks keys used")

        #expect(try await f.store.revokeAPIKey(tenantID: t.id, keyID: issued[0].record.id))
        #expect(try await f.store.resolveAPIKey(key: issued[0].token.value) == nil)
        #expect(try await f.store.resolveAPIKey(key: issued[1].token.value) != nil)
        #expect(try await f.store.listAPIKeys(tenantID: t.id).count == 2)
        #expect(try await f.store.listAPIKeys(tenantID: t.id, includeRevoked: true).first { $0.id == issued[0].record.id }?.revokedAt != nil)
        #expect(try await f.store.resolveAPIKey(key: "wqk_" + String(repeating: "A", count: 43)) == nil)
        await f.shutdown()
    }

    @Test func passwordChangeRevokesTheOtherSessions() async throws {
        let f = try await Fixture.make()
        let t = try await f.signUp("old-password")
        let current = try await f.store.createSession(tenantID: t.id, lifetime: .seconds(3600))
        let other1 = try await f.store.createSession(tenantID: t.id, lifetime: .seconds(3600))
        let other2 = try await f.store.createSession(tenantID: t.id, lifetime: .seconds(3600))
        await #expect {
            try await f.store.changePassword(tenantID: t.id, currentPassword: "wrong", newPassword: "new-password", keepingSessionID: current.id)
        } throws: { storeError($0) == .invalidCredentials }
        #expect(try await f.store.resolveSession(token: other1.token.value) != nil)

        let revoked = try await f.store.changePassword(tenantID: t.id, currentPassword: "old-password", newPassword: "new-password",
                                                       keepingSessionID: current.id)
        #expect(revoked == 2)
        #expect(try await f.store.resolveSession(token: current.token.value) != nil)
        #expect(try await f.store.resolveSession(token: other1.token.value) == nil)
        #expect(try await f.store.resolveSession(token: other2.token.value) == nil)
        #expect(try await f.store.login(email: t.email, password: "old-password") == .invalidCredentials)
        guard case .success = try await f.store.login(email: t.email, password: "new-password") else {
            Issue.record("the new password does not log in"); return
        }
        await f.shutdown()
    }

    @Test func deletingAnAccountRemovesEveryRowOfThatTenantAndNothingOfAnother() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let a = try await f.populatedTenant(admin: admin)
        let b = try await f.populatedTenant(admin: admin)
        let aBefore = try await f.ownerCounts(a.profile.id)
        let bBefore = try await f.ownerCounts(b.profile.id)
        #expect(aBefore.values.allSatisfy { $0 >= 1 }, "\(aBefore)")
        #expect(try await f.store.deleteAccount(tenantID: a.profile.id))
        #expect(try await f.ownerCounts(a.profile.id).values.allSatisfy { $0 == 0 })
        #expect(try await f.ownerCounts(b.profile.id) == bBefore)
        #expect(try await f.store.resolveSession(token: a.session.token.value) == nil)
        #expect(try await f.store.resolveAPIKey(key: a.key.token.value) == nil)
        #expect(try await f.store.findForLogin(email: a.profile.email) == nil)
        #expect(try await !f.store.deleteAccount(tenantID: a.profile.id))
        // B cannot delete A-style: deleting B's account from A's scope does nothing.
        #expect(try await !f.store.deleteAccount(tenantID: a.profile.id))
        #expect(try await f.store.profile(tenantID: b.profile.id) != nil)
        // The administrator's plan_changes rows about B survive; those by the admin keep the admin.
        #expect(try await f.store.planChanges(tenantID: b.profile.id).first?.changedBy == admin.id)
        await f.shutdown()
    }

    @Test func plansUsageAndUpgradeRequests() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let t = try await f.signUp()
        let plans = try await f.store.plans()
        #expect(plans.map(\.id) == ["free", "starter", "pro", "business"])
        #expect(zip(plans, plans.dropFirst()).allSatisfy { $0.maxMessagesPerDay < $1.maxMessagesPerDay && $0.maxInstances < $1.maxInstances })

        var usage = try await f.store.planAndUsage(tenantID: t.id)
        #expect(usage.plan.id == "free" && usage.messagesSent == 0 && usage.aiDrafts == 0 && usage.day.count == 10)
        let totals = try await f.store.recordUsage(tenantID: t.id, messagesSent: 5)
        #expect(totals.messagesSent == 5 && totals.aiDrafts == 0)
        try await f.store.recordUsage(tenantID: t.id, messagesSent: 2, aiDrafts: 3)
        usage = try await f.store.planAndUsage(tenantID: t.id)
        #expect(usage.messagesSent == 7 && usage.aiDrafts == 3)

        let request = try await f.store.requestUpgrade(tenantID: t.id, planID: "pro", reason: "more numbers")
        #expect(request.state == .pending && request.requestedPlan == "pro" && request.tenantID == t.id)
        await #expect { _ = try await f.store.requestUpgrade(tenantID: t.id, planID: "business", reason: "again") }
            throws: { storeError($0) == .alreadyExists }
        let other = try await f.signUp()
        await #expect { _ = try await f.store.requestUpgrade(tenantID: other.id, planID: "platinum", reason: "") }
            throws: { storeError($0) == .invalidArgument }
        #expect(try await f.store.upgradeRequests(tenantID: t.id).map(\.id) == [request.id])
        #expect(try await f.store.upgradeRequests(tenantID: other.id).isEmpty)

        // Filtered by tenant: the database keeps other runs' pending requests, which an unfiltered
        // first page may not reach past.
        let pending = try await f.store.adminUpgradeRequests(adminID: admin.id, state: .pending, tenantID: t.id, limit: 500)
        let listed = try #require(pending.items.first { $0.id == request.id })
        #expect(pending.items.count == 1)
        let everyone = try await f.store.adminUpgradeRequests(adminID: admin.id, state: .pending, limit: 1)
        #expect(everyone.total >= pending.total)
        #expect(listed.tenantEmail?.lowercased() == t.email.lowercased() && listed.currentPlan == "free")
        #expect(pending.total >= 1)

        #expect(try await f.store.adminDecideUpgradeRequest(adminID: admin.id, requestID: request.id, grant: true, note: "paid by invoice") == .decided(.granted))
        #expect(try await f.store.adminDecideUpgradeRequest(adminID: admin.id, requestID: request.id, grant: false, note: "") == .alreadyDecided(.granted))
        await #expect { _ = try await f.store.adminDecideUpgradeRequest(adminID: admin.id, requestID: UUID().uuidString, grant: true, note: "") }
            throws: { storeError($0) == .notFound }
        #expect(try await f.store.planAndUsage(tenantID: t.id).plan.id == "pro")
        let decided = try #require(try await f.store.upgradeRequests(tenantID: t.id).first)
        #expect(decided.state == .granted && decided.decidedBy == admin.id && decided.decisionNote == "paid by invoice" && decided.decidedAt != nil)
        let change = try #require(try await f.store.planChanges(tenantID: t.id).first)
        #expect(change.fromPlan == "free" && change.toPlan == "pro" && change.changedBy == admin.id && change.reason == "paid by invoice")
        // A new request is possible once the previous one is decided.
        _ = try await f.store.requestUpgrade(tenantID: t.id, planID: "business", reason: "even more")
        await f.shutdown()
    }

    @Test func administratorOperationsAreRefusedToOthersAndWorkForAdministrators() async throws {
        let f = try await Fixture.make()
        let admin = try await f.admin()
        let t = try await f.signUp(name: "Searchable Person")
        // A tenant that is not an administrator gets permission denied, in the database.
        await #expect { _ = try await f.store.adminListTenants(adminID: t.id) } throws: { storeError($0) == .permissionDenied }
        await #expect { try await f.store.adminSetPlan(adminID: t.id, tenantID: t.id, planID: "business", reason: "me") }
            throws: { storeError($0) == .permissionDenied }
        await #expect { try await f.store.adminSetStatus(adminID: t.id, tenantID: admin.id, status: .suspended) }
            throws: { storeError($0) == .permissionDenied }
        await #expect { _ = try await f.store.adminUpgradeRequests(adminID: t.id) } throws: { storeError($0) == .permissionDenied }
        // Calling the functions with no tenant at all is refused as well.
        await #expect { _ = try await f.pool.query("SELECT * FROM admin_list_tenants(NULL, NULL, NULL, 10, 0)") }
            throws: { ($0 as? PostgresError)?.isInsufficientPrivilege == true }
        #expect(try await f.store.profile(tenantID: t.id)?.planID == "free")

        // Search by e-mail fragment and by name; paging.
        let local = String(t.email.split(separator: "@")[0])
        let found = try await f.store.adminListTenants(adminID: admin.id, search: local)
        #expect(found.items.map(\.id) == [t.id] && found.total == 1)
        #expect(try await f.store.adminListTenants(adminID: admin.id, search: local.uppercased()).total == 1)
        let pastTheEnd = try await f.store.adminListTenants(adminID: admin.id, search: local, offset: 5)
        #expect(pastTheEnd.items.isEmpty && pastTheEnd.total == 1)
        #expect(try await f.store.adminListTenants(adminID: admin.id, search: "%").items.allSatisfy { $0.name.contains("%") || $0.email.contains("%") })
        let page = try await f.store.adminListTenants(adminID: admin.id, limit: 2)
        #expect(page.items.count == 2 && page.total >= 2)

        try await f.store.adminSetPlan(adminID: admin.id, tenantID: t.id, planID: "business", reason: "enterprise deal")
        #expect(try await f.store.profile(tenantID: t.id)?.planID == "business")
        let change = try #require(try await f.store.planChanges(tenantID: t.id).first)
        #expect(change.fromPlan == "free" && change.toPlan == "business" && change.changedBy == admin.id && change.reason == "enterprise deal")
        await #expect { try await f.store.adminSetPlan(adminID: admin.id, tenantID: t.id, planID: "platinum", reason: "") }
            throws: { storeError($0) == .invalidArgument }
        await #expect { try await f.store.adminSetPlan(adminID: admin.id, tenantID: TenantID.random(), planID: "pro", reason: "") }
            throws: { storeError($0) == .notFound }

        // Suspension: sessions and keys resolve with the status (so calls are refused), login says
        // suspended; reactivation restores them.
        let session = try await f.store.createSession(tenantID: t.id, lifetime: .seconds(3600))
        let key = try await f.store.createAPIKey(tenantID: t.id, name: "k", scope: .full)
        try await f.store.adminSetStatus(adminID: admin.id, tenantID: t.id, status: .suspended)
        #expect(try await f.store.profile(tenantID: t.id)?.status == .suspended)
        #expect(try await f.store.resolveSession(token: session.token.value)?.status == .suspended)
        #expect(try await f.store.resolveAPIKey(key: key.token.value)?.status == .suspended)
        #expect(try await f.store.login(email: t.email, password: "pw-123456") == .suspended(reason: ""))
        try await f.store.adminSetStatus(adminID: admin.id, tenantID: t.id, status: .active)
        #expect(try await f.store.resolveAPIKey(key: key.token.value)?.status == .active)
        #expect(try await f.store.resolveSession(token: session.token.value)?.status == .active)
        guard case .success = try await f.store.login(email: t.email, password: "pw-123456") else {
            Issue.record("a reactivated tenant cannot log in"); return
        }
        // A suspended administrator is no longer one.
        let admin2 = try await f.admin()
        try await f.store.adminSetStatus(adminID: admin.id, tenantID: admin2.id, status: .suspended)
        await #expect { _ = try await f.store.adminListTenants(adminID: admin2.id) } throws: { storeError($0) == .permissionDenied }
        await f.shutdown()
    }
}
