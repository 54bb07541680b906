@testable import EvolutionSimulator
import Foundation
import Testing
import WaqtorSecurity
import WaqtorEvolution

@Suite("Simulator webhooks to a receiver (real HTTP)")
struct WebhookTests {
    @Test func sendPostsSendMessageThenAcksWithTheConfiguredHeaders() async throws {
        let h = try await Harness.start()
        let receiver = try await WebhookReceiver.start()
        let name = uniqueInstance()
        let webhook = EvolutionWebhook(url: receiver.url, headers: ["x-waqtor-secret": "per-instance-secret"], events: [])
        let created = try await h.client.createInstance(name: name, token: "itok", webhook: webhook)

        #expect(try await h.raw("POST", "/_sim/connect/\(name)", body: "{\"number\":\"5511912345678\"}").status == 200)
        let sent = try await h.client.sendText(instance: name, number: "5511988887777", text: "hi")

        let posts = await receiver.waitFor(5)
        #expect(posts.map(\.event) == ["connection.update", "send.message", "messages.update", "messages.update", "messages.update"])
        try #require(posts.count == 5, "five webhooks within the wait")
        for post in posts {
            #expect(post.path == "/hooks/evolution")
            #expect(post.header("x-waqtor-secret") == "per-instance-secret")
            #expect(post.header("content-type") == "application/json")
            #expect(post.json["instance"] as? String == name)
            #expect(post.json["destination"] as? String == receiver.url)
            #expect(post.json["sender"] as? String == "5511912345678@s.whatsapp.net")
            #expect(post.json["server_url"] as? String == h.simulator.baseURL)
            #expect(post.json["apikey"] as? String == "itok")
            #expect((post.json["date_time"] as? String)?.hasSuffix("Z") == true)
        }
        let open = posts[0].data
        #expect(open["state"] as? String == "open" && open["instance"] as? String == name)
        #expect(open["wuid"] as? String == "5511912345678@s.whatsapp.net")

        let echoed = posts[1].data
        #expect((echoed["key"] as? [String: Any])?["id"] as? String == sent.messageId)
        #expect(echoed["source"] as? String == "web" && echoed["status"] as? String == "PENDING")

        #expect(posts[2...].map { $0.data["status"] as? String } == ["SERVER_ACK", "DELIVERY_ACK", "READ"])
        for update in posts[2...].map(\.data) {
            #expect(Set(update.keys) == ["keyId", "remoteJid", "fromMe", "status", "instanceId", "messageId"])
            #expect(update["keyId"] as? String == sent.messageId)
            #expect(update["remoteJid"] as? String == "5511988887777@s.whatsapp.net")
            #expect(update["fromMe"] as? Bool == true)
            #expect(update["instanceId"] as? String == created.instanceId)
        }
        #expect(h.simulator.deliveries.prefix(5).allSatisfy { $0.status == 200 })
        await h.stop()
        await receiver.stop()
    }

    @Test func inboundMessageAndLoggedOutClose() async throws {
        let h = try await Harness.start()
        let receiver = try await WebhookReceiver.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name, webhook: EvolutionWebhook(url: receiver.url, headers: ["x-waqtor-secret": "s"], events: EvolutionWebhook.standardEvents))
        h.simulator.connect(instance: name, number: "5511900000001")

        let inbound = try await h.raw("POST", "/_sim/inbound/\(name)", body: #"{"from":"5511977770000","text":"Quero saber o preço","pushName":"Ana"}"#)
        #expect(inbound.status == 200)
        let logout = try await h.raw("POST", "/_sim/logged-out/\(name)", body: #"{"statusReason":401}"#)
        #expect(logout.status == 200)

        let posts = await receiver.waitFor(5)
        #expect(posts.map(\.event) == ["connection.update", "messages.upsert", "status.instance", "logout.instance", "connection.update"])
        try #require(posts.count == 5, "five webhooks within the wait")
        let upsert = posts[1].data
        let key = try #require(upsert["key"] as? [String: Any])
        #expect(key["remoteJid"] as? String == "5511977770000@s.whatsapp.net" && key["fromMe"] as? Bool == false)
        #expect(key["id"] as? String == (inbound.json as? [String: Any])?["id"] as? String)
        #expect(upsert["pushName"] as? String == "Ana" && upsert["status"] as? String == "DELIVERY_ACK")
        #expect((upsert["message"] as? [String: Any])?["conversation"] as? String == "Quero saber o preço")
        #expect((upsert["messageTimestamp"] as? Int ?? 0) > 1_700_000_000)
        #expect(posts[2].data["status"] as? String == "closed" && posts[2].data["disconnectionReasonCode"] as? Int == 401)
        #expect(posts[4].data["state"] as? String == "close" && posts[4].data["statusReason"] as? Int == 401)
        #expect(try await h.client.connectionState(instance: name) == .close)
        await h.stop()
        await receiver.stop()
    }

    @Test func jwtKeyBecomesABearerToken() async throws {
        let h = try await Harness.start()
        let receiver = try await WebhookReceiver.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name, webhook: EvolutionWebhook(url: receiver.url, headers: ["jwt_key": "s3cret", "x-extra": "1"], events: ["CONNECTION_UPDATE"]))
        h.simulator.connect(instance: name)
        let post = try #require(await receiver.waitFor(1).first)
        #expect(post.header("jwt_key") == nil && post.header("x-extra") == "1")
        let bearer = try #require(post.header("authorization"))
        #expect(bearer.hasPrefix("Bearer "))
        let parts = bearer.dropFirst(7).split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        // The signature is HMAC-SHA256 over `header.payload` (known-answer vectors: WaqtorCryptoTests).
        var signatureText = parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while signatureText.count % 4 != 0 { signatureText += "=" }
        let signature = try #require(Data(base64Encoded: signatureText))
        #expect(Hashing.isValidHMACSHA256(Array(signature), key: Array("s3cret".utf8), message: Array((parts[0] + "." + parts[1]).utf8)))
        #expect(WebhookJWT.base64URL(Array(signature)) == parts[2])
        var payloadText = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payloadText.count % 4 != 0 { payloadText += "=" }
        let payloadData = try #require(Data(base64Encoded: payloadText))
        let payload = try #require(try JSONSerialization.jsonObject(with: payloadData) as? [String: Any])
        let iat = try #require(payload["iat"] as? Int)
        #expect(payload["exp"] as? Int == iat + 600)
        await h.stop()
        await receiver.stop()
    }

    @Test func eventFilterAndByEvents() async throws {
        let h = try await Harness.start()
        let receiver = try await WebhookReceiver.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name, webhook: EvolutionWebhook(url: receiver.url, byEvents: true, events: ["MESSAGES_UPDATE"]))
        h.simulator.connect(instance: name)
        _ = try await h.client.sendText(instance: name, number: "5511", text: "x")
        let posts = await receiver.waitFor(3)
        try await Task.sleep(for: .milliseconds(50))
        #expect(receiver.posts.count == 3)
        #expect(posts.allSatisfy { $0.event == "messages.update" && $0.path == "/hooks/evolution/messages-update" })
        await h.stop()
        await receiver.stop()
    }
}
