import EvolutionSimulator
import Foundation
import Testing
@testable import WaqtorApp
import WaqtorChat
import WaqtorCore
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport
import WaqtorWorkers

/// `waqtor chat …` against a server whose gateway is the Evolution API simulator: inbound
/// messages come in by its webhooks and are projected here, as in ChatTests.
@Suite("CLI: chat against the gateway simulator")
struct CLIChatTests {
    @Test("list, history, media saved and checked, read, reply, send-media, settings, tail (NDJSON), delete")
    func chat() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 0, gap: 1000...1000)
            let instance = try #require(fixture.instances.first)
            let gatewayName = try #require(fixture.gatewayNames[instance])
            let tenant = TenantID(trusted: fixture.account.tenant.id)
            var cli = try CLI(app)
            defer { cli.remove() }
            cli.environment["WAQTOR_TOKEN"] = fixture.account.token

            var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            png += (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 3) }
            _ = simulator.injectInbound(instance: gatewayName, from: "5511911112222", text: "Olá, vocês abrem amanhã?", pushName: "Bia")
            _ = try #require(simulator.injectInboundMedia(instance: gatewayName, from: "5511911112222", part: "imageMessage", bytes: png,
                                                          mimeType: "image/png", caption: "a foto", pushName: "Bia"))
            let projector = ChatProjector(chat: app.chat, lanes: nil, live: app.live, clock: SystemClock(), tenants: [tenant], logger: quietLogger)
            let fetcher = MediaFetcher(chat: app.chat, files: app.mediaFiles, gateway: app.gateway, live: app.live, clock: SystemClock(),
                                       baseBackoff: .milliseconds(20), tenants: [tenant], logger: quietLogger)
            var conversation = ""
            try await awaitCondition("both messages are projected and the media is stored", seconds: 180) {
                try await projector.runOnce()
                try await fetcher.runOnce()
                let listed = try await cli.run(["chat", "list", "--json"])
                guard let first = (value(try listed.json(), "conversations") as? [[String: Any]])?.first,
                      let id = first["id"] as? String else { return false }
                conversation = id
                let history = try await cli.run(["chat", "history", id, "--json"])
                let messages = value(try history.json(), "messages") as? [[String: Any]] ?? []
                return messages.count == 2 && messages.contains { $0["media_state"] as? String == "STORED" }
            }

            let listed = try await cli.run(["chat", "list", "--json"])
            let first = try #require((value(try listed.json(), "conversations") as? [[String: Any]])?.first, "\(listed)")
            #expect(string(first, "phone_number") == "+5511911112222")
            #expect(string(first, "display_name") == "Bia")
            #expect(value(first, "unread_count") as? Int == 2)
            #expect(string(try listed.json(), "next_page_token") == "")

            let history = try await cli.run(["chat", "history", conversation, "--json"])
            let messages = try #require(value(try history.json(), "messages") as? [[String: Any]], "\(history)")
            let image = try #require(messages.first { $0["kind"] as? String == "IMAGE" })
            #expect(string(image, "direction") == "INBOUND")
            #expect(value(image, "media_size_bytes") as? Int == png.count)
            #expect(messages.contains { $0["text"] as? String == "Olá, vocês abrem amanhã?" })

            // The media, streamed to a file and checked against the server's SHA-256.
            let saved = cli.configDirectory.appendingPathComponent("foto.png")
            let media = try await cli.run(["chat", "media", try #require(string(image, "id")), "-o", saved.path, "--json"])
            #expect(media.status == 0, "\(media)")
            #expect(value(try media.json(), "size_bytes") as? Int == png.count)
            #expect(string(try media.json(), "mime_type") == "image/png")
            #expect(FileManager.default.contents(atPath: saved.path) == Data(png))
            #expect(!FileManager.default.fileExists(atPath: saved.path + ".part"), "no partial file left")
            let noMedia = try #require(messages.first { $0["kind"] as? String == "TEXT" }.flatMap { $0["id"] as? String })
            let refused = try await cli.run(["chat", "media", noMedia, "-o", cli.configDirectory.appendingPathComponent("x").path, "--json"])
            #expect(refused.status == 2, "\(refused)")
            #expect(string(try refused.error(), "status") == "FAILED_PRECONDITION")
            #expect(!FileManager.default.fileExists(atPath: cli.configDirectory.appendingPathComponent("x").path))
            let unknown = try await cli.run(["chat", "media", UUID().uuidString.lowercased(), "-o", saved.path + ".2", "--json"])
            #expect(string(try unknown.error(), "hint") == "check the id: waqtor chat list shows them", "\(unknown)")

            let read = try await cli.run(["chat", "read", conversation, "--json"])
            #expect(value(try read.json(), "conversation", "unread_count") as? Int == 0, "\(read)")

            let reply = try await cli.run(["chat", "reply", conversation, "Sim, das 9h às 18h.", "--json"])
            #expect(reply.status == 0, "\(reply)")
            #expect(string(try reply.json(), "message", "status") == "PENDING")
            #expect(string(try reply.json(), "message", "text") == "Sim, das 9h às 18h.")

            let document = cli.configDirectory.appendingPathComponent("price-list.pdf")
            try Data("%PDF-1.4\n% a small document\n".utf8 + Data(repeating: 0x20, count: 3000)).write(to: document)
            let sentMedia = try await cli.run(["chat", "send-media", conversation, document.path, "--caption", "prices", "--json"])
            #expect(sentMedia.status == 0, "\(sentMedia)")
            #expect(string(try sentMedia.json(), "message", "status") == "PENDING")
            #expect(!sentMedia.stderr.contains("uploading"), "no progress in a pipe")
            let unreadable = try await cli.run(["chat", "send-media", conversation, "/nonexistent/file.pdf", "--json"])
            #expect(unreadable.status == 64, "\(unreadable)")

            let settings = try await cli.run(["chat", "settings", "--opt-out-words", "PARAR, STOP", "--read-receipts", "off", "--json"])
            #expect(value(try settings.json(), "opt_out_words") as? [String] == ["PARAR", "STOP"], "\(settings)")
            #expect(value(try settings.json(), "send_read_receipts") as? Bool == false)
            #expect(value(try await cli.run(["chat", "settings", "--json"]).json(), "opt_out_words") as? [String] == ["PARAR", "STOP"])

            // tail: one JSON line per event, written as it happens.
            let tail = try cli.spawn(["chat", "tail", "--conversation", conversation, "--json"])
            defer { tail.stop() }
            try await awaitCondition("the tail is subscribed") { app.live.subscriberCount >= 1 }
            _ = simulator.injectInbound(instance: gatewayName, from: "5511911112222", text: "obrigada!", pushName: "Bia")
            try await awaitCondition("the tail printed the new message") {
                try await projector.runOnce()
                return tail.output.contains { $0.contains("obrigada!") }
            }
            let event = try await tail.waitForLine("the new message") { $0.contains("obrigada!") }
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any])
            #expect(string(parsed, "type") == "message")
            #expect(string(parsed, "message", "conversation_id") == conversation)
            #expect(string(parsed, "event_id")?.isEmpty == false)
            tail.interrupt()
            _ = await tail.finish()

            let deleted = try await cli.run(["chat", "delete", conversation, "--json"])
            #expect(((value(try deleted.json(), "deleted_messages") as? Int) ?? 0) >= 4, "\(deleted)")
            let gone = try await cli.run(["chat", "history", conversation, "--json"])
            #expect(string(try gone.error(), "status") == "NOT_FOUND", "\(gone)")
        }
    }
}
