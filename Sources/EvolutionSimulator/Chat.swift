import Foundation
import NIOConcurrencyHelpers

/// Media an inbound message carries, kept for `getBase64FromMediaMessage`.
struct SimMedia: Sendable {
    var bytes: [UInt8]
    var mimeType: String
    var fileName: String
    /// The message part (`imageMessage`, …).
    var part: String
    var caption: String
}

// Chat routes and inbound messages of any kind (2.3.6's shapes: docs/EVOLUTION.md).
extension EvolutionSimulator {
    /// Posts a `messages.upsert` of any `message` object from `from` (digits or a JID). With
    /// `lid`, the chat is addressed by that LID and the phone number goes in `remoteJidAlt`.
    /// Returns the message id, or nil for an unknown instance.
    @discardableResult
    public func injectInboundMessage(instance: String, from: String, message: [String: Any], id: String? = nil, lid: String? = nil,
                                     pushName: String = "Simulated Contact", contextInfo: [String: Any]? = nil, fromMe: Bool = false) -> String? {
        state.withLockedValue { state in
            guard let record = state.instances[instance] else { return nil }
            let id = id ?? SimState.messageID()
            var key: [String: Any] = ["remoteJid": lid ?? SimState.jid(from), "fromMe": fromMe, "id": id, "participant": ""]
            if lid != nil {
                key["remoteJidAlt"] = SimState.jid(from)
                key["addressingMode"] = "lid"
            }
            var data: [String: Any] = [
                "key": key, "pushName": fromMe ? "Você" : pushName, "status": fromMe ? "SERVER_ACK" : "DELIVERY_ACK", "message": message,
                "messageType": message.keys.filter { $0 != "base64" && $0 != "messageContextInfo" }.sorted().first ?? "unknown",
                "messageTimestamp": Int(Date().timeIntervalSince1970), "instanceId": record.id, "source": "android",
            ]
            if let contextInfo { data["contextInfo"] = contextInfo }
            emit("messages.upsert", record, data)
            return id
        }
    }

    /// Posts an inbound media message (`imageMessage`, `videoMessage`, `audioMessage`,
    /// `documentMessage` or `stickerMessage`) whose bytes `getBase64FromMediaMessage` then serves;
    /// with the instance's webhook `base64` option on, the bytes also go in `message.base64`.
    @discardableResult
    public func injectInboundMedia(instance: String, from: String, part: String, bytes: [UInt8], mimeType: String, caption: String = "",
                                   fileName: String = "", ptt: Bool = false, id: String? = nil, pushName: String = "Simulated Contact") -> String? {
        let id = id ?? SimState.messageID()
        var body: [String: Any] = [
            "url": "https://mmg.whatsapp.net/o1/v/t62.7118-24/\(id)", "mimetype": mimeType,
            "fileLength": ["low": bytes.count & 0xFFFF_FFFF, "high": bytes.count >> 32, "unsigned": true],
            "fileSha256": ["0": 1, "1": 2], "mediaKey": ["0": 3, "1": 4], "directPath": "/o1/v/t62.7118-24/\(id)",
        ]
        if !caption.isEmpty { body["caption"] = caption }
        if !fileName.isEmpty { body["fileName"] = fileName }
        if part == "audioMessage" { body["ptt"] = ptt; body["seconds"] = 3 }
        var message: [String: Any] = [part: body]
        let base64 = state.withLockedValue { state -> Bool in
            state.media[id] = SimMedia(bytes: bytes, mimeType: mimeType, fileName: fileName, part: part, caption: caption)
            return state.instances[instance]?.webhook?.base64 ?? false
        }
        if base64 { message["base64"] = Data(bytes).base64EncodedString() }
        return injectInboundMessage(instance: instance, from: from, message: message, id: id, pushName: pushName)
    }

    /// The next `count` calls of `getBase64FromMediaMessage` answer 500.
    public func failMediaDownloads(_ count: Int) {
        state.withLockedValue { $0.mediaFailures = max(0, count) }
    }

    /// Every `readMessages` entry `markMessageAsRead` received.
    public func readMarks() -> [[String: String]] { state.withLockedValue { $0.readMarks } }

    /// `POST /chat/getBase64FromMediaMessage/{i}` (201): the message is found by `message.key.id`;
    /// 400 "Message not found" otherwise.
    func mediaOfMessage(_ state: inout SimState, body: [String: Any]) -> SimResponse {
        if state.mediaFailures > 0 {
            state.mediaFailures -= 1
            return Self.fail(500, ["Error: media download failed"], error: "Internal Server Error")
        }
        guard let message = body["message"] as? [String: Any], let key = message["key"] as? [String: Any],
              let id = SimJSON.string(key["id"]), let media = state.media[id] else {
            return Self.fail(400, ["Message not found"])
        }
        return Self.ok(201, [
            "mediaType": media.part, "fileName": media.fileName.isEmpty ? NSNull() : media.fileName as Any,
            "caption": media.caption.isEmpty ? NSNull() : media.caption as Any,
            "size": ["fileLength": media.bytes.count, "height": NSNull(), "width": NSNull()],
            "mimetype": media.mimeType, "base64": Data(media.bytes).base64EncodedString(), "buffer": NSNull(),
        ])
    }

    /// `POST /chat/markMessageAsRead/{i}` (201).
    func markRead(_ state: inout SimState, body: [String: Any]) -> SimResponse {
        guard let list = body["readMessages"] as? [Any] else {
            return Self.fail(400, ["instance requires property \"readMessages\""])
        }
        for item in list.compactMap({ $0 as? [String: Any] }) {
            state.readMarks.append(["remoteJid": SimJSON.string(item["remoteJid"]) ?? "", "id": SimJSON.string(item["id"]) ?? ""])
        }
        return Self.ok(201, ["message": "Read messages", "read": "success"])
    }
}
