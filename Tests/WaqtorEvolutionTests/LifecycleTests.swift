import EvolutionSimulator
import Foundation
import Testing
import WaqtorEvolution
import WaqtorHTTP

@Suite("Evolution client against the simulator (real HTTP)")
struct LifecycleTests {
    @Test func fullLifeOfAnInstance() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance("tenant-a")
        let webhook = EvolutionWebhook(url: "http://127.0.0.1:9/hooks", headers: ["x-waqtor-secret": "s3cret"], events: EvolutionWebhook.standardEvents)

        let created = try await h.client.createInstance(name: name, token: "inst-token-1", webhook: webhook)
        #expect(created.instanceName == name)
        #expect(created.integration == "WHATSAPP-BAILEYS")
        #expect(created.token == "inst-token-1")
        #expect(created.instanceId?.isEmpty == false)
        #expect(created.qrCode == nil)

        // QR code + pairing code while closed.
        guard case .qrCode(let qr) = try await h.client.connect(instance: name, number: "+55 (11) 99999-0001") else {
            Issue.record("expected a QR code"); return
        }
        #expect(qr.base64?.hasPrefix("data:image/png;base64,") == true)
        #expect(qr.code?.hasPrefix("2@") == true)
        #expect(qr.pairingCode?.count == 8)
        #expect(qr.count == 1)
        let png = try #require(qr.pngData)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(try await h.client.connectionState(instance: name) == .connecting)

        // While connecting, 2.3.6 answers the session's cached codes, whatever is asked.
        guard case .qrCode(let second) = try await h.client.connect(instance: name) else { Issue.record("expected a QR code"); return }
        #expect(second == qr)

        // Connected through the control route.
        let control = try await h.raw("POST", "/_sim/connect/\(name)")
        #expect(control.status == 200)
        #expect(try await h.client.connectionState(instance: name) == .open)
        #expect(try await h.client.connect(instance: name) == .state(.open))

        let sent = try await h.client.sendText(instance: name, number: "5511988887777", text: "Olá 👋", delay: 50)
        #expect(sent.messageId.hasPrefix("3EB0") && sent.messageId.count == 22)
        #expect(sent.messageId.dropFirst(4).allSatisfy { $0.isHexDigit })
        #expect(sent.remoteJid == "5511988887777@s.whatsapp.net")
        #expect(sent.fromMe && sent.status == "PENDING" && sent.messageType == "conversation")
        #expect(sent.instanceId == created.instanceId)
        #expect((sent.messageTimestamp ?? 0) > 1_700_000_000)

        let media = try await h.client.sendMedia(instance: name, number: "5511988887777", mediatype: .document, media: .bytes(Array("%PDF-1.4 test".utf8)), caption: "Invoice", fileName: "invoice.pdf")
        #expect(media.messageType == "documentMessage" && media.messageId.hasPrefix("3EB0"))
        let image = try await h.client.sendMedia(instance: name, number: "5511988887777", mediatype: .image, media: .url("http://127.0.0.1:8080/a.png"), caption: "pic")
        #expect(image.messageType == "imageMessage")

        h.simulator.addUnknownNumbers(["5511000000000"])
        let checks = try await h.client.whatsappNumbers(instance: name, numbers: ["5511988887777", "+55 11 0000-00000"])
        #expect(checks.map(\.exists) == [true, false])
        #expect(checks[0].jid == "5511988887777@s.whatsapp.net" && checks[1].number == "5511000000000")

        let listed = try await h.client.fetchInstances(instanceName: name)
        #expect(listed.count == 1)
        #expect(listed.first?.name == name && listed.first?.connectionStatus == .open)
        #expect(listed.first?.ownerJid == "5511999990001@s.whatsapp.net")
        #expect(try await h.client.fetchInstances().contains { $0.name == name })

        try await h.client.setWebhook(instance: name, webhook: EvolutionWebhook(url: "http://127.0.0.1:9/other", events: ["MESSAGES_UPDATE"]))
        #expect(try await h.client.restart(instance: name) == .open)

        #expect(try await h.client.logout(instance: name) == "Instance logged out")
        #expect(try await h.client.connectionState(instance: name) == .close)
        #expect(try await h.client.delete(instance: name) == "Instance deleted")
        #expect(await gatewayError { try await h.client.connectionState(instance: name) }?.kind == .instanceNotFound)
        #expect(try await h.client.fetchInstances(instanceName: name).isEmpty)
        await h.stop()
    }

    @Test func createWithQRCodeAndAutomaticConnect() async throws {
        let h = try await Harness.start(connectAfter: .milliseconds(100))
        let name = uniqueInstance()
        let created = try await h.client.createInstance(name: name, qrcode: true, webhook: EvolutionWebhook(url: "http://127.0.0.1:9/h"))
        #expect(created.qrCode?.base64?.hasPrefix("data:image/png;base64,") == true)
        #expect(created.token?.isEmpty == false)
        var state = try await h.client.connectionState(instance: name)
        let deadline = ContinuousClock.now + .seconds(5)
        while state != .open, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            state = try await h.client.connectionState(instance: name)
        }
        #expect(state == .open)

        // The instance key works on its own routes.
        let scoped = h.client(apiKey: try #require(created.token))
        #expect(try await scoped.connectionState(instance: name) == .open)
        await h.stop()
    }

    @Test func connectWithoutQRCodeAndConnectFailure() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)
        #expect(try await h.raw("POST", "/_sim/connect-mode/\(name)", body: #"{"mode":"no-qr"}"#).status == 200)
        guard case .qrCode(let empty) = try await h.client.connect(instance: name) else { Issue.record("expected a QR code"); return }
        #expect(empty.isEmpty && empty.count == 0 && empty.pngData == nil)

        h.simulator.setConnectMode("error", instance: name)
        let error = try #require(await gatewayError { try await h.client.connect(instance: name) })
        #expect(error.kind == .server(200) && error.status == 200)
        #expect(error.messages == ["Error: Connection Failure"])
        await h.stop()
    }

    @Test func instanceNamesAreOpaqueAndPercentEncoded() async throws {
        let h = try await Harness.start()
        let name = "tenant 7/ñ?x=1"
        _ = try await h.client.createInstance(name: name)
        #expect(try await h.client.connectionState(instance: name) == .close)
        let paths = h.simulator.requests.map(\.path)
        #expect(paths.last == "/instance/connectionState/tenant%207%2F%C3%B1%3Fx%3D1")
        _ = try await h.client.connect(instance: name, number: "+55 (11) 98888-7777")
        #expect(h.simulator.requests.last?.path == "/instance/connect/tenant%207%2F%C3%B1%3Fx%3D1?number=5511988887777")
        #expect(try await h.client.delete(instance: name) == "Instance deleted")
        await h.stop()
    }
}
