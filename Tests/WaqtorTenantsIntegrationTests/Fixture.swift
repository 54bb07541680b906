import WaqtorSchema
import Foundation
import Testing
import WaqtorSecurity
import WaqtorPostgres
import WaqtorCore
import WaqtorTenants
import WaqtorInstances
import WaqtorContacts
import WaqtorCampaigns
import WaqtorTestSupport

/// The real database of tools/setup.sh: migrations applied once per process with the real
/// Migrator as the owner role; the store connects as the application role.
enum Database {
    static let migrated = Task<Void, any Error> {
        try await Migrator(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL), migrations: WaqtorSchema.migrations()).migrate()
    }

    static func ready() async throws { try await migrated.value }
}

/// Every tenant-owned table and the column naming its tenant.
let tenantTables: [(table: String, tenantColumn: String)] = [
    ("tenants", "id"), ("sessions", "tenant_id"), ("api_keys", "tenant_id"), ("upgrade_requests", "tenant_id"),
    ("plan_changes", "tenant_id"), ("usage_daily", "tenant_id"), ("instances", "tenant_id"), ("webhook_events", "tenant_id"),
    ("contacts", "tenant_id"), ("contact_lists", "tenant_id"), ("contact_list_members", "tenant_id"),
    ("campaigns", "tenant_id"), ("campaign_numbers", "tenant_id"), ("campaign_recipients", "tenant_id"), ("campaign_counts", "tenant_id"),
    ("ai_requests", "tenant_id"),
]

/// Tenant tables the application role can neither change nor delete from: counts that triggers
/// write, and AI request records (billing: inserted once, never changed; they go with the tenant).
let readOnlyTenantTables: Set<String> = ["campaign_counts", "ai_requests"]

/// A store over a fresh app-role pool, plus an owner-role pool for inspection. Unique e-mails.
struct Fixture {
    let pool: PostgresPool
    let owner: PostgresPool
    let store: TenantStore

    static let cheap = PasswordHasher.Parameters(iterations: 1, memoryKiB: 1024, parallelism: 1)

    static func make(poolSize: Int = 4, hasher: PasswordHasher = PasswordHasher(parameters: cheap)) async throws -> Fixture {
        try await Database.ready()
        // Callers wait for a connection as long as it takes (these tests check what the store does,
        // not the pool's patience): 400 queries through 8 connections in a loaded run waited past
        // the default 10 s.
        let pool = PostgresPool(configuration: PostgresConfiguration(
            connectionString: TestEnvironment.databaseURL, poolSize: poolSize, acquireTimeout: .seconds(300),
            applicationName: "waqtor-tenant-tests"))
        let owner = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: 2))
        return Fixture(pool: pool, owner: owner, store: TenantStore(pool: pool, hasher: hasher))
    }

    func shutdown() async {
        await pool.shutdown()
        await owner.shutdown()
    }

    static func email(_ prefix: String = "t") -> String {
        "\(TestEnvironment.uniqueName(prefix))@Example.com"
    }

    func signUp(_ password: String = "pw-123456", name: String = "Tenant") async throws -> TenantProfile {
        try await store.signUp(name: name, email: Self.email(), password: password, timeZone: "Europe/Berlin")
    }

    func admin() async throws -> TenantProfile {
        let profile = try await signUp(name: "Admin")
        #expect(try await TenantStore.makeAdministrator(email: profile.email, ownerPool: owner))
        return profile
    }

    /// A tenant with at least one row in every tenant-owned table.
    func populatedTenant(admin: TenantProfile) async throws -> (profile: TenantProfile, session: IssuedSession, key: IssuedAPIKey) {
        let profile = try await signUp()
        let session = try await store.createSession(tenantID: profile.id, lifetime: .seconds(3600))
        let key = try await store.createAPIKey(tenantID: profile.id, name: "ci", scope: .sendOnly)
        _ = try await store.requestUpgrade(tenantID: profile.id, planID: "pro", reason: "growing")
        try await store.adminSetPlan(adminID: admin.id, tenantID: profile.id, planID: "starter", reason: "trial")
        try await store.recordUsage(tenantID: profile.id, messagesSent: 3, aiDrafts: 1)
        try await store.recordAIRequest(tenantID: profile.id, AIRequestRecord(
            requestedModel: "google/gemini-2.5-flash", model: "google/gemini-2.5-flash", outcome: .ok, providerCalls: 1,
            promptTokens: 400, completionTokens: 120, cost: "0.000420", descriptionLength: 42, draftCount: 3))
        let instances = InstanceStore(pool: pool)
        let instance = try await instances.create(tenantID: profile.id, displayName: "Sales")
        let target = try #require(try await instances.resolveWebhookTarget(gatewayName: instance.instance.gatewayName))
        #expect(target.tenantID == profile.id && target.accepts(secret: instance.webhookSecret))
        try await instances.recordEvent(target, event: "connection.update", dedupeKey: "k1",
                                        payload: #"{"event":"connection.update","data":{"state":"open"}}"#,
                                        connectionEvent: .connection(.open, reason: 200))
        let contacts = ContactStore(pool: pool)
        let contact = try await contacts.create(
            tenantID: profile.id, number: ContactNumber(e164: "+5511987654321", type: "mobile", region: "BR"),
            name: "Ana", attributes: ["city": "Recife"], optedOut: false, consentSource: .manual, limit: nil)
        let list = try await contacts.createList(tenantID: profile.id, name: "VIP", description: "")
        _ = try await contacts.addToList(tenantID: profile.id, listID: list.id, contactIDs: [contact.id])
        let campaigns = CampaignStore(pool: pool)
        let campaign = try await campaigns.create(tenantID: profile.id, settings: CampaignSettings(
            name: "Launch", templateText: "Hi {{name}}", listIDs: [list.id], instanceIDs: [instance.instance.id]))
        // The instance is open (the event above): the start writes a recipient and its counts.
        let started = try await campaigns.apply(tenantID: profile.id, id: campaign.id, event: .start(scheduleTime: nil, now: Date()),
                                                context: StartContext(now: Date(), seed: { _, _ in 1 }))
        #expect(started?.lifecycle.state == .running)
        return (profile, session, key)
    }

    /// Rows per tenant table belonging to `tenantID`, counted as the owner (sees everything).
    func ownerCounts(_ tenantID: TenantID) async throws -> [String: Int] {
        var counts = [String: Int]()
        for (table, column) in tenantTables {
            counts[table] = try await owner.query("SELECT count(*) AS c FROM \(table) WHERE \(column) = $1", [.id(tenantID)]).first?["c"].int
        }
        return counts
    }
}

func storeError(_ error: any Error) -> TenantStoreError.Kind? { (error as? TenantStoreError)?.kind }
