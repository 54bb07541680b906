import WaqtorSecurity
import Foundation
import Testing
@testable import WaqtorApp
@testable import WaqtorAPI
@testable import WaqtorWebhooks
import WaqtorInstances
import WaqtorCore
import WaqtorProto
import WaqtorRPC
import WaqtorPostgres
import WaqtorTenants
import WaqtorTestSupport

/// A signed-up account as tests use it.
struct Account {
    var tenant: Waqtor_V1_Tenant
    var token: String
    var email: String
    var password: String
    var auth: CallOptions { .bearer(token) }
}

extension CallOptions {
    static func bearer(_ token: String) -> CallOptions {
        CallOptions(metadata: ["authorization": "Bearer \(token)"])
    }
}

func signUp(_ tenants: Waqtor_V1_TenantServiceClient, name: String = "Acme Trading", password: String = "correct horse battery") async throws -> Account {
    var request = Waqtor_V1_SignUpRequest()
    request.name = name
    request.email = TestEnvironment.uniqueName("user") + "@example.com"
    request.password = password
    request.timeZone = "Africa/Cairo"
    let response = try await tenants.signUp(request)
    return Account(tenant: try #require(response.tenant), token: try #require(response.session).token, email: request.email, password: password)
}

func rpcCode(_ body: () async throws -> Void) async -> RPCStatusCode? {
    do {
        try await body()
        return .ok
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}

func tenantTestConfiguration() -> WaqtorConfiguration {
    var configuration = testConfiguration()
    configuration.authLoginMaxFailures = 3
    configuration.mediaRoot = FileManager.default.temporaryDirectory.appendingPathComponent("waqtor-media-\(UUID().uuidString)").path
    return configuration
}

@Suite("TenantService over RPC")
struct TenantServiceTests {
    @Test("sign-up returns a tenant and a working session; every field is validated")
    func signUpAndValidation() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            #expect(account.tenant.planID == "free")
            #expect(account.tenant.state == .active)
            #expect(account.tenant.timeZone == "Africa/Cairo")
            #expect(account.token.hasPrefix("wqs_"))
            let profile = try await tenants.getProfile(.init(), options: account.auth)
            #expect(profile.tenant?.id == account.tenant.id)
            #expect(profile.tenant?.email == account.email)

            func attempt(_ edit: (inout Waqtor_V1_SignUpRequest) -> Void) async -> RPCError? {
                var request = Waqtor_V1_SignUpRequest()
                request.name = "Valid Name"
                request.email = TestEnvironment.uniqueName("v") + "@example.com"
                request.password = "long enough password"
                request.timeZone = "America/Sao_Paulo"
                edit(&request)
                do { _ = try await tenants.signUp(request); return nil } catch { return error }
            }
            for (field, edit) in [
                ("name", { (r: inout Waqtor_V1_SignUpRequest) in r.name = "  " }),
                ("email", { (r: inout Waqtor_V1_SignUpRequest) in r.email = "not-an-email" }),
                ("password", { (r: inout Waqtor_V1_SignUpRequest) in r.password = "short" }),
                ("time_zone", { (r: inout Waqtor_V1_SignUpRequest) in r.timeZone = "Mars/Olympus" }),
            ] {
                let error = await attempt(edit)
                #expect(error?.code == .invalidArgument, "\(field)")
                #expect(error?.message.contains(field) == true, "the message names \(field): \(error?.message ?? "")")
            }
            let duplicate = await attempt { $0.email = account.email.uppercased() }
            #expect(duplicate?.code == .alreadyExists)
        }
    }

    @Test("login, wrong passwords, throttling through Redis with a retry hint, logout")
    func loginAndThrottle() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            var login = Waqtor_V1_LoginRequest()
            login.email = account.email.uppercased()
            login.password = account.password
            let session = try await tenants.login(login)
            #expect(session.tenant?.id == account.tenant.id)
            let token = try #require(session.session?.token)

            var unknown = Waqtor_V1_LoginRequest()
            unknown.email = TestEnvironment.uniqueName("nobody") + "@example.com"
            unknown.password = "whatever it is"
            #expect(await rpcCode { _ = try await tenants.login(unknown) } == .unauthenticated)

            var wrong = login
            wrong.password = "not the password"
            for _ in 0..<3 {
                #expect(await rpcCode { _ = try await tenants.login(wrong) } == .unauthenticated)
            }
            do {
                _ = try await tenants.login(login)
                Issue.record("a throttled login went through")
            } catch {
                let rpcError = try #require(error as? RPCError)
                #expect(rpcError.code == .resourceExhausted)
                let retry = try #require(rpcError.metadata["retry-after-ms"].flatMap(Int.init))
                #expect(retry > 0)
            }

            // Logout ends that session only.
            _ = try await tenants.logout(.init(), options: .bearer(token))
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: .bearer(token)) } == .unauthenticated)
            _ = try await tenants.getProfile(.init(), options: account.auth)
        }
    }

    @Test("missing, malformed, unknown and expired credentials get UNAUTHENTICATED")
    func credentials() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init()) } == .unauthenticated)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: CallOptions(metadata: ["authorization": account.token])) } == .unauthenticated)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: .bearer("wqs_" + String(repeating: "A", count: 43))) } == .unauthenticated)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: .bearer("something-else")) } == .unauthenticated)
            let expired = try await app.tenants.createSession(tenantID: TenantID(trusted: account.tenant.id), lifetime: .seconds(-1))
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: .bearer(expired.token.value)) } == .unauthenticated)
            // Public methods need nothing.
            #expect(try await tenants.listPlans(.init()).plans.map(\.id) == ["free", "starter", "pro", "business"])
        }
    }

    @Test("profile update and password change (which ends the other sessions)")
    func profileAndPassword() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            var update = Waqtor_V1_UpdateProfileRequest()
            update.name = "Renamed Co"
            update.timeZone = "Europe/Lisbon"
            update.updatePaths = ["name", "time_zone"]
            let updated = try await tenants.updateProfile(update, options: account.auth)
            #expect(updated.tenant?.name == "Renamed Co")
            #expect(updated.tenant?.timeZone == "Europe/Lisbon")
            var badZone = Waqtor_V1_UpdateProfileRequest()
            badZone.timeZone = "Nowhere/Land"
            #expect(await rpcCode { _ = try await tenants.updateProfile(badZone, options: account.auth) } == .invalidArgument)

            var login = Waqtor_V1_LoginRequest()
            login.email = account.email
            login.password = account.password
            let other = try #require(try await tenants.login(login).session?.token)

            var change = Waqtor_V1_ChangePasswordRequest()
            change.currentPassword = "wrong current password"
            change.newPassword = "a brand new password"
            #expect(await rpcCode { _ = try await tenants.changePassword(change, options: account.auth) } == .permissionDenied)
            change.currentPassword = account.password
            change.newPassword = "short"
            #expect(await rpcCode { _ = try await tenants.changePassword(change, options: account.auth) } == .invalidArgument)
            change.newPassword = "a brand new password"
            _ = try await tenants.changePassword(change, options: account.auth)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: .bearer(other)) } == .unauthenticated)
            _ = try await tenants.getProfile(.init(), options: account.auth)
            login.password = "a brand new password"
            _ = try await tenants.login(login)
        }
    }

    @Test("API keys: shown once, scopes enforced, revocation refused at once")
    func apiKeys() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            func create(_ scope: Waqtor_V1_ApiKeyScope) async throws -> Waqtor_V1_CreateApiKeyResponse {
                var request = Waqtor_V1_CreateApiKeyRequest()
                request.name = "service \(scope)"
                request.scope = scope
                return try await tenants.createApiKey(request, options: account.auth)
            }
            let full = try await create(.full)
            let readOnly = try await create(.readOnly)
            let sendOnly = try await create(.sendOnly)
            #expect(full.secret.hasPrefix("wqk_"))
            var noScope = Waqtor_V1_CreateApiKeyRequest()
            noScope.name = "x"
            #expect(await rpcCode { _ = try await tenants.createApiKey(noScope, options: account.auth) } == .invalidArgument)

            let listed = try await tenants.listApiKeys(.init(), options: account.auth)
            #expect(listed.apiKeys.count == 3)
            let listedText = "\(listed)"
            #expect(!listedText.contains(full.secret), "a listing never shows a secret")

            // A read-only key reads but cannot change anything; a send-only key cannot read.
            _ = try await tenants.getProfile(.init(), options: .bearer(readOnly.secret))
            var update = Waqtor_V1_UpdateProfileRequest()
            update.name = "Hijacked"
            #expect(await rpcCode { _ = try await tenants.updateProfile(update, options: .bearer(readOnly.secret)) } == .permissionDenied)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: .bearer(sendOnly.secret)) } == .permissionDenied)
            // Keys cannot log out or administer.
            #expect(await rpcCode { _ = try await tenants.logout(.init(), options: .bearer(full.secret)) } == .permissionDenied)
            #expect(await rpcCode { _ = try await tenants.adminListTenants(.init(), options: .bearer(full.secret)) } == .permissionDenied)
            _ = try await tenants.getProfile(.init(), options: .bearer(full.secret))

            var revoke = Waqtor_V1_RevokeApiKeyRequest()
            revoke.apiKeyID = try #require(full.apiKey?.id)
            let revoked = try await tenants.revokeApiKey(revoke, options: account.auth)
            #expect(revoked.apiKey?.revokeTime != nil)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: .bearer(full.secret)) } == .unauthenticated)
        }
    }

    @Test("plans, upgrade requests, and an administrator granting one by hand")
    func plansAndAdministration() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let customer = try await signUp(tenants, name: "Customer")
            let admin = try await signUp(tenants, name: "Operator")
            #expect(try await tenants.getMyPlan(.init(), options: customer.auth).plan?.id == "free")
            let usage = try await tenants.getUsage(.init(), options: customer.auth)
            #expect(usage.limits?.messagesPerDay ?? 0 > 0)
            #expect(usage.used?.messagesPerDay == 0)

            var upgrade = Waqtor_V1_RequestUpgradeRequest()
            upgrade.requestedPlanID = "pro"
            upgrade.reason = "We send 5,000 messages a day"
            let requested = try #require(try await tenants.requestUpgrade(upgrade, options: customer.auth).upgradeRequest)
            #expect(requested.state == .pending)
            #expect(await rpcCode { _ = try await tenants.requestUpgrade(upgrade, options: customer.auth) } == .alreadyExists)
            var downgrade = upgrade
            downgrade.requestedPlanID = "free"
            #expect(await rpcCode { _ = try await tenants.requestUpgrade(downgrade, options: customer.auth) } == .failedPrecondition)
            var unknownPlan = upgrade
            unknownPlan.requestedPlanID = "platinum"
            #expect(await rpcCode { _ = try await tenants.requestUpgrade(unknownPlan, options: customer.auth) } == .invalidArgument)
            #expect(try await tenants.listMyUpgradeRequests(.init(), options: customer.auth).upgradeRequests.map(\.id) == [requested.id])

            // Not an administrator yet.
            #expect(await rpcCode { _ = try await tenants.adminListUpgradeRequests(.init(), options: admin.auth) } == .permissionDenied)
            #expect(try await app.makeAdministrator(email: admin.email))

            var search = Waqtor_V1_AdminListTenantsRequest()
            search.query = customer.email
            #expect(try await tenants.adminListTenants(search, options: admin.auth).tenants.map(\.id) == [customer.tenant.id])

            var pending = Waqtor_V1_AdminListUpgradeRequestsRequest()
            pending.state = .pending
            pending.tenantID = customer.tenant.id
            #expect(try await tenants.adminListUpgradeRequests(pending, options: admin.auth).upgradeRequests.map(\.id) == [requested.id])
            var byPlanAndState = Waqtor_V1_AdminListTenantsRequest()
            byPlanAndState.query = customer.email
            byPlanAndState.planID = "pro"
            #expect(try await tenants.adminListTenants(byPlanAndState, options: admin.auth).tenants.isEmpty, "filters apply in the query")
            byPlanAndState.planID = "free"
            byPlanAndState.state = .active
            #expect(try await tenants.adminListTenants(byPlanAndState, options: admin.auth).tenants.map(\.id) == [customer.tenant.id])

            var grant = Waqtor_V1_AdminGrantUpgradeRequestRequest()
            grant.upgradeRequestID = requested.id
            grant.note = "verified by phone"
            let granted = try await tenants.adminGrantUpgradeRequest(grant, options: admin.auth)
            #expect(granted.upgradeRequest?.state == .granted)
            #expect(granted.upgradeRequest?.decidedBy == admin.tenant.id)
            #expect(granted.tenant?.planID == "pro")
            #expect(await rpcCode { _ = try await tenants.adminGrantUpgradeRequest(grant, options: admin.auth) } == .failedPrecondition)
            #expect(try await tenants.getMyPlan(.init(), options: customer.auth).plan?.id == "pro")

            var setPlan = Waqtor_V1_AdminSetTenantPlanRequest()
            setPlan.tenantID = customer.tenant.id
            setPlan.planID = "business"
            setPlan.reason = "annual contract"
            let changed = try await tenants.adminSetTenantPlan(setPlan, options: admin.auth)
            #expect(changed.tenant?.planID == "business")
            #expect(changed.change?.changedBy == admin.tenant.id)
            #expect(changed.change?.reason == "annual contract")
            setPlan.tenantID = UUID().uuidString
            #expect(await rpcCode { _ = try await tenants.adminSetTenantPlan(setPlan, options: admin.auth) } == .notFound)

            // Suspension: the customer's session and keys are refused with PERMISSION_DENIED, and login too.
            var keyRequest = Waqtor_V1_CreateApiKeyRequest()
            keyRequest.name = "worker"
            keyRequest.scope = .full
            let key = try await tenants.createApiKey(keyRequest, options: customer.auth).secret
            var suspend = Waqtor_V1_AdminSuspendTenantRequest()
            suspend.tenantID = customer.tenant.id
            suspend.reason = "spam reports"
            #expect(try await tenants.adminSuspendTenant(suspend, options: admin.auth).tenant?.state == .suspended)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: customer.auth) } == .permissionDenied)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: .bearer(key)) } == .permissionDenied)
            var login = Waqtor_V1_LoginRequest()
            login.email = customer.email
            login.password = customer.password
            #expect(await rpcCode { _ = try await tenants.login(login) } == .permissionDenied)
            var reactivate = Waqtor_V1_AdminReactivateTenantRequest()
            reactivate.tenantID = customer.tenant.id
            _ = try await tenants.adminReactivateTenant(reactivate, options: admin.auth)
            _ = try await tenants.getProfile(.init(), options: customer.auth)
        }
    }

    @Test("tenant A never reaches tenant B's things by id: NOT_FOUND and nothing changes")
    func crossTenant() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let a = try await signUp(tenants, name: "A")
            let b = try await signUp(tenants, name: "B")
            var keyRequest = Waqtor_V1_CreateApiKeyRequest()
            keyRequest.name = "b's key"
            keyRequest.scope = .full
            let bKey = try await tenants.createApiKey(keyRequest, options: b.auth)
            var revoke = Waqtor_V1_RevokeApiKeyRequest()
            revoke.apiKeyID = try #require(bKey.apiKey?.id)
            #expect(await rpcCode { _ = try await tenants.revokeApiKey(revoke, options: a.auth) } == .notFound)
            _ = try await tenants.getProfile(.init(), options: .bearer(bKey.secret))  // still works
            #expect(try await tenants.listApiKeys(.init(), options: a.auth).apiKeys.isEmpty)
            #expect(try await tenants.getProfile(.init(), options: a.auth).tenant?.id == a.tenant.id)
        }
    }

    @Test("account deletion needs the password and the email, and removes the tenant's rows and media")
    func deleteAccount() async throws {
        let configuration = tenantTestConfiguration()
        try await withApplication(configuration) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let other = try await signUp(tenants)
            let media = URL(fileURLWithPath: configuration.mediaRoot).appendingPathComponent(account.tenant.id)
            try FileManager.default.createDirectory(at: media, withIntermediateDirectories: true)
            try Data("image".utf8).write(to: media.appendingPathComponent("photo.jpg"))

            var request = Waqtor_V1_DeleteAccountRequest()
            request.password = account.password
            request.confirmEmail = "someone-else@example.com"
            #expect(await rpcCode { _ = try await tenants.deleteAccount(request, options: account.auth) } == .invalidArgument)
            request.confirmEmail = account.email
            request.password = "wrong password here"
            #expect(await rpcCode { _ = try await tenants.deleteAccount(request, options: account.auth) } == .permissionDenied)
            request.password = account.password
            _ = try await tenants.deleteAccount(request, options: account.auth)

            #expect(!FileManager.default.fileExists(atPath: media.path))
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: account.auth) } == .unauthenticated)
            var login = Waqtor_V1_LoginRequest()
            login.email = account.email
            login.password = account.password
            #expect(await rpcCode { _ = try await tenants.login(login) } == .unauthenticated)
            _ = try await tenants.getProfile(.init(), options: other.auth)
        }
    }
}

@Suite("Plan limits and more TenantService errors")
struct PlanQuotaTests {
    @Test("a daily quota is taken up to the plan's limit, then RESOURCE_EXHAUSTED names the limit")
    func dailyQuota() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let quota = PlanQuota(store: app.tenants)
            let limit = try #require(try await tenants.getUsage(.init(), options: account.auth).limits?.aiDraftsPerDay)
            // Concurrent consumers cannot slip past the limit together.
            let granted = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<Int(limit) + 5 {
                    group.addTask {
                        // Refused by the limit, or granted; anything else (a pool wait that ran out
                        // on a machine busy with the whole suite) is tried again, as a client would.
                        for _ in 0..<100 {
                            do {
                                try await quota.consume(tenantID: TenantID(trusted: account.tenant.id), .aiDrafts)
                                return true
                            } catch is PlanLimitReached {
                                return false
                            } catch {
                                try? await Task.sleep(for: .milliseconds(100))
                            }
                        }
                        return false
                    }
                }
                var count = 0
                for await ok in group where ok { count += 1 }
                return count
            }
            #expect(granted == Int(limit))
            do {
                try await quota.consume(tenantID: TenantID(trusted: account.tenant.id), .aiDrafts)
                Issue.record("consumed past the limit")
            } catch let limit as PlanLimitReached {
                let error = limit.rpcError
                #expect(error.code == .resourceExhausted)
                #expect(error.message.contains("AI drafts per day"))
                #expect(error.metadata["limit"] == "ai_drafts_per_day")
            }
            #expect(try await tenants.getUsage(.init(), options: account.auth).used?.aiDraftsPerDay == limit)
            let countLimit = await rpcError { try await quota.check(tenantID: TenantID(trusted: account.tenant.id), .whatsappInstances, current: 1) }
            #expect(countLimit?.code == .resourceExhausted && countLimit?.metadata["limit"] == "whatsapp_instances")
            try await quota.check(tenantID: TenantID(trusted: account.tenant.id), .whatsappInstances, current: 0)
        }
    }

    @Test("paging tokens, ids and administrator errors answer with the right codes")
    func moreErrors() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let admin = try await signUp(tenants, name: "Admin")
            #expect(try await app.makeAdministrator(email: admin.email))
            var badPage = Waqtor_V1_ListApiKeysRequest()
            badPage.pageToken = "not-a-token"
            #expect(await rpcCode { _ = try await tenants.listApiKeys(badPage, options: account.auth) } == .invalidArgument)
            var revoke = Waqtor_V1_RevokeApiKeyRequest()
            #expect(await rpcCode { _ = try await tenants.revokeApiKey(revoke, options: account.auth) } == .invalidArgument)
            revoke.apiKeyID = UUID().uuidString
            #expect(await rpcCode { _ = try await tenants.revokeApiKey(revoke, options: account.auth) } == .notFound)
            var suspend = Waqtor_V1_AdminSuspendTenantRequest()
            suspend.tenantID = UUID().uuidString
            suspend.reason = "x"
            #expect(await rpcCode { _ = try await tenants.adminSuspendTenant(suspend, options: admin.auth) } == .notFound)
            suspend.tenantID = admin.tenant.id
            #expect(await rpcCode { _ = try await tenants.adminSuspendTenant(suspend, options: admin.auth) } == .failedPrecondition)
            var reject = Waqtor_V1_AdminRejectUpgradeRequestRequest()
            reject.upgradeRequestID = UUID().uuidString
            #expect(await rpcCode { _ = try await tenants.adminRejectUpgradeRequest(reject, options: admin.auth) } == .notFound)
            var upgrade = Waqtor_V1_RequestUpgradeRequest()
            upgrade.requestedPlanID = "starter"
            upgrade.reason = "growing"
            let request = try #require(try await tenants.requestUpgrade(upgrade, options: account.auth).upgradeRequest)
            reject.upgradeRequestID = request.id
            reject.note = "not yet"
            #expect(try await tenants.adminRejectUpgradeRequest(reject, options: admin.auth).upgradeRequest?.state == .rejected)
            #expect(try await tenants.getMyPlan(.init(), options: account.auth).plan?.id == "free")
            var update = Waqtor_V1_UpdateProfileRequest()
            update.updatePaths = ["email"]
            #expect(await rpcCode { _ = try await tenants.updateProfile(update, options: account.auth) } == .invalidArgument)
        }
    }

    @Test("2 tenants x 200 concurrent calls: every answer is the caller's own")
    func concurrentIsolation() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let a = try await signUp(tenants, name: "A")
            let b = try await signUp(tenants, name: "B")
            for account in [a, b] {
                var key = Waqtor_V1_CreateApiKeyRequest()
                key.name = "key of \(account.tenant.name)"
                key.scope = .readOnly
                _ = try await tenants.createApiKey(key, options: account.auth)
            }
            let foreign = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<400 {
                    let account = index % 2 == 0 ? a : b
                    group.addTask {
                        // 800 calls at once through the server's pool can be answered "busy"
                        // (UNAVAILABLE with retry-after-ms) on a loaded machine: retried as a
                        // client should; what this test checks is whose rows come back.
                        let profile = try await retryingWhenBusy { try await tenants.getProfile(.init(), options: account.auth) }
                        let keys = try await retryingWhenBusy { try await tenants.listApiKeys(.init(), options: account.auth) }
                        var wrong = profile.tenant?.id == account.tenant.id ? 0 : 1
                        wrong += keys.apiKeys.filter { $0.name != "key of \(account.tenant.name)" }.count
                        return wrong
                    }
                }
                var total = 0
                for try await wrong in group { total += wrong }
                return total
            }
            #expect(foreign == 0)
        }
    }
}

/// Runs `call`, retrying (up to 20 times) while the server answers UNAVAILABLE, after the
/// `retry-after-ms` it gives.
func retryingWhenBusy<T: Sendable>(_ call: @Sendable () async throws -> T) async throws -> T {
    for _ in 0..<20 {
        do {
            return try await call()
        } catch let error as RPCError where error.code == .unavailable {
            let wait = Int(error.metadata[Metadata.Keys.retryAfterMilliseconds] ?? "") ?? 500
            try await Task.sleep(for: .milliseconds(wait))
        }
    }
    return try await call()
}
