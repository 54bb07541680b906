import WaqtorCore
import Foundation
import WaqtorSecurity
import WaqtorPostgres

/// Tenants, sessions, API keys, plans, upgrade requests and usage, over a ``PostgresPool`` that
/// connects as the application role (`waqtor_app`: owns nothing, no BYPASSRLS).
///
/// Tenant-scoped operations run inside `withTransaction(tenantID:)`, so row-level security
/// confines every statement to that tenant's rows whatever its WHERE clause says. The few
/// operations that must cross tenants (login by e-mail, resolving a token or key, the
/// administrator's operations) call the `SECURITY DEFINER` functions of migration 0002; the
/// administrator functions check, in the database, that the transaction's tenant is an active
/// administrator. See docs/TENANCY.md.
public struct TenantStore: Sendable {
    public let pool: PostgresPool
    public let hasher: PasswordHasher

    public init(pool: PostgresPool, hasher: PasswordHasher = PasswordHasher()) {
        self.pool = pool
        self.hasher = hasher
    }

    static let profileColumns = "id, name, email::text AS email, time_zone, plan_id, status, suspension_reason, is_admin, created_at, updated_at"
    static let keyColumns = "id, name, scope, key_prefix, created_at, last_used_at, expires_at, revoked_at"
    static let requestColumns = "id, tenant_id, requested_plan, reason, state, decided_by, decided_at, decision_note, created_at"

    // MARK: - Sign-up and login

    /// Creates a tenant on the free plan. The caller validates name, e-mail, password and time
    /// zone first. An e-mail already used (case-insensitively) gives ``TenantStoreError/Kind/alreadyExists``.
    public func signUp(name: String, email: String, password: String, timeZone: String) async throws -> TenantProfile {
        let hash = try await hasher.hash(password)
        let id = TenantID.random()
        return try await scoped(id) { tx in
            let rows = try await tx.query(
                "INSERT INTO tenants (id, name, email, password_hash, time_zone) VALUES ($1, $2, $3, $4, $5) RETURNING \(Self.profileColumns)",
                [.id(id), .text(name), .text(email), .text(hash), .text(timeZone)])
            return try Self.profile(rows.first)
        }
    }

    /// The login record of an e-mail address (any tenant), or nil.
    public func findForLogin(email: String) async throws -> LoginRecord? {
        let rows = try await unscoped { try await pool.query("SELECT * FROM auth_find_login($1)", [.text(email)]) }
        guard let row = rows.first else { return nil }
        return LoginRecord(
            tenantID: row["tenant_id"].tenantID ?? TenantID(trusted: ""), passwordHash: row["password_hash"].string ?? "",
            status: TenantStatus(rawValue: row["status"].string ?? "") ?? .suspended, isAdmin: row["is_admin"].bool ?? false,
            suspensionReason: row["suspension_reason"].string)
    }

    /// Checks an e-mail and password; on success opens a session of `lifetime`. An unknown
    /// e-mail costs as much time as a wrong password (a throwaway hash is computed).
    public func login(email: String, password: String, lifetime: Duration = .seconds(30 * 86_400)) async throws -> LoginOutcome {
        guard let record = try await findForLogin(email: email) else {
            _ = try await hasher.hash(password)
            return .invalidCredentials
        }
        guard try await hasher.verify(password, against: record.passwordHash) else { return .invalidCredentials }
        guard record.status == .active else { return .suspended(reason: record.suspensionReason ?? "") }
        let session = try await createSession(tenantID: record.tenantID, lifetime: lifetime)
        return .success(session, isAdmin: record.isAdmin)
    }

    // MARK: - Sessions

    /// Opens a session for a tenant; the token is in the result, only its hash is stored.
    public func createSession(tenantID: TenantID, lifetime: Duration) async throws -> IssuedSession {
        let token = SecretToken.generate(.session)
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        return try await scoped(tenantID) { tx in
            let rows = try await tx.query(
                "INSERT INTO sessions (tenant_id, token_hash, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING id, expires_at",
                [.id(tenantID), .bytea(token.hash), .double(seconds)])
            guard let row = rows.first, let id = row["id"].uuid, let expires = row["expires_at"].date else {
                throw TenantStoreError(.database, "the session row was not returned")
            }
            return IssuedSession(id: id, tenantID: tenantID, token: token, expiresAt: expires)
        }
    }

    /// The session behind a presented token, or nil if unknown, expired or revoked.
    public func resolveSession(token: String) async throws -> ResolvedSession? {
        guard SecretToken.kind(of: token) == .session else { return nil }
        let rows = try await unscoped {
            try await pool.query("SELECT * FROM auth_resolve_session($1)", [.bytea(SecretToken.hash(of: token))])
        }
        guard let row = rows.first, let sessionID = row["session_id"].uuid, let tenantID = row["tenant_id"].tenantID,
              let expires = row["expires_at"].date else { return nil }
        return ResolvedSession(sessionID: sessionID, tenantID: tenantID, expiresAt: expires,
                               status: TenantStatus(rawValue: row["status"].string ?? "") ?? .suspended,
                               isAdmin: row["is_admin"].bool ?? false, suspensionReason: row["suspension_reason"].string)
    }

    /// Revokes one of the tenant's sessions (logout). False if the tenant has no such session.
    @discardableResult
    public func revokeSession(tenantID: TenantID, sessionID: String) async throws -> Bool {
        try await scoped(tenantID) { tx in
            try await tx.query("UPDATE sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1",
                               [.uuid(sessionID)]).rowsAffected == 1
        }
    }

    // MARK: - API keys

    /// Creates an API key; the secret is in the result's token, only its hash is stored. A key
    /// with `expiresAt` is refused from then on (the caller checks that it lies ahead).
    public func createAPIKey(tenantID: TenantID, name: String, scope: APIKeyScope, expiresAt: Date? = nil) async throws -> IssuedAPIKey {
        let token = SecretToken.generate(.apiKey)
        return try await scoped(tenantID) { tx in
            let rows = try await tx.query(
                """
                INSERT INTO api_keys (tenant_id, name, scope, key_prefix, key_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
                RETURNING \(Self.keyColumns)
                """,
                [.id(tenantID), .text(name), .text(scope.rawValue), .text(token.displayPrefix), .bytea(token.hash),
                 expiresAt.map { .timestamptz($0) }])
            return IssuedAPIKey(record: try Self.apiKey(rows.first), token: token)
        }
    }

    /// The tenant's API keys, newest first (expired ones too); revoked ones only if asked.
    public func listAPIKeys(tenantID: TenantID, includeRevoked: Bool = false) async throws -> [APIKeyRecord] {
        try await scoped(tenantID) { tx in
            try await tx.query(
                "SELECT \(Self.keyColumns) FROM api_keys WHERE ($1 OR revoked_at IS NULL) ORDER BY created_at DESC, id",
                [.bool(includeRevoked)]).map { try Self.apiKey($0) }
        }
    }

    /// Revokes one of the tenant's keys at once. False if the tenant has no such key.
    @discardableResult
    public func revokeAPIKey(tenantID: TenantID, keyID: String) async throws -> Bool {
        try await scoped(tenantID) { tx in
            try await tx.query("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1",
                               [.uuid(keyID)]).rowsAffected == 1
        }
    }

    /// The key behind a presented secret, or nil if unknown or revoked. An expired key is
    /// returned with ``ResolvedAPIKey/isExpired`` set: the caller refuses it.
    public func resolveAPIKey(key: String) async throws -> ResolvedAPIKey? {
        guard SecretToken.kind(of: key) == .apiKey else { return nil }
        let rows = try await unscoped {
            try await pool.query("SELECT * FROM auth_resolve_api_key($1)", [.bytea(SecretToken.hash(of: key))])
        }
        guard let row = rows.first, let keyID = row["key_id"].uuid, let tenantID = row["tenant_id"].tenantID,
              let scope = APIKeyScope(rawValue: row["scope"].string ?? "") else { return nil }
        return ResolvedAPIKey(keyID: keyID, tenantID: tenantID, scope: scope,
                              status: TenantStatus(rawValue: row["status"].string ?? "") ?? .suspended,
                              suspensionReason: row["suspension_reason"].string,
                              expiresAt: row["expires_at"].date, isExpired: row["expired"].bool ?? true)
    }

    // MARK: - Profile and password

    /// The tenant's profile, or nil.
    public func profile(tenantID: TenantID) async throws -> TenantProfile? {
        try await scoped(tenantID) { tx in
            let rows = try await tx.query("SELECT \(Self.profileColumns) FROM tenants WHERE id = $1", [.id(tenantID)])
            return try rows.first.map { try Self.profile($0) }
        }
    }

    /// Changes name and/or time zone (nil leaves a field as it is). Nil if no such tenant.
    public func updateProfile(tenantID: TenantID, name: String? = nil, timeZone: String? = nil) async throws -> TenantProfile? {
        try await scoped(tenantID) { tx in
            let rows = try await tx.query(
                """
                UPDATE tenants SET name = coalesce($2, name), time_zone = coalesce($3, time_zone), updated_at = now()
                WHERE id = $1 RETURNING \(Self.profileColumns)
                """,
                [.id(tenantID), name.map { .text($0) }, timeZone.map { .text($0) }])
            return try rows.first.map { try Self.profile($0) }
        }
    }

    /// Changes the password after checking the current one (``TenantStoreError/Kind/invalidCredentials``
    /// if wrong), and revokes every other session of the tenant (all but `keepingSessionID`).
    /// Returns how many sessions were revoked.
    @discardableResult
    public func changePassword(tenantID: TenantID, currentPassword: String, newPassword: String, keepingSessionID: String?) async throws -> Int {
        let oldHash: String? = try await scoped(tenantID) { tx in
            try await tx.query("SELECT password_hash FROM tenants WHERE id = $1", [.id(tenantID)]).first?["password_hash"].string
        }
        guard let oldHash else { throw TenantStoreError(.notFound, "no such tenant") }
        guard try await hasher.verify(currentPassword, against: oldHash) else {
            throw TenantStoreError(.invalidCredentials, "the current password is wrong")
        }
        let newHash = try await hasher.hash(newPassword)
        return try await scoped(tenantID) { tx in
            // Only if nobody changed it meanwhile (the check above was against oldHash).
            let updated = try await tx.query(
                "UPDATE tenants SET password_hash = $2, updated_at = now() WHERE id = $1 AND password_hash = $3",
                [.id(tenantID), .text(newHash), .text(oldHash)])
            guard updated.rowsAffected == 1 else {
                throw TenantStoreError(.invalidCredentials, "the password changed meanwhile")
            }
            return try await tx.query(
                "UPDATE sessions SET revoked_at = now() WHERE revoked_at IS NULL AND ($1::uuid IS NULL OR id <> $1::uuid)",
                [keepingSessionID.map { .uuid($0) } ?? .null]).rowsAffected
        }
    }

    // MARK: - Plans, usage, upgrade requests

    /// Every plan, cheapest first.
    public func plans() async throws -> [Plan] {
        try await unscoped { try await pool.query("SELECT * FROM plans ORDER BY rank") }.map { try Self.plan($0) }
    }

    /// The tenant's plan, what it has now (instances, contacts), and today's usage (today in the
    /// tenant's time zone).
    public func planAndUsage(tenantID: TenantID) async throws -> PlanUsage {
        try await scoped(tenantID) { tx in
            let rows = try await tx.query(
                """
                SELECT p.*, d.day::text AS day, coalesce(u.messages_sent, 0) AS messages_sent, coalesce(u.ai_drafts, 0) AS ai_drafts,
                       (SELECT count(*) FROM instances i WHERE i.tenant_id = t.id) AS instances,
                       coalesce((SELECT k.contacts FROM contact_counts k WHERE k.tenant_id = t.id), 0) AS contacts
                FROM tenants t JOIN plans p ON p.id = t.plan_id
                CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE t.time_zone)::date AS day) d
                LEFT JOIN usage_daily u ON u.tenant_id = t.id AND u.day = d.day
                WHERE t.id = $1
                """, [.id(tenantID)])
            guard let row = rows.first else { throw TenantStoreError(.notFound, "no such tenant") }
            return PlanUsage(plan: try Self.plan(row), day: row["day"].string ?? "",
                             messagesSent: row["messages_sent"].int ?? 0, aiDrafts: row["ai_drafts"].int ?? 0,
                             instances: row["instances"].int ?? 0, contacts: row["contacts"].int ?? 0)
        }
    }

    /// Adds to today's counters (today in the tenant's time zone); returns the new totals.
    @discardableResult
    public func recordUsage(tenantID: TenantID, messagesSent: Int = 0, aiDrafts: Int = 0) async throws -> (messagesSent: Int, aiDrafts: Int) {
        try await scoped(tenantID) { tx in
            let rows = try await tx.query(
                """
                INSERT INTO usage_daily (tenant_id, day, messages_sent, ai_drafts)
                SELECT t.id, (now() AT TIME ZONE t.time_zone)::date, $2, $3 FROM tenants t WHERE t.id = $1
                ON CONFLICT (tenant_id, day) DO UPDATE
                    SET messages_sent = usage_daily.messages_sent + EXCLUDED.messages_sent,
                        ai_drafts = usage_daily.ai_drafts + EXCLUDED.ai_drafts
                RETURNING messages_sent, ai_drafts
                """, [.id(tenantID), .int(messagesSent), .int(aiDrafts)])
            guard let row = rows.first else { throw TenantStoreError(.notFound, "no such tenant") }
            return (row["messages_sent"].int ?? 0, row["ai_drafts"].int ?? 0)
        }
    }

    /// Takes `count` units of a daily quota if the plan's limit allows it, atomically (the day's
    /// row is locked, so concurrent callers cannot both slip under the limit).
    public func consumeDailyQuota(tenantID: TenantID, _ quota: DailyQuota, count: Int) async throws -> QuotaOutcome {
        try await scoped(tenantID) { tx in
            _ = try await tx.query(
                """
                INSERT INTO usage_daily (tenant_id, day)
                SELECT t.id, (now() AT TIME ZONE t.time_zone)::date FROM tenants t WHERE t.id = $1
                ON CONFLICT (tenant_id, day) DO NOTHING
                """, [.id(tenantID)])
            // reset_in_ms: until the tenant's next local midnight, when the day's row changes.
            let rows = try await tx.query(
                """
                SELECT u.messages_sent, u.ai_drafts, p.id AS plan_id, p.max_messages_per_day, p.max_ai_drafts_per_day, t.time_zone,
                       ceil(extract(epoch FROM ((u.day + 1)::timestamp AT TIME ZONE t.time_zone) - now()) * 1000)::bigint AS reset_in_ms
                FROM usage_daily u JOIN tenants t ON t.id = u.tenant_id JOIN plans p ON p.id = t.plan_id
                WHERE u.tenant_id = $1 AND u.day = (now() AT TIME ZONE t.time_zone)::date
                FOR UPDATE OF u
                """, [.id(tenantID)])
            guard let row = rows.first else { throw TenantStoreError(.notFound, "no such tenant") }
            let planID = row["plan_id"].string ?? ""
            let (used, limit, column) = switch quota {
            case .messages: (row["messages_sent"].int ?? 0, row["max_messages_per_day"].int ?? 0, "messages_sent")
            case .aiDrafts: (row["ai_drafts"].int ?? 0, row["max_ai_drafts_per_day"].int ?? 0, "ai_drafts")
            }
            guard used + count <= limit else {
                return .exceeded(used: used, limit: limit, planID: planID, timeZone: row["time_zone"].string ?? "UTC",
                                 resetInMilliseconds: max(row["reset_in_ms"].int ?? 0, 1))
            }
            _ = try await tx.query(
                "UPDATE usage_daily SET \(column) = \(column) + $2 WHERE tenant_id = $1 AND day = (SELECT (now() AT TIME ZONE time_zone)::date FROM tenants WHERE id = $1)",
                [.id(tenantID), .int(count)])
            return .granted(used: used + count, limit: limit)
        }
    }

    /// Asks for a plan. One pending request at a time (``TenantStoreError/Kind/alreadyExists``:
    /// ``upgradeRequests(tenantID:)`` has the pending one);
    /// an unknown plan is ``TenantStoreError/Kind/invalidArgument``.
    public func requestUpgrade(tenantID: TenantID, planID: String, reason: String) async throws -> UpgradeRequest {
        try await scoped(tenantID) { tx in
            let rows = try await tx.query(
                "INSERT INTO upgrade_requests (tenant_id, requested_plan, reason) VALUES ($1, $2, $3) RETURNING \(Self.requestColumns)",
                [.id(tenantID), .text(planID), .text(reason)])
            return try Self.upgradeRequest(rows.first)
        }
    }

    /// The tenant's own upgrade requests, newest first.
    public func upgradeRequests(tenantID: TenantID) async throws -> [UpgradeRequest] {
        try await scoped(tenantID) { tx in
            try await tx.query("SELECT \(Self.requestColumns) FROM upgrade_requests ORDER BY created_at DESC, id")
                .map { try Self.upgradeRequest($0) }
        }
    }

    /// The tenant's plan history, newest first.
    public func planChanges(tenantID: TenantID) async throws -> [PlanChange] {
        try await scoped(tenantID) { tx in
            try await tx.query("SELECT * FROM plan_changes ORDER BY changed_at DESC, id").map { row in
                PlanChange(id: row["id"].uuid ?? "", tenantID: row["tenant_id"].tenantID ?? TenantID(trusted: ""),
                           fromPlan: row["from_plan"].string ?? "", toPlan: row["to_plan"].string ?? "",
                           changedBy: row["changed_by"].tenantID, reason: row["reason"].string ?? "",
                           changedAt: row["changed_at"].date ?? Date(timeIntervalSince1970: 0))
            }
        }
    }

    // MARK: - Account deletion

    /// Deletes the tenant and, by cascade, every row it owns. False if no such tenant.
    @discardableResult
    public func deleteAccount(tenantID: TenantID) async throws -> Bool {
        try await scoped(tenantID) { tx in
            try await tx.query("DELETE FROM tenants WHERE id = $1", [.id(tenantID)]).rowsAffected == 1
        }
    }

    // MARK: - Administrator

    /// One page of tenants, newest first, optionally filtered by a substring of name or e-mail, a
    /// state and a plan (filtered in the query, so pages are full; `.deleted` matches none). The
    /// caller (`adminID`) must be an active administrator (``TenantStoreError/Kind/permissionDenied``).
    public func adminListTenants(
        adminID: TenantID, search: String? = nil, status: TenantStateFilter? = nil, planID: String? = nil, limit: Int = 50, offset: Int = 0
    ) async throws -> Page<TenantSummary> {
        let filters: [PostgresValue?] = [search.map { .text($0) }, status.map { .text($0.rawValue) }, planID.map { .text($0) }]
        return try await scoped(adminID) { tx in
            let rows = try await tx.query("SELECT * FROM admin_list_tenants($1::text, $2::text, $3::text, $4::int, $5::int)",
                                          filters + [.int(limit), .int(offset)])
            let items = rows.map { row in
                TenantSummary(id: row["id"].tenantID ?? TenantID(trusted: ""), name: row["name"].string ?? "", email: row["email"].string ?? "",
                              timeZone: row["time_zone"].string ?? "UTC",
                              planID: row["plan_id"].string ?? "", status: TenantStatus(rawValue: row["status"].string ?? "") ?? .suspended,
                              suspensionReason: row["suspension_reason"].string,
                              isAdmin: row["is_admin"].bool ?? false, createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0),
                              updatedAt: row["updated_at"].date ?? Date(timeIntervalSince1970: 0))
            }
            let total = try await Self.total(rows.first, orCount: items.isEmpty && offset > 0 ? tx : nil, "SELECT total FROM admin_list_tenants($1::text, $2::text, $3::text, 1, 0)", filters)
            return Page(items: items, total: total)
        }
    }

    /// Sets a tenant's plan, recording the administrator and the reason in `plan_changes`. A
    /// pending upgrade request the new plan already meets is withdrawn (``UpgradeRequestState/cancelled``).
    public func adminSetPlan(adminID: TenantID, tenantID: TenantID, planID: String, reason: String) async throws {
        let found: Bool = try await scoped(adminID) { tx in
            try await tx.query("SELECT admin_set_plan($1, $2, $3) AS found", [.id(tenantID), .text(planID), .text(reason)])
                .first?["found"].bool ?? false
        }
        guard found else { throw TenantStoreError(.notFound, "no such tenant") }
    }

    /// Suspends (with the reason the tenant is shown) or reactivates (clearing the reason) a
    /// tenant. Its sessions and keys stay, refused while it is suspended.
    public func adminSetStatus(adminID: TenantID, tenantID: TenantID, status: TenantStatus, reason: String = "") async throws {
        let found: Bool = try await scoped(adminID) { tx in
            try await tx.query("SELECT admin_set_status($1, $2, $3) AS found", [.id(tenantID), .text(status.rawValue), .text(reason)])
                .first?["found"].bool ?? false
        }
        guard found else { throw TenantStoreError(.notFound, "no such tenant") }
    }

    /// One page of every tenant's upgrade requests, oldest first, optionally of one state and one
    /// tenant (filtered in the query, so pages are full).
    public func adminUpgradeRequests(
        adminID: TenantID, state: UpgradeRequestState? = nil, tenantID: TenantID? = nil, limit: Int = 50, offset: Int = 0
    ) async throws -> Page<UpgradeRequest> {
        let filters: [PostgresValue?] = [state.map { .text($0.rawValue) }, tenantID.map { .id($0) }]
        return try await scoped(adminID) { tx in
            let rows = try await tx.query("SELECT * FROM admin_list_upgrade_requests($1::text, $2::uuid, $3::int, $4::int)",
                                          filters + [.int(limit), .int(offset)])
            var items = [UpgradeRequest]()
            for row in rows {
                var request = try Self.upgradeRequest(row)
                request.tenantEmail = row["tenant_email"].string
                request.currentPlan = row["current_plan"].string
                items.append(request)
            }
            let total = try await Self.total(rows.first, orCount: items.isEmpty && offset > 0 ? tx : nil,
                                             "SELECT total FROM admin_list_upgrade_requests($1::text, $2::uuid, 1, 0)", filters)
            return Page(items: items, total: total)
        }
    }

    /// Grants (setting the plan, recorded in `plan_changes`) or rejects a pending upgrade request.
    public func adminDecideUpgradeRequest(adminID: TenantID, requestID: String, grant: Bool, note: String) async throws -> UpgradeDecisionOutcome {
        let result: String = try await scoped(adminID) { tx in
            try await tx.query("SELECT admin_decide_upgrade_request($1, $2, $3) AS state", [.uuid(requestID), .bool(grant), .text(note)])
                .first?["state"].string ?? "missing"
        }
        if result.hasPrefix("already:"), let state = UpgradeRequestState(rawValue: String(result.dropFirst("already:".count))) {
            return .alreadyDecided(state)
        }
        guard let state = UpgradeRequestState(rawValue: result) else { throw TenantStoreError(.notFound, "no such upgrade request") }
        return .decided(state)
    }

    /// Makes the tenant with this e-mail an administrator. Needs a pool connected as the
    /// **owner** role (the application role cannot change `is_admin`): for bootstrapping the
    /// first administrator from the server's command line. False if no such e-mail.
    public static func makeAdministrator(email: String, ownerPool: PostgresPool) async throws -> Bool {
        try await ownerPool.query("UPDATE tenants SET is_admin = true, updated_at = now() WHERE email = $1::citext",
                                  [.text(email)]).rowsAffected == 1
    }

    // MARK: - Helpers

    /// Runs `body` in a transaction scoped to `tenantID`, mapping database errors.
    func scoped<R: Sendable>(_ tenantID: TenantID, _ body: (PostgresTransaction) async throws -> R) async throws -> R {
        try await pool.storeTransaction(tenant: tenantID, body)
    }

    /// Maps PostgreSQL errors to ``TenantStoreError``.
    func unscoped<R>(_ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch let error as PostgresError {
            throw Self.map(error)
        }
    }

    package static func map(_ error: PostgresError) -> TenantStoreError {
        switch error.sqlState {
        case "23505": TenantStoreError(.alreadyExists, "already exists", underlying: error)
        case "42501": TenantStoreError(.permissionDenied, "not permitted", underlying: error)
        case "22P02", "22023", "23503", "23514", "22007", "22008": TenantStoreError(.invalidArgument, "invalid value", underlying: error)
        default: TenantStoreError(.database, underlying: error)
        }
    }

    static func total(_ first: PostgresRow?, orCount tx: PostgresTransaction?, _ sql: String, _ parameters: [PostgresValue?]) async throws -> Int {
        if let first { return first["total"].int ?? 0 }
        guard let tx else { return 0 }
        // An offset past the end returns no row to carry the window count: ask for the first row.
        return try await tx.query(sql, parameters).first?["total"].int ?? 0
    }

    static func profile(_ row: PostgresRow?) throws -> TenantProfile {
        guard let row, let id = row["id"].tenantID else { throw TenantStoreError(.database, "the tenant row was not returned") }
        return TenantProfile(
            id: id, name: row["name"].string ?? "", email: row["email"].string ?? "", timeZone: row["time_zone"].string ?? "UTC",
            planID: row["plan_id"].string ?? "free", status: TenantStatus(rawValue: row["status"].string ?? "") ?? .suspended,
            suspensionReason: row["suspension_reason"].string, isAdmin: row["is_admin"].bool ?? false, createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0),
            updatedAt: row["updated_at"].date ?? Date(timeIntervalSince1970: 0))
    }

    static func apiKey(_ row: PostgresRow?) throws -> APIKeyRecord {
        guard let row, let id = row["id"].uuid, let scope = APIKeyScope(rawValue: row["scope"].string ?? "") else {
            throw TenantStoreError(.database, "the API key row was not returned")
        }
        return APIKeyRecord(id: id, name: row["name"].string ?? "", scope: scope, keyPrefix: row["key_prefix"].string ?? "",
                            createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0),
                            lastUsedAt: row["last_used_at"].date, expiresAt: row["expires_at"].date, revokedAt: row["revoked_at"].date)
    }

    static func plan(_ row: PostgresRow) throws -> Plan {
        guard let id = row["id"].string else { throw TenantStoreError(.database, "the plan row was not returned") }
        return Plan(id: id, name: row["name"].string ?? id, rank: row["rank"].int ?? 0,
                    maxInstances: row["max_instances"].int ?? 0, maxContacts: row["max_contacts"].int ?? 0,
                    maxMessagesPerDay: row["max_messages_per_day"].int ?? 0, maxAIDraftsPerDay: row["max_ai_drafts_per_day"].int ?? 0)
    }

    static func upgradeRequest(_ row: PostgresRow?) throws -> UpgradeRequest {
        guard let row, let id = row["id"].uuid, let state = UpgradeRequestState(rawValue: row["state"].string ?? "") else {
            throw TenantStoreError(.database, "the upgrade request row was not returned")
        }
        return UpgradeRequest(id: id, tenantID: row["tenant_id"].tenantID ?? TenantID(trusted: ""), requestedPlan: row["requested_plan"].string ?? "",
                              reason: row["reason"].string ?? "", state: state, decidedBy: row["decided_by"].tenantID,
                              decidedAt: row["decided_at"].date, decisionNote: row["decision_note"].string,
                              createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0))
    }
}
