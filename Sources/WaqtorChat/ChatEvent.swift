import Foundation

/// What a message holds (`chat_messages.kind`).
public enum ChatKind: String, Sendable, Hashable, CaseIterable, Codable {
    case text, image, video, audio, voice, document, sticker, location, contact, reaction, unsupported

    /// Whether the kind has a file to fetch.
    public var hasMedia: Bool {
        switch self {
        case .image, .video, .audio, .voice, .document, .sticker: true
        default: false
        }
    }
}

/// A message's media as the webhook describes it (the bytes come later, from the gateway).
public struct MediaDescription: Sendable, Hashable {
    public var mimeType: String
    public var fileName: String
    /// The size WhatsApp announced (`fileLength`), if any.
    public var announcedSize: Int64?
    /// The webhook carried the bytes (`message.base64`, the webhook's `base64` option).
    public var inlineBase64: Bool

    public init(mimeType: String, fileName: String = "", announcedSize: Int64? = nil, inlineBase64: Bool = false) {
        self.mimeType = mimeType
        self.fileName = fileName
        self.announcedSize = announcedSize
        self.inlineBase64 = inlineBase64
    }
}

/// A contact card in a message.
public struct SharedContact: Sendable, Hashable, Codable {
    public var displayName: String
    public var vcard: String

    public init(displayName: String, vcard: String) {
        self.displayName = displayName
        self.vcard = vcard
    }
}

/// A location in a message.
public struct SharedLocation: Sendable, Hashable, Codable {
    public var latitude: Double
    public var longitude: Double
    public var name: String
    public var address: String

    public init(latitude: Double, longitude: Double, name: String = "", address: String = "") {
        self.latitude = latitude
        self.longitude = longitude
        self.name = name
        self.address = address
    }
}

/// The content of a WhatsApp message, as Baileys' `WebMessageInfo.message` holds it.
public struct MessageContent: Sendable, Hashable {
    public var kind: ChatKind
    /// The text, the caption, or the reaction's emoji.
    public var body: String
    /// The WhatsApp id of the message quoted (a reply), if any.
    public var quotedID: String?
    /// For a reaction: the WhatsApp id of the message reacted to.
    public var reactionTo: String?
    public var media: MediaDescription?
    public var location: SharedLocation?
    public var contacts: [SharedContact]
    /// For an unsupported kind: its key in `message` (e.g. `pollCreationMessageV3`).
    public var unsupportedType: String?

    public init(kind: ChatKind, body: String = "", quotedID: String? = nil, reactionTo: String? = nil, media: MediaDescription? = nil,
                location: SharedLocation? = nil, contacts: [SharedContact] = [], unsupportedType: String? = nil) {
        self.kind = kind
        self.body = body
        self.quotedID = quotedID
        self.reactionTo = reactionTo
        self.media = media
        self.location = location
        self.contacts = contacts
        self.unsupportedType = unsupportedType
    }
}

/// One message event (`messages.upsert` or `send.message`) as the projector needs it.
public struct ChatEvent: Sendable, Hashable {
    /// WhatsApp's message id (`key.id`).
    public var messageID: String
    /// The chat's JID as addressed (`key.remoteJid`): `…@s.whatsapp.net`, `…@lid`, `…@g.us`.
    public var remoteJID: String
    /// The contact's phone number, digits only: from a phone JID, else from `remoteJidAlt` /
    /// `senderPn` when WhatsApp addressed a LID. Nil when the event names no phone number.
    public var phoneDigits: String?
    /// The contact's LID, when addressed by one.
    public var lid: String?
    /// Sent by the number's owner (from the phone, another client, or through the gateway).
    public var fromMe: Bool
    /// The sender's WhatsApp profile name (for fromMe messages, the owner's own name).
    public var pushName: String
    /// WhatsApp's time of the message (`messageTimestamp`, seconds, UTC).
    public var timestamp: Date?
    /// The gateway's status of the message (`status`: `PENDING`, `SERVER_ACK`, `DELIVERY_ACK`, …).
    public var status: String
    public var content: MessageContent

    /// What kind of chat it is.
    public enum ChatType: Sendable, Hashable { case direct, group, broadcast }

    public var chatType: ChatType {
        if remoteJID.hasSuffix("@g.us") { return .group }
        if remoteJID.hasSuffix("@broadcast") || remoteJID.hasSuffix("@newsletter") { return .broadcast }
        return .direct
    }
}

/// Why an event cannot become a message.
public enum ChatEventProblem: Error, Sendable, Hashable, CustomStringConvertible {
    case notJSON
    case noMessageKey
    case noChat

    public var description: String {
        switch self {
        case .notJSON: "the payload is not a JSON object with a data object"
        case .noMessageKey: "data.key.id is missing"
        case .noChat: "data.key.remoteJid is missing"
        }
    }
}

/// Reads message events as Evolution API 2.3 posts them (docs/CHAT.md, "Inbound").
public enum ChatEventParser {
    /// Parses a webhook envelope (`{"event", "instance", "data": {...}, ...}`) of a
    /// `messages.upsert` or `send.message` event. `data` may also be a one-element array (some
    /// releases post upserts that way).
    public static func parse(envelope: [UInt8]) throws(ChatEventProblem) -> ChatEvent {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(envelope))) as? [String: Any] else { throw .notJSON }
        var data = object["data"]
        if let array = data as? [Any], let first = array.first { data = first }
        guard let data = data as? [String: Any] else { throw .notJSON }
        return try parse(data: data)
    }

    /// Parses the `data` object of a message event.
    public static func parse(data: [String: Any]) throws(ChatEventProblem) -> ChatEvent {
        guard let key = data["key"] as? [String: Any], let id = string(key["id"]), !id.isEmpty else { throw .noMessageKey }
        guard let remote = string(key["remoteJid"]), !remote.isEmpty else { throw .noChat }
        let fromMe = bool(key["fromMe"]) ?? false
        var phone: String?
        var lid: String?
        if remote.hasSuffix("@lid") {
            lid = remote
            for candidate in [key["remoteJidAlt"], key["senderPn"], data["senderPn"]] {
                if let jid = string(candidate), jid.hasSuffix("@s.whatsapp.net") || jid.hasSuffix("@c.us") {
                    phone = digits(ofJID: jid)
                    break
                }
            }
        } else if remote.hasSuffix("@s.whatsapp.net") || remote.hasSuffix("@c.us") {
            phone = digits(ofJID: remote)
            if let alt = string(key["remoteJidAlt"]), alt.hasSuffix("@lid") { lid = alt }
        }
        let message = data["message"] as? [String: Any] ?? [:]
        var content = content(of: message, messageType: string(data["messageType"]))
        if content.quotedID == nil, let context = data["contextInfo"] as? [String: Any], let quoted = string(context["stanzaId"]), !quoted.isEmpty {
            content.quotedID = quoted
        }
        if var media = content.media, let b64 = message["base64"] as? String, !b64.isEmpty {
            media.inlineBase64 = true
            content.media = media
        }
        return ChatEvent(
            messageID: id, remoteJID: remote, phoneDigits: phone, lid: lid, fromMe: fromMe,
            pushName: string(data["pushName"]) ?? "", timestamp: timestamp(data["messageTimestamp"]),
            status: string(data["status"]) ?? "", content: content)
    }

    /// Keys of `message` that carry no content of their own.
    static let ignoredKeys: Set<String> = ["messageContextInfo", "base64", "mediaUrl", "senderKeyDistributionMessage"]
    /// Wrappers whose `message` holds the real content.
    static let wrappers = ["ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension",
                           "documentWithCaptionMessage", "editedMessage", "deviceSentMessage"]

    /// The content of a `message` object (the first key that holds content decides the kind).
    public static func content(of message: [String: Any], messageType: String? = nil) -> MessageContent {
        for wrapper in wrappers {
            if let inner = (message[wrapper] as? [String: Any])?["message"] as? [String: Any] {
                var content = content(of: inner, messageType: nil)
                if content.quotedID == nil { content.quotedID = quoted(message[wrapper]) }
                return content
            }
        }
        if let text = string(message["conversation"]) {
            return MessageContent(kind: .text, body: text)
        }
        if let ext = message["extendedTextMessage"] as? [String: Any] {
            return MessageContent(kind: .text, body: string(ext["text"]) ?? "", quotedID: quoted(ext))
        }
        let mediaKinds: [(String, ChatKind)] = [("imageMessage", .image), ("videoMessage", .video), ("audioMessage", .audio),
                                                ("documentMessage", .document), ("stickerMessage", .sticker), ("ptvMessage", .video)]
        for (name, kind) in mediaKinds {
            guard let part = message[name] as? [String: Any] else { continue }
            var kind = kind
            if kind == .audio, bool(part["ptt"]) == true { kind = .voice }
            let mime = string(part["mimetype"]) ?? ""
            let fileName = string(part["fileName"]) ?? (kind == .document ? string(part["title"]) ?? "" : "")
            return MessageContent(
                kind: kind, body: string(part["caption"]) ?? "", quotedID: quoted(part),
                media: MediaDescription(mimeType: mime, fileName: fileName, announcedSize: int64(part["fileLength"])))
        }
        for name in ["locationMessage", "liveLocationMessage"] {
            guard let part = message[name] as? [String: Any] else { continue }
            let location = SharedLocation(
                latitude: double(part["degreesLatitude"]) ?? 0, longitude: double(part["degreesLongitude"]) ?? 0,
                name: string(part["name"]) ?? "", address: string(part["address"]) ?? "")
            return MessageContent(kind: .location, body: string(part["caption"]) ?? "", quotedID: quoted(part), location: location)
        }
        if let part = message["contactMessage"] as? [String: Any] {
            return MessageContent(kind: .contact, quotedID: quoted(part),
                                  contacts: [SharedContact(displayName: string(part["displayName"]) ?? "", vcard: string(part["vcard"]) ?? "")])
        }
        if let part = message["contactsArrayMessage"] as? [String: Any] {
            let cards = (part["contacts"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }.map {
                SharedContact(displayName: string($0["displayName"]) ?? "", vcard: string($0["vcard"]) ?? "")
            }
            return MessageContent(kind: .contact, body: string(part["displayName"]) ?? "", quotedID: quoted(part), contacts: cards)
        }
        if let part = message["reactionMessage"] as? [String: Any] {
            let target = (part["key"] as? [String: Any]).flatMap { string($0["id"]) }
            return MessageContent(kind: .reaction, body: string(part["text"]) ?? "", reactionTo: target)
        }
        let type = message.keys.filter { !ignoredKeys.contains($0) }.sorted().first ?? messageType ?? "unknown"
        return MessageContent(kind: .unsupported, unsupportedType: type)
    }

    /// `contextInfo.stanzaId` of a message part: the message it quotes.
    static func quoted(_ part: Any?) -> String? {
        guard let part = part as? [String: Any], let context = part["contextInfo"] as? [String: Any],
              let id = string(context["stanzaId"]), !id.isEmpty else { return nil }
        return id
    }

    /// The digits of a phone JID (`5511999999999:12@s.whatsapp.net` → `5511999999999`).
    public static func digits(ofJID jid: String) -> String? {
        let user = jid.split(separator: "@").first.map(String.init) ?? ""
        let number = user.split(separator: ":").first.map(String.init) ?? ""
        guard (7...15).contains(number.count), number.allSatisfy(\.isASCII), number.allSatisfy(\.isNumber) else { return nil }
        return number
    }

    static func string(_ value: Any?) -> String? {
        switch value {
        case let s as String: s
        case let n as NSNumber: n.stringValue
        default: nil
        }
    }

    static func bool(_ value: Any?) -> Bool? {
        switch value {
        case let n as NSNumber: n.boolValue
        case let s as String: s == "true" ? true : (s == "false" ? false : nil)
        default: nil
        }
    }

    static func double(_ value: Any?) -> Double? {
        switch value {
        case let n as NSNumber: n.doubleValue
        case let s as String: Double(s)
        default: nil
        }
    }

    /// A number, a numeric string, or protobuf.js's Long (`{"low", "high", "unsigned"}`).
    static func int64(_ value: Any?) -> Int64? {
        switch value {
        case let n as NSNumber: return n.int64Value
        case let s as String: return Int64(s)
        case let long as [String: Any]:
            guard let low = (long["low"] as? NSNumber)?.int64Value else { return nil }
            let high = (long["high"] as? NSNumber)?.int64Value ?? 0
            return (high << 32) | (low & 0xFFFF_FFFF)
        default: return nil
        }
    }

    /// `messageTimestamp`: seconds since 1970 (number, string or Long); nil when absent or absurd.
    static func timestamp(_ value: Any?) -> Date? {
        guard let seconds = int64(value), seconds > 946_684_800, seconds < 4_102_444_800 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
