import NIOCore
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

/// A pool as the database owner, to set what no API call can (an expiry in the past).
func withOwnerPool<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
    let pool = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: 1))
    do {
        let result = try await body(pool)
        await pool.shutdown()
        return result
    } catch {
        await pool.shutdown()
        throw error
    }
}

/// An administrator's account (signed up, then made one as the operator would).
func signUpAdministrator(_ app: WaqtorApplication, _ tenants: Waqtor_V1_TenantServiceClient) async throws -> Account {
    let admin = try await signUp(tenants, name: "Operator")
    #expect(try await app.makeAdministrator(email: admin.email))
    return admin
}

@Suite("TenantService: what the documentation promises")
struct TenantAccountTests {
    @Test("GetUsage counts the tenant's WhatsApp instances; contacts are 0 until they are stored")
    func usageCounts() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let other = try await signUp(tenants)
            #expect(try await tenants.getUsage(.init(), options: account.auth).used?.whatsappInstances == 0)
            _ = try await app.instances.create(tenantID: TenantID(trusted: account.tenant.id), displayName: "Sales")
            _ = try await app.instances.create(tenantID: TenantID(trusted: other.tenant.id), displayName: "Other's")
            let usage = try await tenants.getUsage(.init(), options: account.auth)
            #expect(usage.used?.whatsappInstances == 1, "the free plan's one number shows as 1 of 1")
            #expect(usage.limits?.whatsappInstances == 1)
            #expect(usage.used?.contacts == 0)
        }
    }

    @Test("the suspension reason is stored, listed for administrators, told to the tenant at every refusal, and cleared on reactivation")
    func suspensionReason() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let customer = try await signUp(tenants, name: "Customer")
            let admin = try await signUpAdministrator(app, tenants)
            var keyRequest = Waqtor_V1_CreateApiKeyRequest()
            keyRequest.name = "worker"
            keyRequest.scope = .full
            let key = try await tenants.createApiKey(keyRequest, options: customer.auth).secret
            let reason = "payment overdue since March"

            var suspend = Waqtor_V1_AdminSuspendTenantRequest()
            suspend.tenantID = customer.tenant.id
            suspend.reason = "  "
            let blankRefused = await rpcError { _ = try await tenants.adminSuspendTenant(suspend, options: admin.auth) }
            #expect(blankRefused?.code == .invalidArgument)
            suspend.reason = reason
            #expect(try await tenants.adminSuspendTenant(suspend, options: admin.auth).tenant?.suspensionReason == reason)

            var search = Waqtor_V1_AdminListTenantsRequest()
            search.query = customer.email
            let listed = try #require(try await tenants.adminListTenants(search, options: admin.auth).tenants.first)
            #expect(listed.state == .suspended && listed.suspensionReason == reason)
            #expect(listed.timeZone == "Africa/Cairo" && listed.updateTime != nil, "the listing fills every Tenant field")

            let bySession = await rpcError { _ = try await tenants.getUsage(.init(), options: customer.auth) }
            let byKey = await rpcError { _ = try await tenants.getUsage(.init(), options: .bearer(key)) }
            for refused in [bySession, byKey] {
                #expect(refused?.code == .permissionDenied)
                #expect(refused?.message.contains(reason) == true, "\(refused?.message ?? "")")
            }
            var login = Waqtor_V1_LoginRequest()
            login.email = customer.email
            login.password = customer.password
            let loginRefused = await rpcError { _ = try await tenants.login(login) }
            #expect(loginRefused?.code == .permissionDenied && loginRefused?.message.contains(reason) == true)
            // A wrong password learns nothing about the account.
            login.password = "not the password at all"
            let wrong = await rpcError { _ = try await tenants.login(login) }
            #expect(wrong?.code == .unauthenticated && wrong?.message.contains(reason) == false)

            var reactivate = Waqtor_V1_AdminReactivateTenantRequest()
            reactivate.tenantID = customer.tenant.id
            reactivate.reason = "paid"
            #expect(try await tenants.adminReactivateTenant(reactivate, options: admin.auth).tenant?.suspensionReason == "")
            let profile = try await tenants.getProfile(.init(), options: customer.auth)
            #expect(profile.tenant?.state == .active && profile.tenant?.suspensionReason == "")
        }
    }

    @Test("AdminListTenants{DELETED} answers (no tenant: deletion removes the account), AdminListUpgradeRequests{CANCELLED} lists withdrawn requests")
    func deletedAndCancelledFilters() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let customer = try await signUp(tenants, name: "Customer")
            let leaving = try await signUp(tenants, name: "Leaving")
            let admin = try await signUpAdministrator(app, tenants)

            var upgrade = Waqtor_V1_RequestUpgradeRequest()
            upgrade.requestedPlanID = "pro"
            upgrade.reason = "growing"
            let requested = try #require(try await tenants.requestUpgrade(upgrade, options: customer.auth).upgradeRequest)
            var setPlan = Waqtor_V1_AdminSetTenantPlanRequest()
            setPlan.tenantID = customer.tenant.id
            setPlan.planID = "business"
            setPlan.reason = "annual contract"
            _ = try await tenants.adminSetTenantPlan(setPlan, options: admin.auth)

            var cancelled = Waqtor_V1_AdminListUpgradeRequestsRequest()
            cancelled.state = .cancelled
            cancelled.tenantID = customer.tenant.id
            let withdrawn = try await tenants.adminListUpgradeRequests(cancelled, options: admin.auth).upgradeRequests
            #expect(withdrawn.map(\.id) == [requested.id])
            #expect(withdrawn.first?.state == .cancelled && withdrawn.first?.decidedBy == admin.tenant.id)
            #expect(try await tenants.listMyUpgradeRequests(.init(), options: customer.auth).upgradeRequests.first?.state == .cancelled)
            var grant = Waqtor_V1_AdminGrantUpgradeRequestRequest()
            grant.upgradeRequestID = requested.id
            #expect(await rpcCode { _ = try await tenants.adminGrantUpgradeRequest(grant, options: admin.auth) } == .failedPrecondition)

            var delete = Waqtor_V1_DeleteAccountRequest()
            delete.password = leaving.password
            delete.confirmEmail = leaving.email
            _ = try await tenants.deleteAccount(delete, options: leaving.auth)
            var deleted = Waqtor_V1_AdminListTenantsRequest()
            deleted.state = .deleted
            deleted.query = leaving.email
            let page = try await tenants.adminListTenants(deleted, options: admin.auth)
            #expect(page.tenants.isEmpty && page.nextPageToken.isEmpty)
            deleted.query = ""
            #expect(try await tenants.adminListTenants(deleted, options: admin.auth).tenants.isEmpty)
            var unknown = Waqtor_V1_AdminListTenantsRequest()
            unknown.state = .UNRECOGNIZED(9)
            #expect(await rpcCode { _ = try await tenants.adminListTenants(unknown, options: admin.auth) } == .invalidArgument)
        }
    }

    @Test("the server reads the time from its injected clock: key expiry is judged and the usage day bounded by it")
    func injectedClock() async throws {
        // 2031-03-10 22:30 UTC: in Cairo (UTC+2, no daylight saving) already 2031-03-11 00:30.
        let clock = TestClock(start: Date(timeIntervalSince1970: 1_930_948_200))
        try await withApplication(tenantTestConfiguration(), clock: clock) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            var request = Waqtor_V1_CreateApiKeyRequest()
            request.name = "clock"
            request.scope = .readOnly
            // A year from the real now is in the past for this clock: refused, naming its time.
            request.expireTime = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(365 * 86_400))
            let refused = await rpcError { _ = try await tenants.createApiKey(request, options: account.auth) }
            #expect(refused?.code == .invalidArgument)
            #expect(refused?.message.contains("2031-03-10T22:30:00") == true, "\(refused?.message ?? "")")
            // An hour after the clock's now is accepted.
            request.expireTime = Google_Protobuf_Timestamp(date: clock.now().addingTimeInterval(3600))
            _ = try await tenants.createApiKey(request, options: account.auth)
            // The usage day is the tenant's local day around the clock's now.
            let usage = try await tenants.getUsage(.init(), options: account.auth)
            let start = try #require(usage.dayStartTime).date, end = try #require(usage.dayEndTime).date
            #expect(start == Date(timeIntervalSince1970: 1_930_946_400), "local midnight of 2031-03-11 in Cairo: 22:00 UTC the day before")
            #expect(end == start.addingTimeInterval(86_400))
            clock.advance(by: .seconds(3600))
            let later = try await tenants.getUsage(.init(), options: account.auth)
            #expect(later.dayStartTime?.date == start)
        }
    }

    @Test("expiring API keys: validated, listed with their expiry, refused with UNAUTHENTICATED once it passed")
    func expiringKeys() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            var request = Waqtor_V1_CreateApiKeyRequest()
            request.name = "quarterly job"
            request.scope = .readOnly

            for (seconds, nanos) in [(-60.0, Int32(0)), (0, 0), (3654 * 86_400, 0), (3600, -1), (3600, 1_000_000_000)] {
                var bad = request
                bad.expireTime = Google_Protobuf_Timestamp(timeIntervalSince1970: Date().timeIntervalSince1970 + seconds)
                if nanos != 0 { bad.expireTime?.nanos = nanos }
                let refused = await rpcError { _ = try await tenants.createApiKey(bad, options: account.auth) }
                #expect(refused?.code == .invalidArgument, "\(seconds) s, \(nanos) ns")
                #expect(refused?.message.contains("expire_time") == true, "\(refused?.message ?? "")")
            }

            let expiry = Date().addingTimeInterval(3600)
            request.expireTime = Google_Protobuf_Timestamp(date: expiry)
            let created = try await tenants.createApiKey(request, options: account.auth)
            let key = try #require(created.apiKey)
            #expect(abs((key.expireTime?.date ?? .distantPast).timeIntervalSince(expiry)) < 0.001)
            _ = try await tenants.getUsage(.init(), options: .bearer(created.secret))
            let listed = try #require(try await tenants.listApiKeys(.init(), options: account.auth).apiKeys.first { $0.id == key.id })
            #expect(listed.expireTime == key.expireTime)

            // The stored expiry is set in the past as the owner: no waiting for a clock.
            _ = try await withOwnerPool { owner in
                try await owner.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [.uuid(key.id)])
            }
            let refused = await rpcError { _ = try await tenants.getUsage(.init(), options: .bearer(created.secret)) }
            #expect(refused?.code == .unauthenticated)
            #expect(refused?.message.contains("expired") == true, "\(refused?.message ?? "")")
            #expect(refused?.message.contains(created.secret) == false)
            let afterwards = try #require(try await tenants.listApiKeys(.init(), options: account.auth).apiKeys.first { $0.id == key.id })
            #expect((afterwards.expireTime?.date ?? .distantFuture) < Date(), "an expired key stays listed with its expiry")
        }
    }

    @Test("a daily plan limit's RESOURCE_EXHAUSTED carries retry-after-ms until the tenant's day ends")
    func dailyLimitRetryAfter() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let quota = PlanQuota(store: app.tenants)
            let usage = try await tenants.getUsage(.init(), options: account.auth)
            let limit = try #require(usage.limits?.aiDraftsPerDay)
            try await quota.consume(tenantID: TenantID(trusted: account.tenant.id), .aiDrafts, count: Int(limit))
            let refused = await rpcError { try await quota.consume(tenantID: TenantID(trusted: account.tenant.id), .aiDrafts) }
            #expect(refused?.code == .resourceExhausted)
            let retryAfter = try #require(refused?.metadata["retry-after-ms"].flatMap(Int.init))
            // The same instant GetUsage gives as day_end_time (the tenant's next local midnight).
            let dayEnd = try #require(usage.dayEndTime).date
            #expect(abs(Double(retryAfter) - dayEnd.timeIntervalSinceNow * 1000) < 5000, "retry after \(retryAfter) ms")
            #expect(refused?.message.contains("Africa/Cairo") == true)
            // A count limit gets none: waiting does not help.
            let counted = await rpcError { try await quota.check(tenantID: TenantID(trusted: account.tenant.id), .whatsappInstances, current: 1) }
            #expect(counted?.code == .resourceExhausted && counted?.metadata["retry-after-ms"] == nil)
        }
    }

    @Test("ALREADY_EXISTS names what exists: the email typed at sign-up, the pending upgrade request")
    func alreadyExistsMessages() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            var again = Waqtor_V1_SignUpRequest()
            again.name = "Someone Else"
            again.email = account.email.uppercased()
            again.password = "another long password"
            again.timeZone = "UTC"
            let duplicate = await rpcError { _ = try await tenants.signUp(again) }
            #expect(duplicate?.code == .alreadyExists)
            #expect(duplicate?.message.contains("an account with email \(again.email) already exists") == true, "\(duplicate?.message ?? "")")
            #expect(duplicate?.message.contains(account.tenant.id) == false && duplicate?.message.contains("Acme") == false)

            var upgrade = Waqtor_V1_RequestUpgradeRequest()
            upgrade.requestedPlanID = "pro"
            upgrade.reason = "growing"
            let pending = try #require(try await tenants.requestUpgrade(upgrade, options: account.auth).upgradeRequest)
            upgrade.requestedPlanID = "business"
            let second = await rpcError { _ = try await tenants.requestUpgrade(upgrade, options: account.auth) }
            #expect(second?.code == .alreadyExists)
            #expect(second?.message.contains("'pro'") == true && second?.message.contains(pending.id) == true, "\(second?.message ?? "")")
        }
    }

    @Test("a FULL key does everything but manage the account (profile, password, keys, plan requests, deletion)")
    func fullKeyScope() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            let account = try await signUp(tenants)
            var create = Waqtor_V1_CreateApiKeyRequest()
            create.name = "integration"
            create.scope = .full
            let full = try await tenants.createApiKey(create, options: account.auth)
            let key = CallOptions.bearer(full.secret)

            _ = try await tenants.getProfile(.init(), options: key)
            _ = try await tenants.listApiKeys(.init(), options: key)
            _ = try await tenants.getUsage(.init(), options: key)
            _ = try await instances.listInstances(.init(), options: key)

            var update = Waqtor_V1_UpdateProfileRequest()
            update.name = "Renamed by a key"
            var password = Waqtor_V1_ChangePasswordRequest()
            password.currentPassword = account.password
            password.newPassword = "taken over by a key"
            var revoke = Waqtor_V1_RevokeApiKeyRequest()
            revoke.apiKeyID = try #require(full.apiKey?.id)
            var upgrade = Waqtor_V1_RequestUpgradeRequest()
            upgrade.requestedPlanID = "pro"
            upgrade.reason = "x"
            var delete = Waqtor_V1_DeleteAccountRequest()
            delete.password = account.password
            delete.confirmEmail = account.email
            let refusals: [(String, () async throws -> Void)] = [
                ("UpdateProfile", { _ = try await tenants.updateProfile(update, options: key) }),
                ("ChangePassword", { _ = try await tenants.changePassword(password, options: key) }),
                ("CreateApiKey", { _ = try await tenants.createApiKey(create, options: key) }),
                ("RevokeApiKey", { _ = try await tenants.revokeApiKey(revoke, options: key) }),
                ("RequestUpgrade", { _ = try await tenants.requestUpgrade(upgrade, options: key) }),
                ("DeleteAccount", { _ = try await tenants.deleteAccount(delete, options: key) }),
            ]
            for (method, call) in refusals {
                let refused = await rpcError(call)
                #expect(refused?.code == .permissionDenied, "\(method)")
                #expect(refused?.message.contains("needs a session") == true, "\(method): \(refused?.message ?? "")")
            }
            // Nothing changed, and the same calls work with the session.
            #expect(try await tenants.getProfile(.init(), options: account.auth).tenant?.name == account.tenant.name)
            #expect(try await tenants.listApiKeys(.init(), options: account.auth).apiKeys.count == 1)
            _ = try await tenants.createApiKey(create, options: account.auth)

            // Writes of the other services stay open to full keys (and closed to the narrower ones).
            let interceptor = AuthInterceptor(tenants: TenantStore(pool: PostgresPool(configuration: .init(connectionString: TestEnvironment.databaseURL))))
            for method in ["waqtor.v1.InstanceService/CreateInstance", "waqtor.v1.InstanceService/DeleteInstance", "waqtor.v1.InstanceService/GetQrCode"] {
                let access = try #require(AccessRules.access(for: method))
                #expect(access == .tenant(.write), "\(method)")
                #expect((try? interceptor.authorize(Principal(tenantID: TenantID.random(), credential: .apiKey(id: "k", scope: .full), isAdmin: false), access, method: method)) != nil)
            }
        }
    }

    @Test("authorization values: Bearer for both kinds, ApiKey for keys, any letter case, spaces between; nothing else")
    func authorizationParsing() throws {
        let session = "wqs_" + String(repeating: "A", count: 43)
        let key = "wqk_" + String(repeating: "B", count: 43)
        let accepted: [(String, AuthorizationValue)] = [
            ("Bearer \(session)", .session(session)), ("Bearer \(key)", .apiKey(key)),
            ("bearer \(session)", .session(session)), ("BEARER \(key)", .apiKey(key)),
            ("ApiKey \(key)", .apiKey(key)), ("apikey \(key)", .apiKey(key)), ("APIKEY \(key)", .apiKey(key)),
            ("Bearer    \(session)", .session(session)), ("  Bearer \(session)  ", .session(session)),
        ]
        for (value, expected) in accepted {
            #expect(try AuthorizationValue.parse(value) == expected, "\(value)")
        }
        let refused = [
            session, "Bearer", "Bearer ", "ApiKey \(session)", "Basic \(key)", "Token \(key)", "Bearer-\(key)",
            "Bearer\t\(session)", "Bearer \(session) extra", "Bearer \(session)\t", "Api-Key \(key)", "Bearer something-else",
        ]
        for value in refused {
            do {
                _ = try AuthorizationValue.parse(value)
                Issue.record("accepted \(value)")
            } catch {
                #expect(error.code == .unauthenticated, "\(value)")
                #expect(!error.message.contains("AAAA") && !error.message.contains("BBBB"), "the message never quotes the credential: \(error.message)")
            }
        }
    }

    @Test("over RPC: ApiKey works for keys in any case and is refused for sessions; the credential is checked before the body")
    func authorizationOverRPC() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            var create = Waqtor_V1_CreateApiKeyRequest()
            create.name = "reader"
            create.scope = .readOnly
            let key = try await tenants.createApiKey(create, options: account.auth).secret
            func with(_ value: String) -> CallOptions { CallOptions(metadata: ["authorization": value]) }

            _ = try await tenants.getProfile(.init(), options: with("apikey \(key)"))
            _ = try await tenants.getProfile(.init(), options: with("BEARER  \(account.token)"))
            let misnamed = await rpcError { _ = try await tenants.getProfile(.init(), options: with("ApiKey \(account.token)")) }
            #expect(misnamed?.code == .unauthenticated && misnamed?.message.contains("Bearer") == true)
            #expect(await rpcCode { _ = try await tenants.getProfile(.init(), options: with("Bearer \(account.token) x")) } == .unauthenticated)

            // An undecodable body: UNAUTHENTICATED without a credential, INVALID_ARGUMENT with one.
            let garbage = RawMessage(bytes: .init(bytes: [0x0A, 0x7F, 1]))
            let method = "waqtor.v1.TenantService/GetProfile"
            let anonymous = await rpcError { _ = try await client.unary(method: method, request: garbage, responseType: Waqtor_V1_GetProfileResponse.self) }
            #expect(anonymous?.code == .unauthenticated)
            let signedIn = await rpcError {
                _ = try await client.unary(method: method, request: garbage, responseType: Waqtor_V1_GetProfileResponse.self, options: account.auth)
            }
            #expect(signedIn?.code == .invalidArgument)
        }
    }

    @Test("auth.session_ttl_hours takes 1 to 8760 (one year)")
    func sessionLifetimeRange() throws {
        #expect(try ConfigurationLoader.load(environment: [:], overrides: ["auth.session_ttl_hours=1"]).authSessionLifetime == .seconds(3600))
        #expect(try ConfigurationLoader.load(environment: [:], overrides: ["auth.session_ttl_hours=8760"]).authSessionLifetime == .seconds(8760 * 3600))
        for bad in ["0", "8761", "-1", "1.5"] {
            #expect(throws: ConfigurationError.self, "\(bad)") {
                try ConfigurationLoader.load(environment: [:], overrides: ["auth.session_ttl_hours=\(bad)"])
            }
        }
    }
}
