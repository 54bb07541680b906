@testable import EvolutionSimulator
import Foundation
import Testing
@testable import WaqtorApp
import WaqtorCampaigns
import WaqtorCore
import WaqtorPostgres
import WaqtorProto
import WaqtorRPC
import WaqtorSendQueue
import WaqtorTenants
import WaqtorTestSupport
import WaqtorWorkers

@Suite("The send queue across processes and servers", .serialized)
struct SendQueueProcessTests {
    /// The environment of a `waqtor-server --role worker` serving one tenant's campaigns through
    /// the test's simulator, with the default lease (25 s).
    static func workerEnvironment(_ simulator: EvolutionSimulator, tenant: String, prefix: String) -> [String: String] {
        [
            "WAQTOR_GATEWAY_URL": simulator.baseURL, "WAQTOR_GATEWAY_API_KEY": "sim-test-key",
            "WAQTOR_SEND_TENANTS": tenant, "WAQTOR_SEND_KEY_PREFIX": prefix, "WAQTOR_CHAT_TENANTS": tenant,
            "WAQTOR_SEND_MAX_TYPING_DELAY_MS": "0", "WAQTOR_SEND_MAINTENANCE_INTERVAL_MS": "50",
        ]
    }

    @Test("a worker killed with kill -9 mid-campaign: nothing lost, nothing sent twice, the messages it held settled within 30 s")
    func killedWorker() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 2, count: 50, gap: 30...60)
            // Each send takes a second at the gateway, so that the kill finds one on its way.
            simulator.setSendFailure(SendFailure(mode: .none, delayMilliseconds: 1000))
            simulator.clearSends()
            let prefix = "wqt-\(UUID().uuidString.prefix(8))"
            let environment = Self.workerEnvironment(simulator, tenant: fixture.account.tenant.id, prefix: prefix)
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            let first = try ServerProcess(role: "worker", extraEnvironment: environment)
            try #require(await first.waitForLog(message: "waqtor-server ready"), "\(first.logText)")
            try await awaitCondition("the first worker sent some and has one at the gateway", seconds: 60) {
                fixture.sends(simulator).count >= 6 && simulator.loggedSendCount > simulator.sends().count
            }
            first.signal(SIGKILL)
            #expect(await first.waitForExit() != nil)
            let killedAt = ContinuousClock.now
            // What the dead worker held: QUEUED rows under a live lease in PostgreSQL.
            let owner = QueueFixture.owner()
            let held = Set(try await owner.query("""
                SELECT phone_number FROM campaign_recipients WHERE campaign_id = $1 AND state = 'queued' AND leased_until > now()
                """, [.uuid(id)]).compactMap { $0["phone_number"].string })
            await owner.shutdown()
            #expect(!held.isEmpty, "the killed worker held a message that the gateway had")
            let second = try ServerProcess(role: "worker", extraEnvironment: environment)
            try #require(await second.waitForLog(message: "waqtor-server ready"), "\(second.logText)")
            var settledHeld: Duration?
            try await awaitCondition("the held messages are settled", seconds: 60) {
                let rows = try await fixture.recipients(id)
                let done = held.allSatisfy { rows[$0].map { ["sent", "delivered", "read"].contains($0.state) } ?? false }
                if done { settledHeld = ContinuousClock.now - killedAt }
                return done
            }
            try await awaitCondition("the campaign completed", seconds: 120) { try await fixture.progress(id).state == .completed }
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0)

            let rows = try await fixture.recipients(id)
            #expect(rows.values.allSatisfy { ["sent", "delivered", "read"].contains($0.state) }, "nothing lost")
            let ok = fixture.sends(simulator).filter { $0.status == 201 }
            var times: [String: Int] = [:]
            for send in ok { times["+" + (send.number ?? ""), default: 0] += 1 }
            #expect(Set(times.keys) == Set(rows.keys), "every recipient was sent")
            // Nothing twice: a message the killed worker held is looked up at the gateway before it
            // is sent again (docs/QUEUE.md, "Delivery").
            let twice = Set(times.filter { $0.value > 1 }.keys)
            #expect(twice.isEmpty, "sent twice: \(twice.sorted()), held at the kill: \(held.sorted())")
            print("kill -9: \(held.count) messages held by the killed worker, settled \(String(describing: settledHeld)) after the kill; \(twice.count) sent twice; \(rows.count) recipients")
            // The held messages were settled (sent, or found sent at the gateway) within 30 s of the kill.
            #expect(settledHeld != nil && settledHeld! < .seconds(30), "held messages settled \(String(describing: settledHeld)) after the kill")
        }
    }

    @Test("two servers and two workers on one campaign: every message sent exactly once, progress seen on both servers")
    func twoServersTwoWorkers() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 3, count: 900, gap: 2...5)
            simulator.clearSends()
            let id = try await fixture.startCampaign(text: "Hi {{name}}")
            var second = tenantTestConfiguration()
            second.gatewayURL = simulator.baseURL
            second.gatewayAPIKey = "sim-test-key"
            try await withApplication(second) { otherApp, otherClient in
                let other = Waqtor_V1_CampaignServiceClient(client: otherClient)
                let prefix = "wqt-\(UUID().uuidString.prefix(8))"
                try await withSendQueue(app, tenant: fixture.account.tenant.id, prefix: prefix) { _ in
                    try await withSendQueue(otherApp, tenant: fixture.account.tenant.id, prefix: prefix) { _ in
                        try await awaitCondition("the campaign completed", seconds: 120) { try await fixture.progress(id).state == .completed }
                    }
                }
                var request = Waqtor_V1_GetCampaignProgressRequest()
                request.campaignID = id
                let seen = try #require(try await other.getCampaignProgress(request, options: fixture.account.auth).progress)
                #expect(seen.state == .completed)
                #expect(seen.sentCount + seen.deliveredCount + seen.readCount == 900, "the other server sees the same counts")
            }
            try await expectExactlyOnce(fixture, simulator, id)
            #expect(fixture.sends(simulator).filter { $0.status == 201 }.count == 900)
        }
    }
}
