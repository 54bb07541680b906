import Foundation
import Testing
@testable import WaqtorApp
import WaqtorCore
import WaqtorInstances
import WaqtorProto
import WaqtorRedis
import WaqtorRPC
@testable import WaqtorSendQueue
import WaqtorTestSupport

@Suite("A pacing change takes effect at once")
struct PacingWakeTests {
    @Test("UpdatePacing makes a number held until later (a cap, quiet hours) due now, and leaves a number with nothing queued out of the queue")
    func wake() async throws {
        var configuration = tenantTestConfiguration()
        configuration.sendKeyPrefix = "wake-\(UUID().uuidString.prefix(8))"
        try await withApplication(configuration) { app, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let tenant = TenantID(trusted: account.tenant.id)
            let held = try await app.instances.create(tenantID: tenant, displayName: "Held")
            let idle = try await app.instances.create(tenantID: tenant, displayName: "Idle")
            let lanes = SendLanes(redis: app.queueRedis, prefix: configuration.sendKeyPrefix)
            // Held until tomorrow by the old pacing, as the sender requeues a number at its cap.
            let tomorrow = Date().addingTimeInterval(86_400)
            _ = try await app.queueRedis.command(onShard: lanes.shard(of: held.instance.id),
                                                 ["ZADD", lanes.dueKey, .int(SendLanes.ms(tomorrow)), .string(held.instance.id.rawValue)])
            func score(_ instance: InstanceID) async throws -> Double? {
                let reply = try await app.queueRedis.command(onShard: lanes.shard(of: instance), ["ZSCORE", lanes.dueKey, .string(instance.rawValue)])
                return reply.string.flatMap(Double.init)
            }
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            for created in [held, idle] {
                var request = Waqtor_V1_UpdatePacingRequest()
                request.instanceID = created.instance.id.rawValue
                var pacing = Waqtor_V1_PacingSettings()
                pacing.warmupEnabled = false
                request.pacing = pacing
                request.updatePaths = ["warmup_enabled"]
                #expect(try await instances.updatePacing(request, options: account.auth).pacing?.warmupEnabled == false)
            }
            let now = Double(SendLanes.ms(Date()))
            let woken = try #require(try await score(held.instance.id))
            #expect(woken <= now, "due now, not tomorrow")
            #expect(try await score(idle.instance.id) == nil, "a number with nothing queued stays out of the queue")
        }
    }
}
