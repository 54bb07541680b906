import Foundation
import Logging
import Testing
@testable import WaqtorApp
import WaqtorCampaigns
import WaqtorCore
import WaqtorInstances
import WaqtorPostgres
import WaqtorProto
import WaqtorRPC
import WaqtorTenants
import WaqtorTestSupport
import WaqtorWorkers

// Serialized: a scheduler's round takes every due campaign in the database, so the two tests
// would start each other's campaigns.
@Suite("Scheduled campaigns start by themselves", .serialized)
struct SchedulerTests {
    /// Makes a SCHEDULED campaign due now, as its time passing would (the owner role moves it).
    static func makeDue(_ campaignID: String) async throws {
        let owner = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: 1))
        _ = try await owner.query("UPDATE campaigns SET schedule_time = now() - interval '1 second' WHERE id = $1", [.uuid(campaignID)])
        await owner.shutdown()
    }

    @Test("two schedulers, as on two servers, start a due campaign exactly once and materialise it once")
    func exactlyOnce() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let p = try await CampaignServiceTests.prepared(app, client, count: 8)
            // Only this test's tenant: other suites' schedulers and due campaigns are theirs.
            let mine: Set<TenantID> = [TenantID(trusted: p.account.tenant.id)]
            _ = try await app.instances.updateConnection(tenantID: TenantID(trusted: p.account.tenant.id), id: InstanceID(trusted: p.instance),
                                                         .event(.connection(.open, reason: 200), at: nil))
            var create = Waqtor_V1_CreateCampaignRequest()
            var c = CampaignServiceTests.campaign(text: "Hi {{name}}", list: p.list, instance: p.instance)
            c.scheduleTime = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(3600))
            create.campaign = c
            let made = try #require(try await p.campaigns.createCampaign(create, options: p.account.auth).campaign)
            var start = Waqtor_V1_StartCampaignRequest()
            start.campaignID = made.id
            #expect(try await p.campaigns.startCampaign(start, options: p.account.auth).campaign?.state == .scheduled)
            let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            // Not due yet: nothing starts.
            #expect(try await CampaignScheduler(store: app.campaigns, logger: quiet, tenants: mine).runOnce() == 0)
            try await Self.makeDue(made.id)

            let pools = (0..<2).map { _ in PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseURL, poolSize: 2)) }
            let started = try await withThrowingTaskGroup(of: Int.self) { group in
                for pool in pools {
                    group.addTask { try await CampaignScheduler(store: CampaignStore(pool: pool), logger: quiet, tenants: mine).runOnce() }
                }
                return try await group.reduce(0, +)
            }
            for pool in pools { await pool.shutdown() }
            #expect(started == 1)
            var progress = Waqtor_V1_GetCampaignProgressRequest()
            progress.campaignID = made.id
            let counts = try #require(try await p.campaigns.getCampaignProgress(progress, options: p.account.auth).progress)
            #expect(counts.state == .running && counts.totalCount == 8 && counts.pendingCount == 7 && counts.skippedCount == 1)
            #expect(try await CampaignScheduler(store: app.campaigns, logger: quiet, tenants: mine).runOnce() == 0, "nothing is due any more")
        }
    }

    @Test("a due campaign without a connected number pauses with the reason instead of starting")
    func noNumber() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let p = try await CampaignServiceTests.prepared(app, client, count: 2)
            // Only this test's tenant: other suites' schedulers and due campaigns are theirs.
            let mine: Set<TenantID> = [TenantID(trusted: p.account.tenant.id)]
            var create = Waqtor_V1_CreateCampaignRequest()
            var c = CampaignServiceTests.campaign(text: "Hi {{name}}", list: p.list, instance: p.instance)
            c.scheduleTime = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(3600))
            create.campaign = c
            let made = try #require(try await p.campaigns.createCampaign(create, options: p.account.auth).campaign)
            var start = Waqtor_V1_StartCampaignRequest()
            start.campaignID = made.id
            _ = try await p.campaigns.startCampaign(start, options: p.account.auth)
            try await Self.makeDue(made.id)
            let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            // Another suite's scheduler may take it first: what matters is the campaign's state.
            _ = try await CampaignScheduler(store: app.campaigns, logger: quiet, tenants: mine).runOnce()
            var get = Waqtor_V1_GetCampaignRequest()
            get.campaignID = made.id
            let paused = try #require(try await p.campaigns.getCampaign(get, options: p.account.auth).campaign)
            #expect(paused.state == .paused && paused.stateDetail.contains("connected"), "\(paused.stateDetail)")
        }
    }
}
