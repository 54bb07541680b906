import EvolutionSimulator
import Foundation
import Testing
@testable import WaqtorApp
import WaqtorChat
import WaqtorCore
import WaqtorEvolution
import WaqtorHTTP
import WaqtorInstances
import WaqtorPostgres
import WaqtorProto
import WaqtorRPC
import WaqtorSendQueue
import WaqtorTenants
import WaqtorTestSupport
import WaqtorWorkers

/// An upsert envelope of any message part, from `phone` (or a LID with the phone as remoteJidAlt).
func chatUpsert(_ instance: CreatedInstance, id: String, phone: String = "5511988887777", lid: String? = nil, fromMe: Bool = false,
                event: String = "messages.upsert", message: [String: Any], contextInfo: [String: Any]? = nil, at: Int = 1_764_000_000,
                pushName: String = "Maria") -> [String: Any] {
    var key: [String: Any] = ["remoteJid": lid ?? "\(phone)@s.whatsapp.net", "fromMe": fromMe, "id": id, "participant": ""]
    if lid != nil {
        key["remoteJidAlt"] = "\(phone)@s.whatsapp.net"
        key["addressingMode"] = "lid"
    }
    var data: [String: Any] = ["key": key, "pushName": fromMe ? "Você" : pushName, "status": fromMe ? "SERVER_ACK" : "DELIVERY_ACK",
                               "message": message, "messageType": message.keys.sorted().first ?? "unknown", "messageTimestamp": at,
                               "instanceId": "6f1c", "source": "android"]
    if let contextInfo { data["contextInfo"] = contextInfo }
    return envelope(event, instance, data)
}

@Suite("Chat: inbound messages become conversations", .serialized)
struct ChatTests {
    /// Projects the number's events here (waiting while another projector holds the number: the
    /// servers other tests start project every tenant's events too, so assertions look at what is
    /// stored, not at which projector stored it).
    @discardableResult
    static func project(_ app: WaqtorApplication, _ instance: CreatedInstance, outboundGrace: TimeInterval = 60) async throws -> ProjectionResult {
        while true {
            let result = try await app.chat.project(tenantID: instance.instance.tenantID, instanceID: instance.instance.id, outboundGrace: outboundGrace)
            if !result.busy { return result }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("every message kind from recorded shapes, LID addressing, fromMe as outbound, one row per message id, an unknown sender becomes a contact")
    func inboundKinds() async throws {
        try await withWebhooks { h, tenants in
            try await Self.runInboundKinds(h, tenants)
        }
    }

    static func runInboundKinds(_ h: WebhookHarness, _ tenants: Waqtor_V1_TenantServiceClient) async throws {
        let account = try await signUp(tenants)
        let tenant = TenantID(trusted: account.tenant.id)
        let inst = try await h.app.instances.create(tenantID: tenant, displayName: "Sales")
        let long: [String: Any] = ["low": 48213, "high": 0, "unsigned": true]
        let parts: [(String, [String: Any], [String: Any]?)] = [
            ("3EB0A1", ["conversation": "Oi, tudo bem?"], nil),
            ("3EB0A2", ["conversation": "Sim!"], ["stanzaId": "3EB0A1", "participant": "5511988887777@s.whatsapp.net"]),
            ("3EB0A3", ["imageMessage": ["url": "https://mmg.whatsapp.net/x", "mimetype": "image/jpeg", "caption": "foto", "fileLength": long]], nil),
            ("3EB0A4", ["videoMessage": ["mimetype": "video/mp4", "caption": "clip", "fileLength": 1000]], nil),
            ("3EB0A5", ["audioMessage": ["mimetype": "audio/ogg; codecs=opus", "ptt": true, "seconds": 7]], nil),
            ("3EB0A6", ["audioMessage": ["mimetype": "audio/mpeg", "ptt": false]], nil),
            ("3EB0A7", ["documentMessage": ["mimetype": "application/pdf", "fileName": "price-list.pdf", "caption": "prices"]], nil),
            ("3EB0A8", ["stickerMessage": ["mimetype": "image/webp"]], nil),
            ("3EB0A9", ["locationMessage": ["degreesLatitude": -23.55, "degreesLongitude": -46.63, "name": "Sé", "address": "Praça da Sé"]], nil),
            ("3EB0AA", ["contactMessage": ["displayName": "João", "vcard": "BEGIN:VCARD\nFN:João\nEND:VCARD"]], nil),
            ("3EB0AB", ["reactionMessage": ["key": ["id": "3EB0A1", "remoteJid": "5511988887777@s.whatsapp.net", "fromMe": false], "text": "👍"]], nil),
            ("3EB0AC", ["pollCreationMessageV3": ["name": "Lunch?"]], nil),
            ("3EB0AD", ["viewOnceMessageV2": ["message": ["imageMessage": ["mimetype": "image/jpeg"]]]], nil),
        ]
        for (n, (id, message, context)) in parts.enumerated() {
            let post = try await h.post(inst, chatUpsert(inst, id: id, lid: n == 0 ? "201234567890123@lid" : nil, message: message, contextInfo: context, at: 1_764_000_000 + n))
            #expect(post.status == 200)
        }
        // The same message again (the gateway's ten retries, and as send.message) and one typed on the phone.
        for _ in 0..<10 {
            #expect(try await h.post(inst, chatUpsert(inst, id: "3EB0A1", message: ["conversation": "Oi, tudo bem?"])).status == 200)
        }
        #expect(try await h.post(inst, chatUpsert(inst, id: "3EB0A1", event: "send.message", message: ["conversation": "Oi, tudo bem?"])).status == 200)
        #expect(try await h.post(inst, chatUpsert(inst, id: "3EB0B1", fromMe: true, message: ["conversation": "Olá Maria"], at: 1_764_000_100)).status == 200)
        // A group message is not a conversation.
        var group = chatUpsert(inst, id: "3EB0C1", message: ["conversation": "group"])
        var data = group["data"] as! [String: Any]
        data["key"] = ["remoteJid": "120363000000000000@g.us", "fromMe": false, "id": "3EB0C1", "participant": "5511988887777@s.whatsapp.net"]
        group["data"] = data
        #expect(try await h.post(inst, group).status == 200)

        try await Self.project(h.app, inst)
        #expect(try await Self.project(h.app, inst).processed == 0, "nothing left to project")

        let conversations = try await h.app.chat.listConversations(
            tenantID: tenant, instanceID: nil, unreadOnly: false, unreadFirst: false, query: "", after: nil, limit: 10)
        #expect(conversations.items.count == 1)
        let conversation = try #require(conversations.items.first)
        #expect(conversation.phoneNumber == "+5511988887777")
        #expect(conversation.displayName == "Maria")
        // Inbound messages without the reaction; the owner's own message is not unread.
        #expect(conversation.unreadCount == parts.count - 1)
        #expect(conversation.lastMessage?.body == "Olá Maria")
        #expect(conversation.lastMessage?.direction == .outbound)
        let contact = try #require(conversation.contactID)
        let contactRow = try #require(try await h.rows("contacts", as: tenant.rawValue).first { $0["id"].string == contact.rawValue })
        #expect(contactRow["name"].string == "Maria")
        #expect(contactRow["consent_source"].string == "inbound")
        #expect(try await h.rows("conversations", as: tenant.rawValue).first?["lid"].string == "201234567890123@lid")

        let history = try #require(try await h.app.chat.history(tenantID: tenant, conversation: conversation.id, from: .newest, limit: 50))
        let byWa = Dictionary(uniqueKeysWithValues: history.items.compactMap { m in m.waMessageID.map { ($0, m) } })
        #expect(history.items.count == parts.count + 1)
        #expect(byWa["3EB0A1"]?.kind == .text)
        #expect(byWa["3EB0A2"]?.quotedMessageID == byWa["3EB0A1"]?.id)
        #expect(byWa["3EB0A3"]?.kind == .image && byWa["3EB0A3"]?.body == "foto" && byWa["3EB0A3"]?.media?.sizeBytes == 48213)
        #expect(byWa["3EB0A3"]?.media?.state == .pending)
        #expect(byWa["3EB0A4"]?.kind == .video)
        #expect(byWa["3EB0A5"]?.kind == .voice)
        #expect(byWa["3EB0A6"]?.kind == .audio)
        #expect(byWa["3EB0A7"]?.kind == .document && byWa["3EB0A7"]?.media?.fileName == "price-list.pdf")
        #expect(byWa["3EB0A8"]?.kind == .sticker)
        #expect(byWa["3EB0A9"]?.location == SharedLocation(latitude: -23.55, longitude: -46.63, name: "Sé", address: "Praça da Sé"))
        #expect(byWa["3EB0AA"]?.contacts.first?.displayName == "João")
        #expect(byWa["3EB0AB"]?.kind == .reaction && byWa["3EB0AB"]?.body == "👍" && byWa["3EB0AB"]?.reactionToMessageID == byWa["3EB0A1"]?.id)
        #expect(byWa["3EB0AC"]?.kind == .unsupported && byWa["3EB0AC"]?.unsupportedType == "pollCreationMessageV3")
        #expect(byWa["3EB0AD"]?.kind == .image)
        #expect(byWa["3EB0B1"]?.direction == .outbound && byWa["3EB0B1"]?.status == .sent)
        #expect(byWa["3EB0C1"] == nil)
        // Newest first, and paging back from the oldest towards newer ones gives them oldest first.
        #expect(history.items.first?.waMessageID == "3EB0B1")
        let oldest = try #require(history.items.last)
        let newer = try #require(try await h.app.chat.history(tenantID: tenant, conversation: conversation.id, from: .newerThan(oldest.id), limit: 3))
        #expect(newer.items.map(\.waMessageID) == ["3EB0A2", "3EB0A3", "3EB0A4"])

        // Another tenant sees none of it.
        let other = TenantID(trusted: try await signUp(tenants).tenant.id)
        #expect(try await h.app.chat.conversation(tenantID: other, id: conversation.id) == nil)
        #expect(try await h.rows("chat_messages", as: other.rawValue).isEmpty)

        // Read: the unread count goes to 0.
        let (read, newlyRead) = try #require(try await h.app.chat.markRead(tenantID: tenant, conversation: conversation.id, upTo: nil))
        #expect(read.unreadCount == 0)
        #expect(newlyRead.count == parts.count, "every inbound message, the reaction too")
    }

    @Test("opt-out and opt-in words change the contact's consent and skip nothing else; a later word wins")
    func optOutWords() async throws {
        try await withWebhooks { h, tenants in
            let account = try await signUp(tenants)
            let tenant = TenantID(trusted: account.tenant.id)
            let inst = try await h.app.instances.create(tenantID: tenant, displayName: "Support")
            _ = try await h.app.chat.setSettings(tenantID: tenant, ChatSettings(optOutReply: "You will not get campaigns from us any more."))
            #expect(try await h.post(inst, chatUpsert(inst, id: "3EB0D1", phone: "5511977770001", message: ["conversation": "  Stop! "], at: 1_764_000_000)).status == 200)
            try await Self.project(h.app, inst)
            func outbound() async throws -> [String] {
                try await h.rows("chat_messages", as: tenant.rawValue).filter { $0["direction"].string == "outbound" }.compactMap { $0["body"].string }
            }
            #expect(try await outbound() == ["You will not get campaigns from us any more."], "the confirmation reply is queued")
            var contact = try #require(try await h.rows("contacts", as: tenant.rawValue).first)
            #expect(contact["opted_out"].bool == true)
            #expect(contact["consent_source"].string == "inbound")
            // An older opt-in word processed later does not undo it; a newer one does.
            #expect(try await h.post(inst, chatUpsert(inst, id: "3EB0D0", phone: "5511977770001", message: ["conversation": "start"], at: 1_763_999_000)).status == 200)
            try await Self.project(h.app, inst)
            contact = try #require(try await h.rows("contacts", as: tenant.rawValue).first)
            #expect(contact["opted_out"].bool == true)
            #expect(try await h.post(inst, chatUpsert(inst, id: "3EB0D2", phone: "5511977770001", message: ["conversation": "VOLTAR"], at: 1_764_000_500)).status == 200)
            try await Self.project(h.app, inst)
            #expect(try await outbound().count == 1, "no opt-in reply is configured")
            contact = try #require(try await h.rows("contacts", as: tenant.rawValue).first)
            #expect(contact["opted_out"].bool == false)
            // Arabic, with a mark, is an opt-out word too.
            #expect(try await h.post(inst, chatUpsert(inst, id: "3EB0D3", phone: "5511977770001", message: ["conversation": "إلغاء"], at: 1_764_000_600)).status == 200)
            _ = try await Self.project(h.app, inst)
            contact = try #require(try await h.rows("contacts", as: tenant.rawValue).first)
            #expect(contact["opted_out"].bool == true)
        }
    }

    @Test("a reply goes out through the reply lane before the number's campaign gap, its status follows the gateway, and Live on another server sees the inbound message")
    func replyAndLive() async throws {
        try await withGateway { simulator, app, client in
            try await Self.runReplyAndLive(simulator, app, client)
        }
    }

    static func runReplyAndLive(_ simulator: EvolutionSimulator, _ app: WaqtorApplication, _ client: RPCClient) async throws {
        let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 0, gap: 60_000...60_000)
        let instance = try #require(fixture.instances.first)
        let gatewayName = try #require(fixture.gatewayNames[instance])
        let chat = Waqtor_V1_ChatServiceClient(client: client)
        // A second server on the same PostgreSQL and Redis holds the Live stream.
        var configuration = testConfiguration()
        configuration.gatewayURL = simulator.baseURL
        try await withApplication(configuration) { otherApp, other in
            let live = Waqtor_V1_ChatServiceClient(client: other).live(Waqtor_V1_LiveRequest(), options: fixture.account.auth)
            let first = Task { () -> Waqtor_V1_LiveResponse? in
                for try await event in live { if case .message? = event.event { return event } }
                return nil
            }
            try await awaitCondition("the Live stream is subscribed on the other server") { otherApp.live.subscriberCount == 1 }
            _ = simulator.injectInbound(instance: gatewayName, from: "5511977770002", text: "hello there", pushName: "Ana")
            // The projector of the server the webhook reached publishes what it stored.
            let projector = ChatProjector(chat: app.chat, lanes: nil, live: app.live, clock: SystemClock(),
                                          tenants: [TenantID(trusted: fixture.account.tenant.id)], logger: quietLogger)
            try await awaitCondition("the inbound message is projected") {
                try await projector.runOnce()
                return try await chat.listConversations(Waqtor_V1_ListConversationsRequest(), options: fixture.account.auth).conversations.count == 1
            }
            let event = try #require(try await first.value)
            #expect(event.message.text == "hello there")
            #expect(event.message.direction == .inbound)
            #expect(!event.eventID.isEmpty)
        }
        let conversation = try #require(try await chat.listConversations(Waqtor_V1_ListConversationsRequest(), options: fixture.account.auth).conversations.first)
        #expect(conversation.displayName == "Ana")
        // Another account sees nothing of it and can touch nothing of it.
        let stranger = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
        #expect(try await chat.listConversations(Waqtor_V1_ListConversationsRequest(), options: stranger.auth).conversations.isEmpty)
        var strangerHistory = Waqtor_V1_GetMessageHistoryRequest()
        strangerHistory.conversationID = conversation.id
        #expect(await rpcError { _ = try await chat.getMessageHistory(strangerHistory, options: stranger.auth) }?.code == .notFound)
        var strangerReply = Waqtor_V1_SendTextReplyRequest()
        strangerReply.conversationID = conversation.id
        strangerReply.text = "not yours"
        #expect(await rpcError { _ = try await chat.sendTextReply(strangerReply, options: stranger.auth) }?.code == .notFound)
        var strangerRead = Waqtor_V1_MarkConversationReadRequest()
        strangerRead.conversationID = conversation.id
        #expect(await rpcError { _ = try await chat.markConversationRead(strangerRead, options: stranger.auth) }?.code == .notFound)
        var strangerDelete = Waqtor_V1_DeleteConversationRequest()
        strangerDelete.conversationID = conversation.id
        #expect(await rpcError { _ = try await chat.deleteConversation(strangerDelete, options: stranger.auth) }?.code == .notFound)
        var strangerLive = Waqtor_V1_LiveRequest()
        strangerLive.conversationID = conversation.id
        #expect(await rpcError { for try await _ in chat.live(strangerLive, options: stranger.auth) {} }?.code == .notFound)
        simulator.clearSends()
        try await withSendQueue(app, tenant: fixture.account.tenant.id, prefix: app.configuration.sendKeyPrefix) { _ in
            var reply = Waqtor_V1_SendTextReplyRequest()
            reply.conversationID = conversation.id
            reply.text = "Hi Ana, how can we help?"
            reply.idempotencyKey = "reply-1"
            let queued = try #require(try await chat.sendTextReply(reply, options: fixture.account.auth).message)
            #expect(queued.status == .pending)
            // The same key answers the same message.
            #expect(try await chat.sendTextReply(reply, options: fixture.account.auth).message?.id == queued.id)
            try await awaitCondition("the reply is sent and delivered") {
                var history = Waqtor_V1_GetMessageHistoryRequest()
                history.conversationID = conversation.id
                let messages = try await chat.getMessageHistory(history, options: fixture.account.auth).messages
                return messages.first { $0.id == queued.id }.map { [.delivered, .read].contains($0.status) } ?? false
            }
            let sends = simulator.sends().filter { $0.instance == gatewayName }
            #expect(sends.count == 1, "sent once although asked twice")
            #expect(sends.first?.text == "Hi Ana, how can we help?")
        }
        // A number's state change reaches Live too.
        let stream = chat.live(Waqtor_V1_LiveRequest(), options: fixture.account.auth)
        let stateEvent = Task { () -> Waqtor_V1_InstanceStateUpdate? in
            for try await event in stream { if case .instanceUpdate(let update)? = event.event { return update } }
            return nil
        }
        try await awaitCondition("the Live stream is subscribed") { app.live.subscriberCount == 1 }
        #expect(simulator.injectLoggedOut(instance: gatewayName, statusReason: 401))
        let update = try #require(try await stateEvent.value)
        #expect(update.instanceID == instance)
        #expect(["close", "needs_repairing"].contains(update.state))
    }

    @Test("inbound media: fetched through the gateway (retried after a failure), stored once for two messages with the same bytes, streamed by GetMessageMedia, its file removed with the last message that uses it")
    func inboundMedia() async throws {
        try await withGateway { simulator, app, client in
            try await Self.runInboundMedia(simulator, app, client)
        }
    }

    static func runInboundMedia(_ simulator: EvolutionSimulator, _ app: WaqtorApplication, _ client: RPCClient) async throws {
        let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 0, gap: 1000...1000)
        let instance = try #require(fixture.instances.first)
        let gatewayName = try #require(fixture.gatewayNames[instance])
        let tenant = TenantID(trusted: fixture.account.tenant.id)
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        simulator.failMediaDownloads(1)
        let first = try #require(simulator.injectInboundMedia(instance: gatewayName, from: "5511966660001", part: "imageMessage", bytes: png, mimeType: "image/jpeg", caption: "look"))
        let second = try #require(simulator.injectInboundMedia(instance: gatewayName, from: "5511966660002", part: "documentMessage", bytes: png, mimeType: "application/octet-stream", fileName: "scan.png"))
        let projector = ChatProjector(chat: app.chat, lanes: nil, live: app.live, clock: SystemClock(),
                                          tenants: [TenantID(trusted: fixture.account.tenant.id)], logger: quietLogger)
        let fetcher = MediaFetcher(chat: app.chat, files: app.mediaFiles, gateway: app.gateway, live: app.live, clock: SystemClock(),
                                   baseBackoff: .milliseconds(20), tenants: [tenant], logger: quietLogger)
        let chat = Waqtor_V1_ChatServiceClient(client: client)
        try await awaitCondition("both messages are projected") {
            try await projector.runOnce()
            return try await chat.listConversations(Waqtor_V1_ListConversationsRequest(), options: fixture.account.auth).conversations.count == 2
        }
        let owner = QueueFixture.owner()
        func row(_ wa: String) async throws -> PostgresRow? {
            try await owner.query("SELECT media_state, media_sha256, media_attempts, media_mime, media_size, id::text AS id, conversation_id::text AS conversation FROM chat_messages WHERE tenant_id = $1 AND wa_message_id = $2",
                                  [.uuid(tenant.rawValue), .text(wa)]).first
        }
        try await awaitCondition("both media files are stored") {
            try await fetcher.runOnce()
            let a = try await row(first)?["media_state"].string, b = try await row(second)?["media_state"].string
            return a == "stored" && b == "stored"
        }
        let a = try #require(try await row(first)), b = try #require(try await row(second))
        #expect(a["media_sha256"].string == MediaFiles.sha256(png))
        #expect(a["media_sha256"].string == b["media_sha256"].string)
        #expect(a["media_mime"].string == "image/png", "sniffed from the bytes")
        #expect(a["media_size"].int == png.count)
        #expect((a["media_attempts"].int ?? 0) + (b["media_attempts"].int ?? 0) == 3, "one of them was fetched twice")
        #expect(try await owner.query("SELECT count(*) AS n FROM media_files WHERE tenant_id = $1", [.uuid(tenant.rawValue)]).first?["n"].int == 1)
        let path = app.mediaFiles.path(tenantID: tenant, sha256: MediaFiles.sha256(png))
        #expect(FileManager.default.fileExists(atPath: path))

        // Streamed back in chunks.
        var request = Waqtor_V1_GetMessageMediaRequest()
        request.messageID = try #require(a["id"].string)
        request.chunkSize = 65_536
        var received: [UInt8] = []
        var head: Waqtor_V1_GetMessageMediaResponse?
        for try await part in chat.getMessageMedia(request, options: fixture.account.auth) {
            if head == nil { head = part } else {
                #expect(part.offset == Int64(received.count))
                received += part.data
            }
        }
        #expect(head?.media?.mimeType == "image/png")
        #expect(head?.sha256 == MediaFiles.sha256(png))
        #expect(received == png)

        // Another tenant cannot read it.
        let other = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
        let refused = await rpcError { for try await _ in chat.getMessageMedia(request, options: other.auth) {} }
        #expect(refused?.code == .notFound)

        // The file stays while a message uses it.
        var delete = Waqtor_V1_DeleteConversationRequest()
        delete.conversationID = try #require(a["conversation"].string)
        #expect(try await chat.deleteConversation(delete, options: fixture.account.auth).deletedMessages == 1)
        #expect(FileManager.default.fileExists(atPath: path))
        delete.conversationID = try #require(b["conversation"].string)
        #expect(try await chat.deleteConversation(delete, options: fixture.account.auth).deletedMessages == 1)
        #expect(!FileManager.default.fileExists(atPath: path))
        await owner.shutdown()
    }

    @Test("a reply overtakes a running campaign on the same number without moving its gap; an uploaded file is sent as a media reply; read receipts go to the gateway when enabled")
    func replyOvertakesCampaign() async throws {
        try await withGateway { simulator, app, client in
            try await Self.runReplyOvertakes(simulator, app, client)
        }
    }

    static func runReplyOvertakes(_ simulator: EvolutionSimulator, _ app: WaqtorApplication, _ client: RPCClient) async throws {
        let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 4, gap: 3000...3000)
        let instance = try #require(fixture.instances.first)
        let gatewayName = try #require(fixture.gatewayNames[instance])
        let chat = Waqtor_V1_ChatServiceClient(client: client)
        _ = simulator.injectInboundMessage(instance: gatewayName, from: "5511944440001", message: ["conversation": "Is the shop open?"], pushName: "Rui")
        let projector = ChatProjector(chat: app.chat, lanes: nil, live: app.live, clock: SystemClock(),
                                          tenants: [TenantID(trusted: fixture.account.tenant.id)], logger: quietLogger)
        try await awaitCondition("the question is projected") {
            try await projector.runOnce()
            return try await chat.listConversations(Waqtor_V1_ListConversationsRequest(), options: fixture.account.auth).conversations.count == 1
        }
        let conversation = try #require(try await chat.listConversations(Waqtor_V1_ListConversationsRequest(), options: fixture.account.auth).conversations.first)
        #expect(conversation.unreadCount == 1)
        simulator.clearSends()
        try await withSendQueue(app, tenant: fixture.account.tenant.id, prefix: app.configuration.sendKeyPrefix) { _ in
            _ = try await fixture.startCampaign(text: "Our sale starts today")
            try await awaitCondition("the campaign's first message is sent") {
                simulator.sends().filter { $0.instance == gatewayName && $0.status == 201 }.count >= 1
            }
            var reply = Waqtor_V1_SendTextReplyRequest()
            reply.conversationID = conversation.id
            reply.text = "Yes, until 8 pm."
            _ = try await chat.sendTextReply(reply, options: fixture.account.auth)
            try await awaitCondition("the reply and the campaign's second message are sent") {
                simulator.sends().filter { $0.instance == gatewayName && $0.status == 201 }.count >= 3
            }
            let texts = simulator.sends().filter { $0.instance == gatewayName && $0.status == 201 }.map { $0.text ?? "" }
            #expect(texts.prefix(3) == ["Our sale starts today", "Yes, until 8 pm.", "Our sale starts today"], "\(texts)")
            let campaignSends = simulator.sends().filter { $0.instance == gatewayName && $0.text == "Our sale starts today" }
            let gap = Double(((campaignSends[1].arrivedAt - campaignSends[0].arrivedAt) / .milliseconds(1)))
            #expect(gap >= 2900, "the campaign's gap is kept: \(gap) ms")

            // An uploaded file, in two chunks, sent as a media reply.
            var file: [UInt8] = Array("%PDF-1.4\n".utf8)
            file += (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            var create = Waqtor_V1_CreateUploadRequest()
            create.kind = .document
            create.mimeType = "application/pdf"
            create.fileName = "menu.pdf"
            create.sizeBytes = Int64(file.count)
            create.sha256 = MediaFiles.sha256(file)
            let upload = try await chat.createUpload(create, options: fixture.account.auth)
            var chunk = Waqtor_V1_UploadChunkRequest()
            chunk.uploadID = upload.uploadID
            chunk.offset = 0
            chunk.data = Array(file[0..<100_000])
            #expect(try await chat.uploadChunk(chunk, options: fixture.account.auth).receivedBytes == 100_000)
            #expect(try await chat.uploadChunk(chunk, options: fixture.account.auth).receivedBytes == 100_000, "a retried chunk is not written twice")
            var complete = Waqtor_V1_CompleteUploadRequest()
            complete.uploadID = upload.uploadID
            #expect(await rpcError { _ = try await chat.completeUpload(complete, options: fixture.account.auth) }?.code == .failedPrecondition)
            chunk.offset = 100_000
            chunk.data = Array(file[100_000...])
            #expect(try await chat.uploadChunk(chunk, options: fixture.account.auth).receivedBytes == Int64(file.count))
            let completed = try await chat.completeUpload(complete, options: fixture.account.auth)
            #expect(completed.media?.mimeType == "application/pdf")
            var mediaReply = Waqtor_V1_SendMediaReplyRequest()
            mediaReply.conversationID = conversation.id
            var media = Waqtor_V1_Media()
            media.caption = "Our menu"
            media.source = .mediaID(completed.mediaID)
            mediaReply.media = media
            let queued = try #require(try await chat.sendMediaReply(mediaReply, options: fixture.account.auth).message)
            #expect(queued.kind == .document)
            try await awaitCondition("the media reply is sent") {
                simulator.sends().contains { $0.instance == gatewayName && $0.text == "Our menu" && $0.status == 201 }
            }
            let request = try #require(simulator.requests.last { $0.path.hasPrefix("/message/sendMedia/") })
            let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            #expect(body["media"] as? String == Data(file).base64EncodedString())
            #expect(body["fileName"] as? String == "menu.pdf")

            // A file given by URL: the gateway fetches it; nothing is stored here, nothing fetched.
            var byURL = Waqtor_V1_SendMediaReplyRequest()
            byURL.conversationID = conversation.id
            var linked = Waqtor_V1_Media()
            linked.caption = "Our storefront"
            linked.mimeType = "image/jpeg"
            linked.source = .url("\(simulator.baseURL)/_sim/media/2048/storefront.jpg")
            byURL.media = linked
            let queuedURL = try #require(try await chat.sendMediaReply(byURL, options: fixture.account.auth).message)
            #expect(queuedURL.kind == .image && queuedURL.mediaState == .unspecified)
            var history = Waqtor_V1_GetMessageHistoryRequest()
            history.conversationID = conversation.id
            try await awaitCondition("the URL reply is sent and recorded") {
                let status = try await chat.getMessageHistory(history, options: fixture.account.auth).messages.first { $0.id == queuedURL.id }?.status
                return status.map { [.sent, .delivered, .read].contains($0) } ?? false
            }
            #expect(simulator.sends().contains { $0.instance == gatewayName && $0.text == "Our storefront" && $0.status == 201 })
            let fetcher = MediaFetcher(chat: app.chat, files: app.mediaFiles, gateway: app.gateway, live: nil, clock: SystemClock(),
                                       tenants: [TenantID(trusted: fixture.account.tenant.id)], logger: quietLogger)
            #expect(try await fetcher.runOnce() == 0, "nothing to fetch for a reply")
            let sentURL = try #require(try await chat.getMessageHistory(history, options: fixture.account.auth).messages.first { $0.id == queuedURL.id })
            #expect(sentURL.error.isEmpty && [.sent, .delivered, .read].contains(sentURL.status))
        }

        // Read receipts, once enabled.
        var settings = Waqtor_V1_UpdateChatSettingsRequest()
        var value = Waqtor_V1_ChatSettings()
        value.sendReadReceipts = true
        settings.settings = value
        settings.updatePaths = ["send_read_receipts"]
        #expect(try await chat.updateChatSettings(settings, options: fixture.account.auth).settings?.sendReadReceipts == true)
        var read = Waqtor_V1_MarkConversationReadRequest()
        read.conversationID = conversation.id
        #expect(try await chat.markConversationRead(read, options: fixture.account.auth).conversation?.unreadCount == 0)
        #expect(simulator.readMarks().map { $0["remoteJid"] } == ["5511944440001@s.whatsapp.net"])
    }

    @Test("a slow Live subscriber is ended past its buffer with the last event it was given, and resumes after it without loss")
    func slowSubscriber() async throws {
        var configuration = testConfiguration()
        configuration.chatLiveBuffer = 10
        try await withApplication(configuration) { app, _ in
            let tenant = TenantID.random()
            let conversation = ConversationID.random(), instance = InstanceID.random()
            let subscription = try await app.live.subscribe(LiveFilter(tenantID: tenant))
            let events = (0..<30).map { LiveEvent.read(conversationID: conversation, instanceID: instance, unreadCount: $0) }
            try await app.live.publish(tenantID: tenant, Array(events.prefix(3)))
            var seen: [Int] = []
            var last = ""
            for _ in 0..<3 {
                let envelope = try await subscription.next()
                if case .read(_, _, let count) = envelope.event { seen.append(count) }
                last = envelope.id
            }
            // Another tenant's events never reach it.
            try await app.live.publish(tenantID: TenantID.random(), Array(events.prefix(5)))
            try await app.live.publish(tenantID: tenant, Array(events[3...]))
            try await awaitCondition("the subscriber falls behind and is ended") { subscription.hasEnded }
            await #expect(throws: LiveEnd.tooSlow(lastDelivered: last, buffer: 10)) { _ = try await subscription.next() }
            let resumed = try await app.live.subscribe(LiveFilter(tenantID: tenant), resumeAfter: last)
            for _ in 3..<30 {
                let envelope = try await resumed.next()
                #expect(envelope.tenantID == tenant)
                if case .read(_, _, let count) = envelope.event { seen.append(count) }
            }
            resumed.cancel()
            #expect(seen == Array(0..<30))
            await #expect(throws: LiveEnd.self) { _ = try await app.live.subscribe(LiveFilter(tenantID: tenant), resumeAfter: "1-0") }
        }
    }

    @Test("bad input gets INVALID_ARGUMENT naming the field (or the state to fix), and changes nothing")
    func badInput() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let chat = Waqtor_V1_ChatServiceClient(client: client)
            func code(_ body: () async throws -> Void) async -> (RPCStatusCode?, String) {
                let error = await rpcError(body)
                return (error?.code, error?.message ?? "")
            }
            var reply = Waqtor_V1_SendTextReplyRequest()
            var (status, message) = await code { _ = try await chat.sendTextReply(reply, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("conversation_id"), "\(message)")
            reply.conversationID = UUID().uuidString
            (status, message) = await code { _ = try await chat.sendTextReply(reply, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("text"), "\(message)")
            reply.text = String(repeating: "a", count: 4097)
            (status, message) = await code { _ = try await chat.sendTextReply(reply, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("4096"), "\(message)")
            reply.text = "hello"
            (status, _) = await code { _ = try await chat.sendTextReply(reply, options: account.auth) }
            #expect(status == .notFound)
            var list = Waqtor_V1_ListConversationsRequest()
            list.pageSize = -1
            (status, message) = await code { _ = try await chat.listConversations(list, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("page_size"), "\(message)")
            list.pageSize = 0
            list.pageToken = "not-a-token"
            (status, message) = await code { _ = try await chat.listConversations(list, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("page_token"), "\(message)")
            list.pageToken = ""
            list.query = String(repeating: "x", count: 101)
            (status, message) = await code { _ = try await chat.listConversations(list, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("query"), "\(message)")
            var history = Waqtor_V1_GetMessageHistoryRequest()
            history.conversationID = UUID().uuidString
            history.newer = true
            (status, message) = await code { _ = try await chat.getMessageHistory(history, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("anchor_message_id"), "\(message)")
            var settings = Waqtor_V1_UpdateChatSettingsRequest()
            settings.updatePaths = ["colour"]
            (status, message) = await code { _ = try await chat.updateChatSettings(settings, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("colour"), "\(message)")
            var words = Waqtor_V1_ChatSettings()
            words.optOutWords = ["stop", "  "]
            settings.settings = words
            settings.updatePaths = ["opt_out_words"]
            (status, message) = await code { _ = try await chat.updateChatSettings(settings, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("opt_out_words"), "\(message)")
            words.optOutWords = ["stop"]
            words.optInWords = ["STOP!"]
            settings.settings = words
            settings.updatePaths = ["opt_out_words", "opt_in_words"]
            (status, message) = await code { _ = try await chat.updateChatSettings(settings, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("both"), "\(message)")
            #expect(try await chat.getChatSettings(Waqtor_V1_GetChatSettingsRequest(), options: account.auth).settings?.optOutWords.contains("STOP") == true,
                    "nothing changed")
            var upload = Waqtor_V1_CreateUploadRequest()
            upload.mimeType = "image/png"
            upload.sizeBytes = 100
            upload.sha256 = "abc"
            (status, message) = await code { _ = try await chat.createUpload(upload, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("sha256"), "\(message)")
            upload.sha256 = String(repeating: "a", count: 64)
            upload.sizeBytes = 17 << 20
            (status, message) = await code { _ = try await chat.createUpload(upload, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("size_bytes"), "\(message)")
            upload.sizeBytes = 100
            let made = try await chat.createUpload(upload, options: account.auth)
            var chunk = Waqtor_V1_UploadChunkRequest()
            chunk.uploadID = made.uploadID
            chunk.offset = 10
            chunk.data = [1, 2, 3]
            (status, message) = await code { _ = try await chat.uploadChunk(chunk, options: account.auth) }
            #expect(status == .failedPrecondition && message.contains("offset 0"), "\(message)")
            chunk.offset = 0
            chunk.data = Array(repeating: 1, count: 101)
            (status, message) = await code { _ = try await chat.uploadChunk(chunk, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("size_bytes"), "\(message)")
            chunk.data = Array(repeating: 1, count: 100)
            #expect(try await chat.uploadChunk(chunk, options: account.auth).receivedBytes == 100)
            var complete = Waqtor_V1_CompleteUploadRequest()
            complete.uploadID = made.uploadID
            (status, message) = await code { _ = try await chat.completeUpload(complete, options: account.auth) }
            #expect(status == .invalidArgument && message.contains("sha256"), "\(message)")
            var media = Waqtor_V1_GetMessageMediaRequest()
            media.messageID = UUID().uuidString
            media.chunkSize = 2 << 20
            (status, message) = await code { for try await _ in chat.getMessageMedia(media, options: account.auth) {} }
            #expect(status == .invalidArgument && message.contains("chunk_size"), "\(message)")
            var live = Waqtor_V1_LiveRequest()
            live.resumeAfterEventID = "yesterday"
            (status, _) = await code { for try await _ in chat.live(live, options: account.auth) {} }
            #expect(status == .outOfRange)
        }
    }

    @Test("a reply's own send.message is the reply: it waits while the reply's send is in flight, and a copy stored first is replaced by the reply")
    func replyEchoIsTheReply() async throws {
        try await withWebhooks { h, tenants in
            let tenant = TenantID(trusted: try await signUp(tenants).tenant.id)
            let inst = try await h.app.instances.create(tenantID: tenant, displayName: "Desk")
            #expect(try await h.post(inst, chatUpsert(inst, id: "3EB0E1", phone: "5511933330001", message: ["conversation": "hi"])).status == 200)
            _ = try await Self.project(h.app, inst)
            let conversation = try #require(try await h.app.chat.listConversations(
                tenantID: tenant, instanceID: nil, unreadOnly: false, unreadFirst: false, query: "", after: nil, limit: 5).items.first)
            for (n, grace) in [(1, 60.0), (2, 0.0)] {
                let (reply, _) = try #require(try await h.app.chat.createReply(tenantID: tenant, conversation: conversation.id, text: "answer \(n)",
                                                                               quoted: nil, idempotencyKey: nil, media: nil))
                // A worker leases it and sends it; the gateway's send.message arrives before the worker records the id.
                _ = try await h.app.chat.checkReplies(tenantID: tenant, ids: [reply.id], lease: .seconds(30)) { _ in [(reply.id, "token-\(n)")] }
                let wa = "3EB0R\(n)"
                #expect(try await h.post(inst, chatUpsert(inst, id: wa, phone: "5511933330001", fromMe: true, event: "send.message",
                                                          message: ["conversation": "answer \(n)"])).status == 200)
                func copies() async throws -> Int {
                    try await h.rows("chat_messages", as: tenant.rawValue).filter { $0["wa_message_id"].string == wa }.count
                }
                try await Self.project(h.app, inst, outboundGrace: grace)
                if grace > 0 {
                    #expect(try await copies() == 0, "it waits for the worker's record")
                } else {
                    #expect(try await copies() == 1, "past the grace it is stored")
                }
                let recorded = try #require(try await h.app.chat.recordReply(tenantID: tenant, id: reply.id, token: "token-\(n)", .sent(messageID: wa)))
                #expect(recorded.status == .sent && recorded.waMessageID == wa)
                try await Self.project(h.app, inst)
                let history = try #require(try await h.app.chat.history(tenantID: tenant, conversation: conversation.id, from: .newest, limit: 50))
                #expect(history.items.filter { $0.waMessageID == wa }.map(\.id) == [reply.id], "one row, the reply's")
                #expect(try await h.app.chat.conversation(tenantID: tenant, id: conversation.id)?.lastMessage?.id == reply.id)
            }
        }
    }

    @Test("a draining server ends Live streams with UNAVAILABLE")
    func liveEndsOnDrain() async throws {
        let app = try WaqtorApplication(configuration: tenantTestConfiguration(), logger: quietLogger)
        try await app.start()
        let client = RPCClient(host: "127.0.0.1", port: try #require(app.rpcPort))
        let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
        let stream = Waqtor_V1_ChatServiceClient(client: client).live(Waqtor_V1_LiveRequest(), options: account.auth)
        let ended = Task { await rpcError { for try await _ in stream {} } }
        try await awaitCondition("the stream is subscribed") { app.live.subscriberCount == 1 }
        await app.shutdown()
        let error = await ended.value
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        await client.close()
    }
}
