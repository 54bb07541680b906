import EvolutionSimulator
import Foundation
import Testing
import WaqtorApp
import WaqtorCore
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

/// Polls `condition` until it holds or 20 s have passed (no fixed sleep: each round is a call).
private func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)")
    throw TestSupportError("timed out waiting until \(what)")
}

@Suite("The gateway unreachable: instance states shown stale, the server stays ready")
struct GatewayStaleTests {
    @Test("stop the gateway: GetInstance, ListInstances and the CLI show the last state as stale, readiness reports the gateway without failing, the metric drops; start it again on the same port: not stale")
    func gatewayDownAndBack() async throws {
        let apiKey = "sim-stale-key"
        var simulator = try await EvolutionSimulator.start(.init(apiKey: apiKey))
        let port = simulator.port
        var configuration = tenantTestConfiguration()
        configuration.gatewayURL = simulator.baseURL
        configuration.gatewayAPIKey = apiKey
        configuration.gatewayTimeout = .seconds(5)
        configuration.gatewayProbeInterval = .milliseconds(50)
        configuration.sendKeyPrefix = "wqt-\(UUID().uuidString.prefix(8))"
        do {
            try await withApplication(configuration) { app, client in
                // A connected number, through the RPC API...
                let number = try await NumberFixture.make(client, phone: "+5511999998888")
                try await number.pair(simulator)
                // ... and another through the CLI, for its output.
                let cli = try CLI(app)
                defer { cli.remove() }
                _ = try await cli.signUp()
                let created = try await cli.run(["instance", "create", "--name", "Support", "--json"])
                let cliID = try #require(string(try created.json(), "instance", "id"), "\(created)")
                let cliGatewayName = try #require(string(try created.json(), "instance", "gateway_instance_name"))
                #expect(simulator.connect(instance: cliGatewayName))
                #expect(await simulator.waitForAllWebhooks())

                // The gateway answers: nothing is stale, and the server knows when it last answered.
                try await waitUntil("the monitor has heard the gateway") {
                    let stored = try await number.stored()
                    return !stored.stateStale && stored.gatewaySeenTime != nil
                }
                let before = try await number.stored()
                #expect(before.state == .open)
                let shown = try await cli.run(["instance", "get", cliID, "--json"])
                #expect(value(try shown.json(), "instance", "state_stale") as? Bool == false, "\(shown)")
                #expect(string(try shown.json(), "instance", "state") == "open")

                // The gateway goes away: connections are refused.
                await simulator.stop()
                try await waitUntil("GetInstance shows the state as stale") { try await number.stored().stateStale }
                let stale = try await number.stored()
                #expect(stale.state == .open, "the last state the gateway reported is kept")
                let seen = try #require(stale.gatewaySeenTime).date
                #expect(seen >= before.gatewaySeenTime!.date, "gateway_seen_time is the last answer")
                let listed = try await number.instances.listInstances(.init(), options: number.account.auth).instances
                #expect(listed.count == 1 && listed.allSatisfy { $0.stateStale && $0.state == .open })
                #expect(listed.first?.gatewaySeenTime != nil)

                // GetConnectionState still cannot ask the gateway: UNAVAILABLE, saying since when.
                let unavailable = await rpcError { _ = try await number.connectionState() }
                #expect(unavailable?.code == .unavailable)
                #expect(unavailable?.message.contains("unreachable since") == true, "\(String(describing: unavailable))")

                // The CLI marks the state stale; its JSON has the fields.
                let cliGet = try await cli.run(["instance", "get", cliID])
                #expect(cliGet.status == 0 && cliGet.stdout.contains("open (stale: gateway unreachable, last answered "), "\(cliGet)")
                let cliList = try await cli.run(["instance", "list"])
                #expect(cliList.stdout.contains("(stale: gateway unreachable"), "\(cliList)")
                let cliJSON = try await cli.run(["instance", "get", cliID, "--json"])
                #expect(value(try cliJSON.json(), "instance", "state_stale") as? Bool == true, "\(cliJSON)")
                #expect(string(try cliJSON.json(), "instance", "gateway_seen_time") != nil)

                // Readiness: the gateway is reported unreachable, the server stays ready.
                let readiness = try await Waqtor_V1_HealthServiceClient(client: client).readiness(Waqtor_V1_ReadinessRequest())
                #expect(readiness.ready, "an unreachable gateway does not make the API unready")
                let gateway = try #require(readiness.components.first { $0.name == "gateway" })
                #expect(!gateway.ready)
                #expect(!gateway.detail.contains("127.0.0.1"), "no address in the public answer")
                #expect(readiness.components.filter { $0.name != "gateway" }.allSatisfy { $0.ready })
                let (status, body) = try await adminGet(app, "/health/ready")
                #expect(status == 200 && body["ready"] as? Bool == true && body["degraded"] as? Bool == true)
                let adminGateway = try #require((body["components"] as? [[String: Any]])?.first { $0["name"] as? String == "gateway" })
                #expect(adminGateway["ready"] as? Bool == false && adminGateway["required"] as? Bool == false)
                let detail = try #require(adminGateway["detail"] as? String)
                #expect(detail.contains("unreachable since") && detail.contains("127.0.0.1:\(port)"), "\(detail)")
                #expect(!detail.contains(apiKey), "never the API key")
                let metrics = try await adminGetText(app, "/metrics").text
                #expect(metrics.contains("waqtor_gateway_up 0"), "\(metrics.split(separator: "\n").filter { $0.contains("gateway") })")

                // The gateway comes back on the same address: the states are current again.
                simulator = try await EvolutionSimulator.start(.init(port: port, apiKey: apiKey))
                try await waitUntil("GetInstance no longer shows the state as stale") { try await !number.stored().stateStale }
                let back = try await number.stored()
                #expect(back.state == .open)
                #expect(try #require(back.gatewaySeenTime).date >= seen)
                let relisted = try await number.instances.listInstances(.init(), options: number.account.auth).instances
                #expect(relisted.allSatisfy { !$0.stateStale })
                let (readyStatus, readyBody) = try await adminGet(app, "/health/ready")
                #expect(readyStatus == 200 && readyBody["degraded"] as? Bool == false)
                #expect(try await adminGetText(app, "/metrics").text.contains("waqtor_gateway_up 1"))
                let cliBack = try await cli.run(["instance", "get", cliID, "--json"])
                #expect(value(try cliBack.json(), "instance", "state_stale") as? Bool == false, "\(cliBack)")
            }
            await simulator.stop()
        } catch {
            await simulator.stop()
            throw error
        }
    }
}
