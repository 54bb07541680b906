import EvolutionSimulator
import Foundation
import Testing
@testable import WaqtorEvolution
import WaqtorHTTP

/// What Evolution API 2.3.6 does that a client must cope with, as the simulator reproduces it
/// (shapes read from the 2.3.6 source: InstanceController, BaileysStartupService.connectionUpdate,
/// WAMonitoringService, ChannelStartupService.sendDataWebhook, chat.router).
@Suite("2.3.6 shapes: null data, paired number, local date_time, cached pairing codes, Boom errors")
struct GatewayShapeTests {
    @Test("logout.instance and remove.instance carry data: null; the open event carries wuid and profileName")
    func nullDataAndPairedNumber() async throws {
        let h = try await Harness.start()
        let receiver = try await WebhookReceiver.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name, webhook: EvolutionWebhook(url: receiver.url, events: []))
        #expect(h.simulator.connect(instance: name, number: "5511977776666", profileName: "Loja Centro"))
        #expect(try await h.client.logout(instance: name) == "Instance logged out")
        #expect(try await h.client.delete(instance: name) == "Instance deleted")

        let posts = await receiver.waitFor(5)
        try #require(posts.count == 5, "five webhooks within the wait")
        #expect(posts.map(\.event) == ["connection.update", "status.instance", "logout.instance", "connection.update", "remove.instance"])
        let open = posts[0].data
        #expect(open["state"] as? String == "open" && open["statusReason"] as? Int == 200)
        #expect(open["wuid"] as? String == "5511977776666@s.whatsapp.net" && open["profileName"] as? String == "Loja Centro")
        #expect(posts[2].json["data"] is NSNull && posts[2].json.keys.contains("data"))
        #expect(posts[4].json["data"] is NSNull)
        #expect(posts[3].data["state"] as? String == "close" && posts[3].data["statusReason"] as? Int == 401)
        await h.stop()
        await receiver.stop()
    }

    @Test("date_time is the gateway's local wall-clock time with a Z suffix, milliseconds, strictly increasing")
    func localDateTime() async throws {
        let zone = try #require(TimeZone(identifier: "Asia/Kolkata"))  // +05:30, no DST: visible and stable
        let simulator = try await EvolutionSimulator.start(.init(apiKey: Harness.globalKey, timeZone: zone))
        let http = HTTPClient()
        let client = EvolutionClient(baseURL: simulator.baseURL, apiKey: Harness.globalKey, http: http)
        let receiver = try await WebhookReceiver.start()
        let name = uniqueInstance()
        _ = try await client.createInstance(name: name, webhook: EvolutionWebhook(url: receiver.url, events: []))
        let before = Date()
        #expect(simulator.reconnect(instance: name) == false, "only an open instance reconnects")
        simulator.connect(instance: name)
        #expect(simulator.reconnect(instance: name))
        let posts = await receiver.waitFor(3)
        let after = Date()
        try #require(posts.count == 3)
        #expect(posts.map { $0.data["state"] as? String } == ["open", "connecting", "open"])
        let stamps = posts.compactMap { $0.json["date_time"] as? String }
        #expect(stamps.allSatisfy { $0.count == 24 && $0.hasSuffix("Z") }, "\(stamps)")
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let read = stamps.compactMap { parser.date(from: $0) }
        try #require(read.count == 3)
        for stamp in read {
            // Read as UTC, it is 5 h 30 min ahead of the real time.
            let skew = stamp.timeIntervalSince1970 - 19_800
            #expect(skew >= before.timeIntervalSince1970 - 1 && skew <= after.timeIntervalSince1970 + 1)
        }
        #expect(read[0] < read[1] && read[1] < read[2])
        await receiver.stop()
        await http.shutdown()
        await simulator.stop()
    }

    @Test("connect while connecting answers the cached codes whatever number it is given; a logout ends the pairing")
    func cachedPairingCodes() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)
        guard case .qrCode(let first) = try await h.client.connect(instance: name, number: "5511911110000") else {
            Issue.record("expected a QR code"); return
        }
        #expect(first.pairingCode?.count == 8)
        #expect(h.simulator.pairingSession(of: name)?.number == "5511911110000")
        guard case .qrCode(let again) = try await h.client.connect(instance: name, number: "5511922220000") else {
            Issue.record("expected a QR code"); return
        }
        #expect(again == first, "the first number's codes, as 2.3.6 answers")
        // 2.3.6 logs a connecting instance out (only a closed one is refused), then connect starts
        // a session for the new number.
        #expect(try await h.client.logout(instance: name) == "Instance logged out")
        #expect(try await h.client.connectionState(instance: name) == .close)
        guard case .qrCode(let second) = try await h.client.connect(instance: name, number: "5511922220000") else {
            Issue.record("expected a QR code"); return
        }
        #expect(second.pairingCode?.count == 8 && second.pairingCode != first.pairingCode && second.code != first.code)
        #expect(h.simulator.pairingSession(of: name)?.number == "5511922220000")
        #expect(h.simulator.pairingSession(of: name)?.pairingCode == second.pairingCode)
        #expect(second.count == 2, "the count is never reset")
        await h.stop()
    }

    @Test("/chat/whatsappNumbers on a closed socket: 400 with a raw Boom object, classified as connection closed")
    func whatsappNumbersBoom() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)
        let error = try #require(await gatewayError { try await h.client.whatsappNumbers(instance: name, numbers: ["5511988887777"]) })
        #expect(error.status == 400)
        #expect(error.kind == .connectionClosed, "not a bad request: the socket is down")
        #expect(error.messages == ["Connection Closed"])
        #expect(error.body.contains("\"isBoom\":true") && !error.body.contains("\"response\""))

        // The body as JSON.stringify writes Baileys' Boom: no top-level message.
        let boom = #"{"data":null,"isBoom":true,"isServer":false,"output":{"statusCode":428,"payload":{"statusCode":428,"error":"Precondition Required","message":"Connection Closed"},"headers":{}}}"#
        let classified = EvolutionError.classify(status: 400, body: Array(boom.utf8))
        #expect(classified.kind == .connectionClosed && classified.messages == ["Connection Closed"])
        // Another Boom stays a bad request, with its message.
        let timedOut = #"{"data":null,"isBoom":true,"isServer":false,"output":{"statusCode":408,"payload":{"statusCode":408,"error":"Request Time-out","message":"Timed Out"},"headers":{}}}"#
        #expect(EvolutionError.classify(status: 400, body: Array(timedOut.utf8)).kind == .badRequest(["Timed Out"]))
        await h.stop()
    }
}
