import Foundation
import OpenRouterStandIn
import Testing
@testable import WaqtorApp
import WaqtorChat
import WaqtorCore
import WaqtorHTTP
import WaqtorInstances
import WaqtorProto
import WaqtorRPC
import WaqtorSendQueue
import WaqtorTestSupport
import WaqtorWorkers

/// One sample of Prometheus's text format: the value of the series `name` whose labels include
/// every one of `labels` (nil when there is none).
func metricSample(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
        let rest = line.dropFirst(name.count)
        guard rest.first == "{" || rest.first == " " else { continue }  // another metric sharing the prefix
        var found: [String: String] = [:]
        if rest.first == "{", let close = rest.firstIndex(of: "}") {
            for pair in rest[rest.index(after: rest.startIndex)..<close].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                found[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        guard labels.allSatisfy({ found[$0.key] == $0.value }) else { continue }
        if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
    }
    return nil
}

@Suite("Metrics on the admin listener")
struct MetricsTests {
    @Test("/metrics serves the RPC, PostgreSQL, Redis, webhook, live feed, send queue and AI series, with counts that match what was done")
    func scrape() async throws {
        try await withDrafting { app, client, _ in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let health = Waqtor_V1_HealthServiceClient(client: client)
            for _ in 0..<5 { _ = try await health.ping(Waqtor_V1_PingRequest()) }
            _ = await rpcError { _ = try await tenants.getProfile(.init()) }  // no credential
            let account = try await signUp(tenants)
            _ = try await tenants.getProfile(.init(), options: account.auth)
            _ = try await Waqtor_V1_AIServiceClient(client: client).draftTemplates(draftRequest("Autumn sale on boots"), options: account.auth)

            // Webhooks: one refused, one stored.
            let tenant = TenantID(trusted: account.tenant.id)
            let instance = try await app.instances.create(tenantID: tenant, displayName: "Sales")
            let http = HTTPClient()
            let hooks = WebhookHarness(app: app, http: http, port: try #require(app.webhookPort))
            #expect(try await hooks.post(instance.instance.gatewayName, secret: "wrong", body: json(["event": "x"])).status == 401)
            #expect(try await hooks.post(instance, messageUpsert(instance, id: "3EBMETRIC1")).status == 200)
            await http.shutdown()

            // The live feed: one subscription held.
            let subscription = try await app.live.subscribe(LiveFilter(tenantID: tenant))

            // The send queue's maintainer, as a worker runs it (this tenant only, keys of its own:
            // other tests' queues are not its business).
            var configuration = app.sendConfiguration
            configuration.tenants = [tenant]
            try await QueueMaintainer(
                lanes: SendLanes(redis: app.queueRedis, prefix: "mt-\(UUID().uuidString.prefix(8))"), outbox: Outbox(pool: app.postgres),
                campaigns: app.campaigns, clock: SystemClock(), configuration: configuration, logger: quietLogger,
                metrics: QueueMetrics(factory: app.metrics)).runOnce()

            let (status, text) = try await adminGetText(app, "/metrics")
            #expect(status == 200)
            let ping = ["method": "waqtor.v1.HealthService/Ping", "code": "OK"]
            #expect(metricSample(text, "waqtor_rpc_server_calls_total", ping) == 5)
            #expect(metricSample(text, "waqtor_rpc_server_call_duration_seconds_count", ["method": "waqtor.v1.HealthService/Ping"]) == 5)
            #expect(metricSample(text, "waqtor_rpc_server_calls_total", ["method": "waqtor.v1.TenantService/GetProfile", "code": "UNAUTHENTICATED"]) == 1)
            #expect(metricSample(text, "waqtor_rpc_server_calls_total", ["method": "waqtor.v1.TenantService/GetProfile", "code": "OK"]) == 1)
            #expect(metricSample(text, "waqtor_rpc_server_connections") == 1)
            #expect(metricSample(text, "waqtor_rpc_server_calls_in_flight") == 0)
            #expect((metricSample(text, "waqtor_postgres_pool_wait_seconds_count") ?? 0) > 0)
            #expect(metricSample(text, "waqtor_postgres_pool_timeouts_total") == 0)
            #expect(metricSample(text, "waqtor_postgres_pool_connections_in_use") == 0)
            #expect((metricSample(text, "waqtor_redis_commands_total", ["client": "queue", "shard": "0"]) ?? 0) > 0)
            #expect(metricSample(text, "waqtor_redis_pool_wait_seconds_count", ["client": "main", "shard": "1"]) != nil)
            #expect(metricSample(text, "waqtor_webhook_events_total", ["event": "unknown", "outcome": "unauthorized"]) == 1)
            #expect(metricSample(text, "waqtor_webhook_events_total", ["event": "messages.upsert", "outcome": "stored"]) == 1)
            #expect(metricSample(text, "waqtor_live_subscribers") == 1)
            #expect(metricSample(text, "waqtor_queue_numbers", ["shard": "0"]) != nil)
            #expect(metricSample(text, "waqtor_queue_leases", ["shard": "1"]) != nil)
            #expect(metricSample(text, "waqtor_ai_requests_total", ["model": "google/gemini-2.5-flash", "outcome": "ok"]) == 1)
            #expect((metricSample(text, "waqtor_ai_tokens_total", ["kind": "prompt"]) ?? 0) > 0)
            #expect((metricSample(text, "waqtor_ai_cost_credits_total") ?? 0) > 0)

            subscription.cancel()
            let after = try await adminGetText(app, "/metrics").text
            #expect(metricSample(after, "waqtor_live_subscribers") == 0)
            #expect(metricSample(after, "waqtor_rpc_server_calls_total", ping) == 5, "scrapes are not RPC calls")
        }
    }

    @Test("the admin listener: liveness, 404 for other paths, 405 for other methods")
    func adminRoutes() async throws {
        try await withApplication { app, _ in
            let live = try await adminGetText(app, "/health/live")
            #expect(live.status == 200 && live.text == "ok\n")
            #expect(try await adminGetText(app, "/nope").status == 404)
            let http = HTTPClient()
            let port = try #require(app.adminServer.localPort)
            let post = try await http.execute(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/metrics", body: Array("x".utf8), timeout: .seconds(5)))
            await http.shutdown()
            #expect(post.status == 405)
        }
    }
}
