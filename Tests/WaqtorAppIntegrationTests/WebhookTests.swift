import Foundation
import Testing
@testable import WaqtorApp
@testable import WaqtorAPI
@testable import WaqtorWebhooks
import WaqtorInstances
import WaqtorCore
import WaqtorHTTP
import WaqtorProto
import WaqtorRPC
import WaqtorPostgres
import WaqtorTenants
import WaqtorTestSupport

/// The webhook listener over real HTTP (libcurl), with the real PostgreSQL.
struct WebhookHarness {
    let app: WaqtorApplication
    let http: HTTPClient
    let port: Int

    func post(
        _ gatewayName: String, secret: String?, body: [UInt8], contentType: String? = "application/json", suffix: String = ""
    ) async throws -> HTTPResponse {
        var headers: [(name: String, value: String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let secret { headers.append((webhookSecretHeader, secret)) }
        return try await http.execute(HTTPRequest(
            method: "POST", url: "http://127.0.0.1:\(port)/webhooks/evolution/\(gatewayName)\(suffix)",
            headers: headers, body: body, timeout: .seconds(10)))
    }

    func post(_ instance: CreatedInstance, _ envelope: [String: Any], suffix: String = "") async throws -> HTTPResponse {
        try await post(instance.instance.gatewayName, secret: instance.webhookSecret, body: json(envelope), suffix: suffix)
    }

    /// Rows of a table as the tenant sees them (an unscoped SELECT inside its transaction).
    func rows(_ table: String, as tenantID: String) async throws -> PostgresRows {
        try await app.postgres.withTransaction(tenantID: tenantID) { tx in try await tx.query("SELECT * FROM \(table)") }
    }

    func instance(_ created: CreatedInstance) async throws -> Instance {
        try #require(try await app.instances.get(tenantID: created.instance.tenantID, id: created.instance.id))
    }
}

func json(_ object: [String: Any]) -> [UInt8] {
    Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
}

func envelope(_ event: String, _ instance: CreatedInstance, _ data: Any, at time: String = "2026-11-25T10:42:43.258Z") -> [String: Any] {
    ["event": event, "instance": instance.instance.gatewayName, "data": data, "date_time": time,
     "sender": "5511999990000@s.whatsapp.net", "server_url": "http://127.0.0.1:8080", "apikey": NSNull()]
}

func connectionUpdate(_ instance: CreatedInstance, state: String, reason: Int, at time: String) -> [String: Any] {
    envelope("connection.update", instance, ["instance": instance.instance.gatewayName, "state": state, "statusReason": reason], at: time)
}

func messageUpsert(_ instance: CreatedInstance, id: String, text: String = "hello") -> [String: Any] {
    envelope("messages.upsert", instance, [
        "key": ["remoteJid": "5511988887777@s.whatsapp.net", "fromMe": false, "id": id],
        "pushName": "Maria", "status": "DELIVERY_ACK", "message": ["conversation": text],
        "messageType": "conversation", "messageTimestamp": 1_764_000_000, "instanceId": "x", "source": "android",
    ])
}

func withWebhooks<T>(
    maxBodyBytes: Int? = nil, _ body: (WebhookHarness, Waqtor_V1_TenantServiceClient) async throws -> T
) async throws -> T {
    var configuration = tenantTestConfiguration()
    if let maxBodyBytes { configuration.webhookMaxBodyBytes = maxBodyBytes }
    return try await withApplication(configuration) { app, client in
        let http = HTTPClient()
        let harness = WebhookHarness(app: app, http: http, port: try #require(app.webhookPort))
        do {
            let result = try await body(harness, Waqtor_V1_TenantServiceClient(client: client))
            await http.shutdown()
            return result
        } catch {
            await http.shutdown()
            throw error
        }
    }
}

@Suite("Evolution API webhooks")
struct WebhookTests {
    @Test("webhook configuration keys: defaults, overrides and bad values")
    func configurationKeys() throws {
        let defaults = try ConfigurationLoader.load(environment: [:])
        #expect(defaults.webhookHost == "127.0.0.1" && defaults.webhookPort == 7421)
        #expect(defaults.webhookMaxBodyBytes == 1 << 20 && defaults.webhookPublicURL == "", "empty: the listener's own address")
        let set = try ConfigurationLoader.load(
            environment: ["WAQTOR_WEBHOOK_PORT": "0"],
            overrides: ["webhook.host=0.0.0.0", "webhook.max_body_bytes=65536", "webhook.public_url=https://hooks.example.com/"])
        #expect(set.webhookPort == 0 && set.webhookHost == "0.0.0.0" && set.webhookMaxBodyBytes == 65536)
        #expect(set.webhookPublicURL == "https://hooks.example.com")
        #expect(set.webhookURL(gatewayName: "wq-0123456789ab-cafebabe") == "https://hooks.example.com/webhooks/evolution/wq-0123456789ab-cafebabe")
        #expect(ConfigurationDescription.lines(set).contains("webhook.port = 0"))
        for bad in ["webhook.port=70000", "webhook.max_body_bytes=10", "webhook.public_url=ftp://x", "webhook.host="] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try ConfigurationLoader.load(environment: [:], overrides: [bad]) }
        }
    }

    @Test("a bad, missing or other instance's secret, or an unknown instance, gets 401 and nothing is stored")
    func badSecret() async throws {
        try await withWebhooks { h, tenants in
            let a = try await signUp(tenants)
            let b = try await signUp(tenants, name: "Other")
            let instA = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Sales")
            let instB = try await h.app.instances.create(tenantID: TenantID(trusted: b.tenant.id), displayName: "Support")
            #expect(instA.instance.gatewayName.hasPrefix("wq-" + a.tenant.id.replacingOccurrences(of: "-", with: "").prefix(12) + "-"))
            #expect(instA.webhookSecret.hasPrefix("whs_") && instA.webhookSecret.count == 47)
            let body = json(messageUpsert(instA, id: "3EB0AAAAAAAAAAAAAAAAAA"))
            for secret in ["whs_wrong", "", instB.webhookSecret, String(instA.webhookSecret.dropLast())] {
                let response = try await h.post(instA.instance.gatewayName, secret: secret, body: body)
                #expect(response.status == 401)
            }
            #expect(try await h.post(instA.instance.gatewayName, secret: nil, body: body).status == 401)
            #expect(try await h.post("wq-000000000000-00000000", secret: instA.webhookSecret, body: body).status == 401)
            #expect(try await h.post("..%2F..", secret: instA.webhookSecret, body: body).status == 401)
            #expect(try await h.rows("webhook_events", as: a.tenant.id).count == 0)
            #expect(try await h.instance(instA).lastEventAt == nil)
            // The right secret is accepted.
            let ok = try await h.post(instA.instance.gatewayName, secret: instA.webhookSecret, body: body)
            #expect(ok.status == 200)
            #expect(try await h.rows("webhook_events", as: a.tenant.id).count == 1)
        }
    }

    @Test("the same delivery twice is stored once; receipts per status; byEvents paths accepted")
    func duplicates() async throws {
        try await withWebhooks { h, tenants in
            let a = try await signUp(tenants)
            let inst = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Sales")
            let upsert = messageUpsert(inst, id: "3EB0123456789ABCDEF012")
            let first = try await h.post(inst, upsert)
            #expect(first.status == 200)
            #expect(first.bodyString.contains("\"duplicate\":false"))
            let second = try await h.post(inst, upsert, suffix: "/messages-upsert")
            #expect(second.status == 200)
            #expect(second.bodyString.contains("\"duplicate\":true"))
            // The same message reported as send.message is the same message.
            #expect(try await h.post(inst, envelope("send.message", inst, upsert["data"]!)).status == 200)
            for status in ["SERVER_ACK", "DELIVERY_ACK", "READ", "READ"] {
                let update = envelope("messages.update", inst, [
                    "keyId": "3EB0123456789ABCDEF012", "remoteJid": "5511988887777@s.whatsapp.net", "fromMe": true,
                    "status": status, "instanceId": "x", "messageId": "m1",
                ])
                #expect(try await h.post(inst, update, suffix: "/messages-update").status == 200)
            }
            // Unknown events are stored and acknowledged; their retries are stored once.
            let presence = envelope("presence.update", inst, ["id": "5511988887777@s.whatsapp.net", "presences": [:] as [String: Any]])
            #expect(try await h.post(inst, presence).status == 200)
            #expect(try await h.post(inst, presence).status == 200)
            let events = try await h.app.instances.events(tenantID: TenantID(trusted: a.tenant.id), instanceID: inst.instance.id)
            #expect(events.map(\.event) == ["messages.upsert", "messages.update", "messages.update", "messages.update", "presence.update"])
            #expect(events[0].dedupeKey == "message:3EB0123456789ABCDEF012")
            #expect(events.map(\.dedupeKey)[1...3] == ["status:3EB0123456789ABCDEF012:SERVER_ACK", "status:3EB0123456789ABCDEF012:DELIVERY_ACK", "status:3EB0123456789ABCDEF012:READ"])
            // The envelope is stored whole.
            let stored = try JSONSerialization.jsonObject(with: Data(events[0].payload.utf8)) as? [String: Any]
            #expect(((stored?["data"] as? [String: Any])?["message"] as? [String: Any])?["conversation"] as? String == "hello")
            #expect(try await h.app.instances.markProcessed(tenantID: TenantID(trusted: a.tenant.id), eventIDs: [events[0].id]) == 1)
            #expect(try await h.app.instances.events(tenantID: TenantID(trusted: a.tenant.id), unprocessedOnly: true).count == 4)
        }
    }

    @Test("connection.update sets the state; a logged-out close (401) or logout.instance needs re-pairing; open clears it")
    func connectionStates() async throws {
        try await withWebhooks { h, tenants in
            let a = try await signUp(tenants)
            let inst = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Sales")
            #expect(inst.instance.state == .unspecified)
            #expect(try await h.post(inst, connectionUpdate(inst, state: "connecting", reason: 200, at: "2026-11-25T10:00:00.000Z")).status == 200)
            #expect(try await h.instance(inst).state == .connecting)
            #expect(try await h.post(inst, connectionUpdate(inst, state: "open", reason: 200, at: "2026-11-25T10:00:01.000Z")).status == 200)
            var row = try await h.instance(inst)
            #expect(row.state == .open && !row.needsRepairing && row.stateReason == nil && row.lastEventAt != nil)
            // An ordinary close (the gateway reconnects by itself).
            #expect(try await h.post(inst, connectionUpdate(inst, state: "close", reason: 428, at: "2026-11-25T10:00:02.000Z")).status == 200)
            row = try await h.instance(inst)
            #expect(row.state == .close && row.stateReason == 428 && !row.needsRepairing)
            // A second open with the same data but a later date_time is a new event.
            #expect(try await h.post(inst, connectionUpdate(inst, state: "open", reason: 200, at: "2026-11-25T10:00:03.000Z")).status == 200)
            #expect(try await h.instance(inst).state == .open)
            // Logged out.
            #expect(try await h.post(inst, connectionUpdate(inst, state: "close", reason: 401, at: "2026-11-25T10:00:04.000Z")).status == 200)
            row = try await h.instance(inst)
            #expect(row.state == .needsRepairing && row.needsRepairing && row.stateReason == 401)
            // Reconnecting keeps the flag until the number is open again.
            #expect(try await h.post(inst, connectionUpdate(inst, state: "connecting", reason: 200, at: "2026-11-25T10:00:05.000Z")).status == 200)
            #expect(try await h.instance(inst).needsRepairing)
            #expect(try await h.post(inst, connectionUpdate(inst, state: "open", reason: 200, at: "2026-11-25T10:00:06.000Z")).status == 200)
            row = try await h.instance(inst)
            #expect(row.state == .open && !row.needsRepairing)
            // The logged-out sequence of 2.3.x: status.instance, logout.instance (then connection.update).
            #expect(try await h.post(inst, envelope("status.instance", inst, ["instance": inst.instance.gatewayName, "status": "closed", "disconnectionReasonCode": 403], at: "2026-11-25T10:00:07.000Z")).status == 200)
            row = try await h.instance(inst)
            #expect(row.state == .needsRepairing && row.stateReason == 403)
            #expect(try await h.post(inst, connectionUpdate(inst, state: "open", reason: 200, at: "2026-11-25T10:00:08.000Z")).status == 200)
            #expect(try await h.post(inst, envelope("logout.instance", inst, ["instance": inst.instance.gatewayName], at: "2026-11-25T10:00:09.000Z")).status == 200)
            row = try await h.instance(inst)
            #expect(row.state == .needsRepairing && row.needsRepairing)
            // qrcode.updated is stored, the state is untouched.
            #expect(try await h.post(inst, envelope("qrcode.updated", inst, ["qrcode": ["instance": inst.instance.gatewayName, "pairingCode": "WZYEH1YY", "code": "2@abc", "base64": "data:image/png;base64,AAAA"]])).status == 200)
            #expect(try await h.instance(inst).state == .needsRepairing)
            #expect(try await h.app.instances.events(tenantID: TenantID(trusted: a.tenant.id)).count == 11)
        }
    }

    @Test("tenant A's instances and events are never visible to tenant B; unscoped SELECTs see only the own tenant's rows")
    func isolation() async throws {
        try await withWebhooks { h, tenants in
            let a = try await signUp(tenants)
            let b = try await signUp(tenants, name: "Other")
            let instA = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Sales A")
            let instA2 = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Support A")
            let instB = try await h.app.instances.create(tenantID: TenantID(trusted: b.tenant.id), displayName: "Sales B")
            #expect(instA.instance.gatewayName != instA2.instance.gatewayName)
            #expect(try await h.post(instA, messageUpsert(instA, id: "3EB0AAAA")).status == 200)
            #expect(try await h.post(instA, connectionUpdate(instA, state: "open", reason: 200, at: "2026-11-25T10:00:00.000Z")).status == 200)
            #expect(try await h.post(instB, messageUpsert(instB, id: "3EB0BBBB")).status == 200)

            #expect(try await h.rows("webhook_events", as: b.tenant.id).allSatisfy { $0["tenant_id"].uuid == b.tenant.id })
            #expect(try await h.rows("webhook_events", as: b.tenant.id).count == 1)
            let bSeesA = try await h.app.postgres.withTransaction(tenant: TenantID(trusted: b.tenant.id)) { tx in
                try await tx.query("SELECT count(*) AS c FROM webhook_events WHERE instance_id = $1", [.id(instA.instance.id)]).first?["c"].int
            }
            #expect(bSeesA == 0)
            let aEvents = try await h.rows("webhook_events", as: a.tenant.id)
            #expect(aEvents.count == 2 && aEvents.allSatisfy { $0["tenant_id"].uuid == a.tenant.id })
            let aInstances = try await h.rows("instances", as: a.tenant.id)
            #expect(Set(aInstances.compactMap { $0["id"].id(InstanceID.self) }) == [instA.instance.id, instA2.instance.id])
            #expect(try await h.rows("instances", as: b.tenant.id).compactMap { $0["id"].uuid } == [instB.instance.id.rawValue])
            // Nothing without a tenant.
            #expect(try await h.app.postgres.query("SELECT * FROM webhook_events").count == 0)
            #expect(try await h.app.postgres.query("SELECT * FROM instances").count == 0)
            // B cannot read, change or delete A's instance by id, nor write an event for it.
            #expect(try await h.app.instances.get(tenantID: TenantID(trusted: b.tenant.id), id: instA.instance.id) == nil)
            #expect(try await h.app.instances.updateConnection(tenantID: TenantID(trusted: b.tenant.id), id: instA.instance.id, .event(.loggedOut(reason: 401), at: nil)) == nil)
            #expect(try await h.app.instances.delete(tenantID: TenantID(trusted: b.tenant.id), id: instA.instance.id) == false)
            // Under B's tenant, A's instance does not exist: nothing is stored for it.
            let foreign = try await h.app.instances.recordEvent(
                WebhookTarget(instanceID: instA.instance.id, tenantID: TenantID(trusted: b.tenant.id), secretHash: []),
                event: "x", dedupeKey: "x", payload: "{}", connectionEvent: nil)
            #expect(foreign == .instanceGone)
            #expect(try await h.rows("webhook_events", as: b.tenant.id).count == 1)
            #expect(try await h.app.instances.list(tenantID: TenantID(trusted: b.tenant.id)).map(\.id) == [instB.instance.id])
            #expect(try await h.app.instances.list(tenantID: TenantID(trusted: a.tenant.id)).count == 2)
            // Deleting an instance deletes its events.
            #expect(try await h.app.instances.delete(tenantID: TenantID(trusted: a.tenant.id), id: instA.instance.id))
            #expect(try await h.rows("webhook_events", as: a.tenant.id).count == 0)
            #expect(try await h.app.instances.delete(tenantID: TenantID(trusted: a.tenant.id), id: instA.instance.id) == false)
        }
    }

    @Test("garbage, truncated, non-envelope, wrong content type, oversized bodies and wrong routes get 4xx; the listener keeps serving")
    func badRequests() async throws {
        try await withWebhooks(maxBodyBytes: 64 * 1024) { h, tenants in
            let a = try await signUp(tenants)
            let inst = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Sales")
            let name = inst.instance.gatewayName
            let secret = inst.webhookSecret
            let valid = json(messageUpsert(inst, id: "3EB0VALID"))
            var validCount = 0
            func expectStillServing() async throws {
                validCount += 1
                let response = try await h.post(inst, messageUpsert(inst, id: "3EB0VALID\(validCount)"))
                #expect(response.status == 200)
            }
            let cases: [(String, [UInt8], String?, Int)] = [
                ("garbage", Array("\u{1}\u{2}not json at all".utf8), "application/json", 400),
                ("truncated", Array(valid.prefix(valid.count / 2)), "application/json", 400),
                ("empty", [], "application/json", 400),
                ("array", Array("[1,2,3]".utf8), "application/json", 400),
                ("no event", json(["data": ["a": 1]]), "application/json", 400),
                ("no data", json(["event": "messages.upsert"]), "application/json", 400),
                ("NUL in a string", Array(#"{"event":"x","data":{"t":"a\u0000b"}}"#.utf8), "application/json", 400),
                ("form", valid, "application/x-www-form-urlencoded", 415),
                ("text", valid, "text/plain", 415),
                ("oversized", Array(repeating: UInt8(ascii: " "), count: 200 * 1024) + valid, "application/json", 413),
            ]
            for (label, body, contentType, status) in cases {
                let response = try await h.post(name, secret: secret, body: body, contentType: contentType)
                #expect(response.status == status, "\(label)")
                try await expectStillServing()
            }
            // JSON with a charset parameter is fine.
            #expect(try await h.post(name, secret: secret, body: json(messageUpsert(inst, id: "3EB0CHARSET")), contentType: "application/json; charset=utf-8").status == 200)
            // Routes and methods.
            let wrongPath = try await h.http.execute(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(h.port)/webhooks/other/\(name)", headers: [("Content-Type", "application/json")], body: valid))
            #expect(wrongPath.status == 404)
            let get = try await h.http.execute(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(h.port)/webhooks/evolution/\(name)"))
            #expect(get.status == 405)
            // An oversized chunked body (no Content-Length) is cut off while reading.
            let chunked = try await h.http.execute(HTTPRequest(
                method: "POST", url: "http://127.0.0.1:\(h.port)/webhooks/evolution/\(name)",
                headers: [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), (webhookSecretHeader, secret)],
                body: Array(repeating: UInt8(ascii: " "), count: 200 * 1024), timeout: .seconds(10)))
            #expect(chunked.status == 413)
            // A body cut off by the client closing the connection stores nothing either.
            try await sendTruncatedRequest(port: h.port, path: "/webhooks/evolution/\(name)", secret: secret, body: valid)
            try await expectStillServing()
            // Only the valid events were stored.
            let events = try await h.app.instances.events(tenantID: TenantID(trusted: a.tenant.id), limit: 1000)
            #expect(events.count == validCount + 1)
            #expect(events.allSatisfy { $0.dedupeKey.hasPrefix("message:3EB0VALID") || $0.dedupeKey == "message:3EB0CHARSET" })
        }
    }
}

extension WebhookTests {
    @Test("logout.instance with \"data\": null (as 2.3.6 posts it) is stored, and alone it flags the number for re-pairing")
    func logoutWithNullData() async throws {
        try await withWebhooks { h, tenants in
            let a = try await signUp(tenants)
            let inst = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Sales")
            #expect(try await h.post(inst, connectionUpdate(inst, state: "open", reason: 200, at: "2026-11-25T10:00:00.000Z")).status == 200)
            #expect(try await h.instance(inst).state == .open)
            // The other events of the logged-out close were lost: this one is enough.
            let logout = try await h.post(inst, envelope("logout.instance", inst, NSNull(), at: "2026-11-25T10:00:01.000Z"))
            #expect(logout.status == 200, "\(logout.bodyString)")
            #expect(logout.bodyString.contains("\"duplicate\":false"))
            let row = try await h.instance(inst)
            #expect(row.state == .needsRepairing && row.needsRepairing && row.stateReason == 401)
            // Retried, it is the same delivery; remove.instance also comes with null data.
            #expect(try await h.post(inst, envelope("logout.instance", inst, NSNull(), at: "2026-11-25T10:00:01.000Z")).bodyString.contains("\"duplicate\":true"))
            #expect(try await h.post(inst, envelope("remove.instance", inst, NSNull(), at: "2026-11-25T10:00:02.000Z")).status == 200)
            let events = try await h.app.instances.events(tenantID: TenantID(trusted: a.tenant.id), instanceID: inst.instance.id)
            #expect(events.map(\.event) == ["connection.update", "logout.instance", "remove.instance"])
            try #require(events.count == 3)
            let stored = try JSONSerialization.jsonObject(with: Data(events[1].payload.utf8)) as? [String: Any]
            #expect(stored?["data"] is NSNull)
        }
    }

    @Test("connection changes follow the gateway's date_time, not arrival: a late older event changes nothing")
    func orderedByDateTime() async throws {
        try await withWebhooks { h, tenants in
            let a = try await signUp(tenants)
            let inst = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Sales")
            #expect(try await h.post(inst, connectionUpdate(inst, state: "open", reason: 200, at: "2026-11-25T10:00:00.000Z")).status == 200)
            // A reconnect: open (10:05:00.040) arrives before the connecting (10:05:00.000) it followed.
            #expect(try await h.post(inst, connectionUpdate(inst, state: "open", reason: 200, at: "2026-11-25T10:05:00.040Z")).status == 200)
            let late = try await h.post(inst, connectionUpdate(inst, state: "connecting", reason: 200, at: "2026-11-25T10:05:00.000Z"))
            #expect(late.status == 200 && late.bodyString.contains("\"duplicate\":false"), "stored, acknowledged")
            var row = try await h.instance(inst)
            #expect(row.state == .open)
            #expect(row.stateGatewayTime == GatewayTime("2026-11-25T10:05:00.040Z"))
            // A newer one applies.
            #expect(try await h.post(inst, connectionUpdate(inst, state: "close", reason: 428, at: "2026-11-25T10:06:00.000Z")).status == 200)
            row = try await h.instance(inst)
            #expect(row.state == .close && row.stateReason == 428)
            #expect(try await h.app.instances.events(tenantID: TenantID(trusted: a.tenant.id), instanceID: inst.instance.id).count == 4)
        }
    }

    @Test("a webhook racing the instance's deletion gets 404, which the gateway does not retry, not 503")
    func raceWithDeletion() async throws {
        try await withWebhooks { h, tenants in
            let a = try await signUp(tenants)
            let inst = try await h.app.instances.create(tenantID: TenantID(trusted: a.tenant.id), displayName: "Sales")
            let store = h.app.instances
            // The instance is deleted after the listener found it and checked the secret, before
            // the event is stored.
            let processor = WebhookProcessor(instances: store, logger: quietLogger, beforeStore: { target in
                _ = try? await store.delete(tenantID: target.tenantID, id: target.instanceID)
            })
            let server = WebhookServer(configuration: WebhookServerConfiguration(port: 0), processor: processor, logger: quietLogger)
            try await server.start()
            let racing = WebhookHarness(app: h.app, http: h.http, port: try #require(server.localPort))
            let response = try await racing.post(inst, connectionUpdate(inst, state: "open", reason: 200, at: "2026-11-25T10:00:00.000Z"))
            await server.shutdown()
            #expect(response.status == 404, "\(response.status) \(response.bodyString)")
            #expect(response.bodyString.contains("deleted"))
            #expect(try await h.rows("webhook_events", as: a.tenant.id).count == 0)
        }
    }
}

/// Sends a head announcing `body.count` bytes, half the body, and closes.
func sendTruncatedRequest(port: Int, path: String, secret: String, body: [UInt8]) async throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #expect(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    #expect(connected == 0)
    let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\(webhookSecretHeader): \(secret)\r\nContent-Length: \(body.count)\r\n\r\n"
    let bytes = Array(head.utf8) + body.prefix(body.count / 2)
    let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    #expect(sent == bytes.count)
    try await Task.sleep(for: .milliseconds(100))
}
