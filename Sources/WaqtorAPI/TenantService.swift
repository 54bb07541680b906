import WaqtorCore
import Foundation
import Logging
import WaqtorSecurity
import WaqtorProto
import WaqtorRedis
import WaqtorRPC
import WaqtorTenants
import WaqtorInstances

/// `waqtor.v1.TenantService`: accounts, sessions, API keys, plans, usage, and the administrator's
/// operations. Who may call what is decided by ``AuthInterceptor`` before a handler runs; handlers
/// read the caller from ``Caller`` and only ever touch that tenant's rows (row-level security in
/// PostgreSQL enforces it again).
public struct TenantService: Waqtor_V1_TenantServiceHandler {
    let store: TenantStore
    let throttle: LoginThrottle
    let sessionLifetime: Duration
    let mediaRoot: String
    /// Runs before an account's rows are deleted (ends its numbers on the WhatsApp gateway); a
    /// failure stops the deletion, so that nothing is left running for a deleted account.
    let accountCleanup: @Sendable (TenantID) async throws -> Void
    /// The time: API key expiry checks, the bounds of the tenant's day.
    let clock: any WaqtorClock

    public init(
        store: TenantStore, throttle: LoginThrottle, sessionLifetime: Duration, mediaRoot: String,
        accountCleanup: @escaping @Sendable (TenantID) async throws -> Void = { _ in },
        clock: any WaqtorClock = SystemClock()
    ) {
        self.clock = clock
        self.store = store
        self.throttle = throttle
        self.sessionLifetime = sessionLifetime
        self.mediaRoot = mediaRoot
        self.accountCleanup = accountCleanup
    }

    // MARK: Sign-up and sessions

    public func signUp(_ request: Waqtor_V1_SignUpRequest, context: ServerContext) async throws -> Waqtor_V1_SignUpResponse {
        let name = try Validate.name(request.name)
        let email = try Validate.email(request.email)
        try Validate.newPassword(request.password, field: "password")
        let timeZone = try Validate.timeZone(request.timeZone)
        let profile: TenantProfile
        do {
            profile = try await mapped { try await store.signUp(name: name, email: email, password: request.password, timeZone: timeZone) }
        } catch let error as RPCError where error.code == .alreadyExists {
            // Names only what the caller typed.
            throw RPCError(code: .alreadyExists, message: "an account with email \(email) already exists; log in, or sign up with another email")
        }
        let session = try await mapped { try await store.createSession(tenantID: profile.id, lifetime: sessionLifetime) }
        context.logger.info("tenant signed up", metadata: ["tenant": .string(profile.id.rawValue)])
        var response = Waqtor_V1_SignUpResponse()
        response.tenant = Convert.tenant(profile)
        response.session = Convert.session(session)
        return response
    }

    public func login(_ request: Waqtor_V1_LoginRequest, context: ServerContext) async throws -> Waqtor_V1_LoginResponse {
        let email = try Validate.email(request.email)
        guard !request.password.isEmpty else { throw invalid("password is required") }
        try await throttle.check(email: email)
        let outcome = try await mapped { try await store.login(email: email, password: request.password, lifetime: sessionLifetime) }
        switch outcome {
        case .invalidCredentials:
            try await throttle.recordFailure(email: email)
            throw RPCError(code: .unauthenticated, message: "the email or password is not correct")
        case .suspended(let reason):
            // The password was right, so the account's owner is told why.
            throw AuthInterceptor.suspended(reason: reason)
        case .success(let session, _):
            try await throttle.reset(email: email)
            guard let profile = try await mapped({ try await store.profile(tenantID: session.tenantID) }) else {
                throw RPCError(code: .internalError, message: "the account vanished during login; try again")
            }
            var response = Waqtor_V1_LoginResponse()
            response.session = Convert.session(session)
            response.tenant = Convert.tenant(profile)
            return response
        }
    }

    public func logout(_ request: Waqtor_V1_LogoutRequest, context: ServerContext) async throws -> Waqtor_V1_LogoutResponse {
        let caller = try Caller.require()
        if let sessionID = caller.sessionID {
            _ = try await mapped { try await store.revokeSession(tenantID: caller.tenantID, sessionID: sessionID) }
        }
        return Waqtor_V1_LogoutResponse()
    }

    // MARK: Profile and password

    public func getProfile(_ request: Waqtor_V1_GetProfileRequest, context: ServerContext) async throws -> Waqtor_V1_GetProfileResponse {
        var response = Waqtor_V1_GetProfileResponse()
        response.tenant = Convert.tenant(try await myProfile())
        return response
    }

    public func updateProfile(_ request: Waqtor_V1_UpdateProfileRequest, context: ServerContext) async throws -> Waqtor_V1_UpdateProfileResponse {
        let caller = try Caller.require()
        var paths = Set(request.updatePaths)
        if paths.isEmpty {
            // No mask: update the fields that were given.
            if !request.name.isEmpty { paths.insert("name") }
            if !request.timeZone.isEmpty { paths.insert("time_zone") }
        }
        guard !paths.isEmpty else { throw invalid("nothing to update: set name and/or time_zone (and list them in update_paths)") }
        for path in paths where path != "name" && path != "time_zone" {
            throw invalid("update_paths: '\(path)' cannot be updated here; allowed: name, time_zone")
        }
        let name = paths.contains("name") ? try Validate.name(request.name) : nil
        let timeZone = paths.contains("time_zone") ? try Validate.timeZone(request.timeZone) : nil
        guard let profile = try await mapped({ try await store.updateProfile(tenantID: caller.tenantID, name: name, timeZone: timeZone) }) else {
            throw RPCError(code: .notFound, message: "the account no longer exists")
        }
        var response = Waqtor_V1_UpdateProfileResponse()
        response.tenant = Convert.tenant(profile)
        return response
    }

    public func changePassword(_ request: Waqtor_V1_ChangePasswordRequest, context: ServerContext) async throws -> Waqtor_V1_ChangePasswordResponse {
        let caller = try Caller.require()
        guard !request.currentPassword.isEmpty else { throw invalid("current_password is required") }
        try Validate.newPassword(request.newPassword, field: "new_password")
        guard request.newPassword != request.currentPassword else { throw invalid("new_password must differ from current_password") }
        // Every other session ends (the caller's own session, if it is one, stays).
        _ = try await mapped {
            try await store.changePassword(
                tenantID: caller.tenantID, currentPassword: request.currentPassword, newPassword: request.newPassword,
                keepingSessionID: caller.sessionID)
        }
        return Waqtor_V1_ChangePasswordResponse()
    }

    // MARK: API keys

    public func createApiKey(_ request: Waqtor_V1_CreateApiKeyRequest, context: ServerContext) async throws -> Waqtor_V1_CreateApiKeyResponse {
        let caller = try Caller.require()
        let name = try Validate.label(request.name, field: "name")
        let scope: APIKeyScope
        switch request.scope {
        case .full: scope = .full
        case .sendOnly: scope = .sendOnly
        case .readOnly: scope = .readOnly
        default: throw invalid("scope must be FULL, SEND_ONLY or READ_ONLY")
        }
        let expiresAt = try request.expireTime.map { try Validate.keyExpiry($0, now: clock.now()) }
        let issued = try await mapped { try await store.createAPIKey(tenantID: caller.tenantID, name: name, scope: scope, expiresAt: expiresAt) }
        var response = Waqtor_V1_CreateApiKeyResponse()
        response.apiKey = Convert.apiKey(issued.record)
        response.secret = issued.token.value
        return response
    }

    public func listApiKeys(_ request: Waqtor_V1_ListApiKeysRequest, context: ServerContext) async throws -> Waqtor_V1_ListApiKeysResponse {
        let caller = try Caller.require()
        let page = try Paging(size: request.pageSize, token: request.pageToken)
        let keys = try await mapped { try await store.listAPIKeys(tenantID: caller.tenantID, includeRevoked: request.includeRevoked) }
        var response = Waqtor_V1_ListApiKeysResponse()
        let slice = page.slice(keys)
        response.apiKeys = slice.items.map(Convert.apiKey)
        response.nextPageToken = slice.next
        return response
    }

    public func revokeApiKey(_ request: Waqtor_V1_RevokeApiKeyRequest, context: ServerContext) async throws -> Waqtor_V1_RevokeApiKeyResponse {
        let caller = try Caller.require()
        let id = try Validate.uuid(request.apiKeyID, field: "api_key_id")
        let revoked = try await mapped { try await store.revokeAPIKey(tenantID: caller.tenantID, keyID: id) }
        let keys = try await mapped { try await store.listAPIKeys(tenantID: caller.tenantID, includeRevoked: true) }
        guard let key = keys.first(where: { $0.id == id }) else {
            throw RPCError(code: .notFound, message: "no API key \(id) in this account")
        }
        _ = revoked  // revoking an already revoked key is not an error: the key stays revoked
        var response = Waqtor_V1_RevokeApiKeyResponse()
        response.apiKey = Convert.apiKey(key)
        return response
    }

    // MARK: Plans and usage

    public func listPlans(_ request: Waqtor_V1_ListPlansRequest, context: ServerContext) async throws -> Waqtor_V1_ListPlansResponse {
        var response = Waqtor_V1_ListPlansResponse()
        response.plans = try await mapped { try await store.plans() }.map(Convert.plan)
        return response
    }

    public func getMyPlan(_ request: Waqtor_V1_GetMyPlanRequest, context: ServerContext) async throws -> Waqtor_V1_GetMyPlanResponse {
        let caller = try Caller.require()
        let usage = try await mapped { try await store.planAndUsage(tenantID: caller.tenantID) }
        let changes = try await mapped { try await store.planChanges(tenantID: caller.tenantID) }
        let profile = try await myProfile()
        var response = Waqtor_V1_GetMyPlanResponse()
        response.plan = Convert.plan(usage.plan)
        let since = changes.filter { $0.toPlan == usage.plan.id }.map(\.changedAt).max() ?? profile.createdAt
        response.sinceTime = Google_Protobuf_Timestamp(date: since)
        return response
    }

    public func requestUpgrade(_ request: Waqtor_V1_RequestUpgradeRequest, context: ServerContext) async throws -> Waqtor_V1_RequestUpgradeResponse {
        let caller = try Caller.require()
        let planID = try Validate.id(request.requestedPlanID, field: "requested_plan_id")
        let reason = try Validate.text(request.reason, field: "reason", max: 2000)
        let plans = try await mapped { try await store.plans() }
        let current = try await mapped { try await store.planAndUsage(tenantID: caller.tenantID) }.plan
        guard let target = plans.first(where: { $0.id == planID }) else {
            throw invalid("requested_plan_id: no plan '\(planID)'; plans: \(plans.map(\.id).joined(separator: ", "))")
        }
        guard target.rank > current.rank else {
            throw RPCError(code: .failedPrecondition, message: "the account is on '\(current.id)' already; an upgrade must be to a higher plan")
        }
        let upgrade: WaqtorTenants.UpgradeRequest
        do {
            upgrade = try await mapped { try await store.requestUpgrade(tenantID: caller.tenantID, planID: planID, reason: reason) }
        } catch let error as RPCError where error.code == .alreadyExists {
            // One pending request at a time: name it (it is the caller's own).
            let pending = try await mapped { try await store.upgradeRequests(tenantID: caller.tenantID) }.first { $0.state == .pending }
            guard let pending else { throw error }
            throw RPCError(
                code: .alreadyExists,
                message: "an upgrade request to '\(pending.requestedPlan)' (\(pending.id)) is already pending; wait for an administrator's decision before asking again")
        }
        var response = Waqtor_V1_RequestUpgradeResponse()
        response.upgradeRequest = Convert.upgradeRequest(upgrade, currentPlan: current.id)
        return response
    }

    public func listMyUpgradeRequests(_ request: Waqtor_V1_ListMyUpgradeRequestsRequest, context: ServerContext) async throws -> Waqtor_V1_ListMyUpgradeRequestsResponse {
        let caller = try Caller.require()
        let page = try Paging(size: request.pageSize, token: request.pageToken)
        let all = try await mapped { try await store.upgradeRequests(tenantID: caller.tenantID) }
        let slice = page.slice(all)
        var response = Waqtor_V1_ListMyUpgradeRequestsResponse()
        response.upgradeRequests = slice.items.map { Convert.upgradeRequest($0, currentPlan: nil) }
        response.nextPageToken = slice.next
        return response
    }

    public func getUsage(_ request: Waqtor_V1_GetUsageRequest, context: ServerContext) async throws -> Waqtor_V1_GetUsageResponse {
        try await usage(of: try await myProfile())
    }

    /// A tenant's usage against its plan: the counters of its local day, and AI drafting of its
    /// day and month.
    private func usage(of profile: TenantProfile) async throws -> Waqtor_V1_GetUsageResponse {
        let usage = try await mapped { try await store.planAndUsage(tenantID: profile.id) }
        let ai = try await mapped { try await store.aiUsage(tenantID: profile.id) }
        var response = Waqtor_V1_GetUsageResponse()
        response.limits = Convert.limits(usage.plan)
        var used = Waqtor_V1_PlanLimits()
        used.whatsappInstances = Int32(clamping: usage.instances)
        used.contacts = Int32(clamping: usage.contacts)  // 0 until contacts are stored (PlanUsage.contacts)
        used.messagesPerDay = Int32(clamping: usage.messagesSent)
        used.aiDraftsPerDay = Int32(clamping: usage.aiDrafts)
        response.used = used
        let (start, end) = Convert.dayBounds(timeZone: profile.timeZone, now: clock.now())
        response.dayStartTime = Google_Protobuf_Timestamp(date: start)
        response.dayEndTime = Google_Protobuf_Timestamp(date: end)
        response.aiToday = Convert.aiUsage(ai.today)
        response.aiThisMonth = Convert.aiUsage(ai.month)
        return response
    }

    public func adminGetTenantUsage(_ request: Waqtor_V1_AdminGetTenantUsageRequest, context: ServerContext) async throws -> Waqtor_V1_AdminGetTenantUsageResponse {
        _ = try Caller.require()
        let tenantID: TenantID = try Validate.id(request.tenantID, field: "tenant_id")
        let month = request.month.trimmingCharacters(in: .whitespaces)
        if !month.isEmpty {
            let parts = month.split(separator: "-")
            guard month.count == 7, parts.count == 2, let year = Int(parts[0]), let number = Int(parts[1]),
                  (2000...9999).contains(year), (1...12).contains(number)
            else { throw invalid("month: '\(month.prefix(20))' is not a month; write YYYY-MM, e.g. 2026-11, or leave it empty for the current one") }
        }
        guard let profile = try await mapped({ try await store.profile(tenantID: tenantID) }) else {
            throw RPCError(code: .notFound, message: "no tenant \(tenantID)")
        }
        let listing = try await mapped { try await store.aiRequests(tenantID: tenantID, month: month.isEmpty ? nil : month) }
        var response = Waqtor_V1_AdminGetTenantUsageResponse()
        response.tenant = Convert.tenant(profile)
        response.usage = try await usage(of: profile)
        response.month = listing.month
        response.aiMonth = Convert.aiUsage(listing.totals)
        response.aiRequests = listing.records.map(Convert.aiRequest)
        return response
    }

    // MARK: Account deletion

    public func deleteAccount(_ request: Waqtor_V1_DeleteAccountRequest, context: ServerContext) async throws -> Waqtor_V1_DeleteAccountResponse {
        let caller = try Caller.require()
        let profile = try await myProfile()
        guard request.confirmEmail.lowercased() == profile.email.lowercased() else {
            throw invalid("confirm_email must be the account's email address")
        }
        guard let login = try await mapped({ try await store.findForLogin(email: profile.email) }),
              try await PasswordHasher().verify(request.password, against: login.passwordHash)
        else {
            throw RPCError(code: .permissionDenied, message: "the password is not correct")
        }
        try await accountCleanup(caller.tenantID)
        _ = try await mapped { try await store.deleteAccount(tenantID: caller.tenantID) }
        // Media files live under media.root/<tenant id>; remove the whole folder.
        let folder = URL(fileURLWithPath: mediaRoot).appendingPathComponent(caller.tenantID.rawValue)
        if FileManager.default.fileExists(atPath: folder.path) {
            try? FileManager.default.removeItem(at: folder)
        }
        context.logger.notice("account deleted", metadata: ["tenant": .string(caller.tenantID.rawValue)])
        return Waqtor_V1_DeleteAccountResponse()
    }

    // MARK: Administrator

    public func adminListTenants(_ request: Waqtor_V1_AdminListTenantsRequest, context: ServerContext) async throws -> Waqtor_V1_AdminListTenantsResponse {
        let caller = try Caller.require()
        let page = try Paging(size: request.pageSize, token: request.pageToken)
        let search = request.query.trimmingCharacters(in: .whitespaces)
        let status: TenantStateFilter?
        switch request.state {
        case .unspecified: status = nil
        case .active: status = .active
        case .suspended: status = .suspended
        // Matches no tenant: DeleteAccount removes the account with all its data.
        case .deleted: status = .deleted
        case .UNRECOGNIZED(let value): throw invalid("state \(value) is not a TenantState; use ACTIVE, SUSPENDED or DELETED (or unset for all)")
        }
        let planID = request.planID.trimmingCharacters(in: .whitespaces)
        let result = try await mapped {
            try await store.adminListTenants(
                adminID: caller.tenantID, search: search.isEmpty ? nil : search, status: status,
                planID: planID.isEmpty ? nil : planID, limit: page.size, offset: page.offset)
        }
        var response = Waqtor_V1_AdminListTenantsResponse()
        response.tenants = result.items.map(Convert.tenant)
        response.nextPageToken = page.offset + result.items.count < result.total ? Paging.token(offset: page.offset + page.size) : ""
        return response
    }

    public func adminSetTenantPlan(_ request: Waqtor_V1_AdminSetTenantPlanRequest, context: ServerContext) async throws -> Waqtor_V1_AdminSetTenantPlanResponse {
        let caller = try Caller.require()
        let tenantID: TenantID = try Validate.id(request.tenantID, field: "tenant_id")
        let planID = try Validate.id(request.planID, field: "plan_id")
        let reason = try Validate.text(request.reason, field: "reason", max: 2000)
        let plans = try await mapped { try await store.plans() }
        guard plans.contains(where: { $0.id == planID }) else {
            throw invalid("plan_id: no plan '\(planID)'; plans: \(plans.map(\.id).joined(separator: ", "))")
        }
        try await mapped { try await store.adminSetPlan(adminID: caller.tenantID, tenantID: tenantID, planID: planID, reason: reason) }
        context.logger.notice("plan set by administrator", metadata: ["tenant": .string(tenantID.rawValue), "plan": .string(planID)])
        var response = Waqtor_V1_AdminSetTenantPlanResponse()
        response.tenant = try await tenant(tenantID)
        if let change = try await mapped({ try await store.planChanges(tenantID: tenantID) }).max(by: { $0.changedAt < $1.changedAt }) {
            response.change = Convert.planChange(change)
        }
        return response
    }

    public func adminSuspendTenant(_ request: Waqtor_V1_AdminSuspendTenantRequest, context: ServerContext) async throws -> Waqtor_V1_AdminSuspendTenantResponse {
        let caller = try Caller.require()
        let tenantID: TenantID = try Validate.id(request.tenantID, field: "tenant_id")
        let reason = try Validate.text(request.reason, field: "reason", max: 2000)
        guard tenantID != caller.tenantID else { throw RPCError(code: .failedPrecondition, message: "administrators cannot suspend their own account") }
        try await mapped { try await store.adminSetStatus(adminID: caller.tenantID, tenantID: tenantID, status: .suspended, reason: reason) }
        context.logger.notice("tenant suspended", metadata: ["tenant": .string(tenantID.rawValue), "administrator": .string(caller.tenantID.rawValue)])
        var response = Waqtor_V1_AdminSuspendTenantResponse()
        response.tenant = try await tenant(tenantID)
        return response
    }

    public func adminReactivateTenant(_ request: Waqtor_V1_AdminReactivateTenantRequest, context: ServerContext) async throws -> Waqtor_V1_AdminReactivateTenantResponse {
        let caller = try Caller.require()
        let tenantID: TenantID = try Validate.id(request.tenantID, field: "tenant_id")
        let reason = try Validate.text(request.reason, field: "reason", max: 2000, required: false)
        try await mapped { try await store.adminSetStatus(adminID: caller.tenantID, tenantID: tenantID, status: .active) }
        // The reason is recorded in the server's log (the tenant's suspension reason is cleared).
        context.logger.notice("tenant reactivated", metadata: [
            "tenant": .string(tenantID.rawValue), "administrator": .string(caller.tenantID.rawValue), "reason": .string(reason),
        ])
        var response = Waqtor_V1_AdminReactivateTenantResponse()
        response.tenant = try await tenant(tenantID)
        return response
    }

    public func adminListUpgradeRequests(_ request: Waqtor_V1_AdminListUpgradeRequestsRequest, context: ServerContext) async throws -> Waqtor_V1_AdminListUpgradeRequestsResponse {
        let caller = try Caller.require()
        let page = try Paging(size: request.pageSize, token: request.pageToken)
        let state: UpgradeRequestState?
        switch request.state {
        case .unspecified: state = nil
        case .pending: state = .pending
        case .granted: state = .granted
        case .rejected: state = .rejected
        case .cancelled: state = .cancelled
        case .UNRECOGNIZED(let value): throw invalid("state \(value) is not an UpgradeRequestState; use PENDING, GRANTED, REJECTED or CANCELLED (or unset for all)")
        }
        let tenantID: TenantID? = request.tenantID.isEmpty ? nil : try Validate.id(request.tenantID, field: "tenant_id")
        let result = try await mapped {
            try await store.adminUpgradeRequests(adminID: caller.tenantID, state: state, tenantID: tenantID, limit: page.size, offset: page.offset)
        }
        var response = Waqtor_V1_AdminListUpgradeRequestsResponse()
        response.upgradeRequests = result.items.map { Convert.upgradeRequest($0, currentPlan: $0.currentPlan) }
        response.nextPageToken = page.offset + result.items.count < result.total ? Paging.token(offset: page.offset + page.size) : ""
        return response
    }

    public func adminGrantUpgradeRequest(_ request: Waqtor_V1_AdminGrantUpgradeRequestRequest, context: ServerContext) async throws -> Waqtor_V1_AdminGrantUpgradeRequestResponse {
        let (decided, tenantID) = try await decide(request.upgradeRequestID, grant: true, note: request.note)
        var response = Waqtor_V1_AdminGrantUpgradeRequestResponse()
        response.upgradeRequest = decided
        response.tenant = try await tenant(tenantID)
        context.logger.notice("upgrade granted", metadata: ["tenant": .string(tenantID.rawValue), "request": .string(request.upgradeRequestID)])
        return response
    }

    public func adminRejectUpgradeRequest(_ request: Waqtor_V1_AdminRejectUpgradeRequestRequest, context: ServerContext) async throws -> Waqtor_V1_AdminRejectUpgradeRequestResponse {
        let (decided, _) = try await decide(request.upgradeRequestID, grant: false, note: request.note)
        var response = Waqtor_V1_AdminRejectUpgradeRequestResponse()
        response.upgradeRequest = decided
        return response
    }

    // MARK: Helpers

    private func decide(_ rawID: String, grant: Bool, note: String) async throws -> (Waqtor_V1_UpgradeRequest, TenantID) {
        let caller = try Caller.require()
        let id = try Validate.uuid(rawID, field: "upgrade_request_id")
        let note = try Validate.text(note, field: "note", max: 2000, required: false)
        let outcome = try await mapped { try await store.adminDecideUpgradeRequest(adminID: caller.tenantID, requestID: id, grant: grant, note: note) }
        if case .alreadyDecided(let state) = outcome {
            throw RPCError(code: .failedPrecondition, message: "upgrade request \(id) was already \(state.rawValue)")
        }
        // Find it again for the answer (any state, every tenant).
        var offset = 0
        while true {
            let page = try await mapped { try await store.adminUpgradeRequests(adminID: caller.tenantID, state: nil, limit: 200, offset: offset) }
            if let found = page.items.first(where: { $0.id == id }) {
                return (Convert.upgradeRequest(found, currentPlan: found.currentPlan), found.tenantID)
            }
            offset += 200
            if offset >= page.total || page.items.isEmpty { break }
        }
        throw RPCError(code: .notFound, message: "no upgrade request \(id)")
    }

    private func myProfile() async throws -> TenantProfile {
        let caller = try Caller.require()
        guard let profile = try await mapped({ try await store.profile(tenantID: caller.tenantID) }) else {
            throw RPCError(code: .notFound, message: "the account no longer exists")
        }
        return profile
    }

    private func tenant(_ id: TenantID) async throws -> Waqtor_V1_Tenant {
        guard let profile = try await mapped({ try await store.profile(tenantID: id) }) else {
            throw RPCError(code: .notFound, message: "no tenant \(id)")
        }
        return Convert.tenant(profile)
    }

    private func invalid(_ message: String) -> RPCError { RPCError(code: .invalidArgument, message: message) }

    /// Runs a store call and maps its errors to statuses a caller can act on.
    private func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as TenantStoreError {
            switch error.kind {
            case .alreadyExists: throw RPCError(code: .alreadyExists, message: error.context.map { "\($0)" } ?? "it already exists")
            case .notFound: throw RPCError(code: .notFound, message: error.context ?? "not found")
            case .invalidCredentials: throw RPCError(code: .permissionDenied, message: "the current password is not correct")
            case .permissionDenied: throw RPCError(code: .permissionDenied, message: "not permitted for this account")
            case .invalidArgument: throw RPCError(code: .invalidArgument, message: error.context ?? "a value was rejected")
            case .database: throw error
            }
        }
    }
}
