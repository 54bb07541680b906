import EvolutionSimulator
import Foundation
import Testing
import WaqtorEvolution

/// What the client put on the wire, read back from the simulator's record.
@Suite("Evolution client request shapes")
struct RequestShapeTests {
    @Test func exactBodiesAndHeaders() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        let webhook = EvolutionWebhook(url: "https://waqtor.example/hooks/evolution", headers: ["x-waqtor-secret": "abc"], events: ["CONNECTION_UPDATE", "SEND_MESSAGE"])
        _ = try await h.client.createInstance(name: name, token: "tok", number: "5511977776666", webhook: webhook)
        _ = try await h.client.connect(instance: name, number: "5511977776666")
        h.simulator.connect(instance: name)
        _ = try await h.client.sendText(instance: name, number: "5511988887777", text: "hello", delay: 1200, linkPreview: false)
        _ = try await h.client.sendMedia(instance: name, number: "5511988887777", mediatype: .image, media: .base64("data:image/png;base64,iVBORw0KGgo="), mimetype: "image/png", caption: "c")
        try await h.client.setWebhook(instance: name, webhook: webhook)
        _ = try await h.client.whatsappNumbers(instance: name, numbers: ["5511988887777"])

        let requests = h.simulator.requests
        #expect(requests.count == 6)
        for request in requests {
            #expect(request.header("apikey") == Harness.globalKey)
            if request.method == "GET" {
                #expect(request.header("content-type") == nil && request.body.isEmpty)
            } else {
                #expect(request.header("content-type") == "application/json")
            }
        }

        let create = try #require(requests.first { $0.path == "/instance/create" }?.jsonObject)
        #expect(Set(create.keys) == ["instanceName", "integration", "qrcode", "token", "number", "webhook"])
        #expect(create["instanceName"] as? String == name)
        #expect(create["integration"] as? String == "WHATSAPP-BAILEYS")
        #expect(create["qrcode"] as? Bool == false)
        #expect(create["token"] as? String == "tok" && create["number"] as? String == "5511977776666")
        let nested = try #require(create["webhook"] as? [String: Any])
        #expect(Set(nested.keys) == ["url", "byEvents", "base64", "headers", "events"])
        #expect(nested["url"] as? String == "https://waqtor.example/hooks/evolution")
        #expect(nested["byEvents"] as? Bool == false && nested["base64"] as? Bool == false)
        #expect(nested["headers"] as? [String: String] == ["x-waqtor-secret": "abc"])
        #expect(nested["events"] as? [String] == ["CONNECTION_UPDATE", "SEND_MESSAGE"])
        #expect(create["webhookUrl"] == nil)

        #expect(requests[1].method == "GET" && requests[1].path == "/instance/connect/\(name)?number=5511977776666")

        let text = try #require(requests.first { $0.path == "/message/sendText/\(name)" }?.jsonObject)
        #expect(Set(text.keys) == ["number", "text", "delay", "linkPreview"])
        #expect(text["number"] as? String == "5511988887777" && text["text"] as? String == "hello")
        #expect(text["delay"] as? Int == 1200 && text["linkPreview"] as? Bool == false)

        let media = try #require(requests.first { $0.path == "/message/sendMedia/\(name)" }?.jsonObject)
        #expect(Set(media.keys) == ["number", "mediatype", "mimetype", "caption", "media"])
        #expect(media["media"] as? String == "iVBORw0KGgo=")
        #expect(media["mediatype"] as? String == "image")

        let set = try #require(requests.first { $0.path == "/webhook/set/\(name)" }?.jsonObject)
        let setHook = try #require(set["webhook"] as? [String: Any])
        #expect(setHook["enabled"] as? Bool == true)
        #expect(setHook["url"] as? String == "https://waqtor.example/hooks/evolution")
        #expect(setHook["events"] as? [String] == ["CONNECTION_UPDATE", "SEND_MESSAGE"])

        let numbers = try #require(requests.first { $0.path == "/chat/whatsappNumbers/\(name)" }?.jsonObject)
        #expect(numbers["numbers"] as? [String] == ["5511988887777"])

        // A body-less POST carries no body and no content type.
        h.simulator.clearRequests()
        _ = try await h.client.restart(instance: name)
        let restart = try #require(h.simulator.requests.first)
        #expect(restart.method == "POST" && restart.path == "/instance/restart/\(name)")
        #expect(restart.body.isEmpty && restart.header("content-type") == nil && restart.header("apikey") == Harness.globalKey)
        _ = try await h.client.connect(instance: name)  // re-fill the record for the HTTP listing below
        h.simulator.clearRequests()
        for _ in 0..<6 { _ = try await h.client.connectionState(instance: name) }

        // The same record over HTTP; DELETE clears it.
        let listed = try await h.raw("GET", "/_sim/requests")
        #expect((listed.json as? [[String: Any]])?.count == 6)
        #expect(((listed.json as? [[String: Any]])?.first?["headers"] as? [String: String])?["apikey"] == Harness.globalKey)
        #expect(try await h.raw("DELETE", "/_sim/requests").status == 200)
        #expect(h.simulator.requests.isEmpty)
        await h.stop()
    }
}
