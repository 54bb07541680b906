import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// Which way a message went.
public enum ChatDirection: String, Sendable, Hashable, Codable {
    case inbound, outbound
}

/// A message's delivery state (`chat_messages.status`).
public enum ChatStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case pending, sent, delivered, read, failed, received

    /// Order of progress for outbound messages (a receipt never moves one back).
    public var rank: Int {
        switch self {
        case .pending: 0
        case .sent: 1
        case .delivered: 2
        case .read: 3
        case .failed: -1
        case .received: 0
        }
    }
}

/// Where a message's media stands (`chat_messages.media_state`).
public enum MediaState: String, Sendable, Hashable, Codable {
    case pending, stored, failed
    case tooLarge = "too_large"
}

/// A message's media as stored.
public struct StoredMedia: Sendable, Hashable, Codable {
    /// Nil for a reply's media given by URL: the gateway fetches it, nothing is stored here.
    public var state: MediaState?
    public var kind: ChatKind
    public var mimeType: String
    public var fileName: String
    public var sizeBytes: Int64?
    /// The content's SHA-256 (hex) once stored.
    public var sha256: String?
}

/// A message in a conversation.
public struct ChatMessage: Sendable, Hashable, Codable {
    public var id: ChatMessageID
    public var conversationID: ConversationID
    public var instanceID: InstanceID
    public var waMessageID: String?
    public var direction: ChatDirection
    public var status: ChatStatus
    public var kind: ChatKind
    public var body: String
    public var location: SharedLocation?
    public var contacts: [SharedContact]
    public var unsupportedType: String?
    /// The quoted message's id, when that message is stored.
    public var quotedMessageID: ChatMessageID?
    public var reactionToMessageID: ChatMessageID?
    public var senderName: String
    public var media: StoredMedia?
    public var error: String
    public var campaignID: CampaignID?
    public var createdAt: Date
    public var updatedAt: Date
    /// Arrival order (ties of createdAt).
    public var seq: Int64
}

/// A conversation with one phone number on one of the tenant's numbers.
public struct Conversation: Sendable, Hashable {
    public var id: ConversationID
    public var instanceID: InstanceID
    public var phoneNumber: String
    public var contactID: ContactID?
    /// The contact's name, else the WhatsApp profile name, else empty.
    public var displayName: String
    public var unreadCount: Int
    public var lastMessage: ChatMessage?
    public var lastMessageAt: Date?
    public var optedOut: Bool
}

/// An account's chat settings.
public struct ChatSettings: Sendable, Hashable {
    /// nil: the default words.
    public var optOutWords: [String]?
    public var optInWords: [String]?
    public var optOutReply: String
    public var optInReply: String
    public var sendReadReceipts: Bool

    public init(optOutWords: [String]? = nil, optInWords: [String]? = nil, optOutReply: String = "", optInReply: String = "", sendReadReceipts: Bool = false) {
        self.optOutWords = optOutWords
        self.optInWords = optInWords
        self.optOutReply = optOutReply
        self.optInReply = optInReply
        self.sendReadReceipts = sendReadReceipts
    }

    public var words: ConsentWords { ConsentWords(optOut: optOutWords, optIn: optInWords) }
}

/// The chat domain's errors (mapped to statuses at the API edge).
public struct ChatError: DomainError, Hashable {
    public var category: DomainErrorCategory
    public var message: String
    public var retryAfterMilliseconds: Int?

    public init(_ category: DomainErrorCategory, _ message: String, retryAfterMilliseconds: Int? = nil) {
        self.category = category
        self.message = message
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }
}

extension ChatMessage {
    /// The columns `init(row:)` reads, from `chat_messages m` with the quoted and reacted-to
    /// messages joined as `q` and `r`.
    static let columns = """
        m.id, m.seq, m.conversation_id, m.instance_id, m.wa_message_id, m.direction, m.status, m.kind, m.body, m.details::text AS details,
        m.sender_name, m.media_state, m.media_kind, m.media_mime, m.media_file_name, m.media_size, m.media_sha256, m.error,
        m.campaign_id, m.created_at, m.updated_at, q.id AS quoted_id, rt.id AS reaction_id
        """
    static let joins = """
        LEFT JOIN chat_messages q ON q.instance_id = m.instance_id AND q.wa_message_id = m.quoted_wa_id
        LEFT JOIN chat_messages rt ON rt.instance_id = m.instance_id AND rt.wa_message_id = m.reaction_to_wa_id
        """

    init?(row: PostgresRow) {
        guard let id: ChatMessageID = row["id"].id(), let conversation: ConversationID = row["conversation_id"].id(),
              let instance: InstanceID = row["instance_id"].id() else { return nil }
        let details = (row["details"].string.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]) ?? [:]
        var location: SharedLocation?
        if let l = details["location"] as? [String: Any] {
            location = SharedLocation(latitude: (l["latitude"] as? NSNumber)?.doubleValue ?? 0, longitude: (l["longitude"] as? NSNumber)?.doubleValue ?? 0,
                                      name: l["name"] as? String ?? "", address: l["address"] as? String ?? "")
        }
        let contacts = (details["contacts"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }.map {
            SharedContact(displayName: $0["displayName"] as? String ?? "", vcard: $0["vcard"] as? String ?? "")
        }
        let kind = ChatKind(rawValue: row["kind"].string ?? "") ?? .unsupported
        var media: StoredMedia?
        if let mediaKind = row["media_kind"].string {
            media = StoredMedia(state: row["media_state"].string.flatMap(MediaState.init(rawValue:)), kind: ChatKind(rawValue: mediaKind) ?? kind,
                                mimeType: row["media_mime"].string ?? "",
                                fileName: row["media_file_name"].string ?? "", sizeBytes: row["media_size"].int64, sha256: row["media_sha256"].string)
        }
        self.init(
            id: id, conversationID: conversation, instanceID: instance, waMessageID: row["wa_message_id"].string,
            direction: ChatDirection(rawValue: row["direction"].string ?? "") ?? .inbound,
            status: ChatStatus(rawValue: row["status"].string ?? "") ?? .received, kind: kind, body: row["body"].string ?? "",
            location: location, contacts: contacts, unsupportedType: details["unsupported_type"] as? String,
            quotedMessageID: row["quoted_id"].id(), reactionToMessageID: row["reaction_id"].id(), senderName: row["sender_name"].string ?? "",
            media: media, error: row["error"].string ?? "", campaignID: row["campaign_id"].id(),
            createdAt: row["created_at"].date ?? Date(), updatedAt: row["updated_at"].date ?? Date(), seq: row["seq"].int64 ?? 0)
    }

    /// `details` for a message content.
    static func detailsJSON(_ content: MessageContent) -> String {
        var details: [String: Any] = [:]
        if let l = content.location {
            details["location"] = ["latitude": l.latitude, "longitude": l.longitude, "name": l.name, "address": l.address]
        }
        if !content.contacts.isEmpty {
            details["contacts"] = content.contacts.map { ["displayName": $0.displayName, "vcard": $0.vcard] }
        }
        if let type = content.unsupportedType { details["unsupported_type"] = type }
        guard let data = try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
