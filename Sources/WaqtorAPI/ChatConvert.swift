import Foundation
import WaqtorChat
import WaqtorCore
import WaqtorProto
import WaqtorRPC

/// Chat values to API messages and back.
enum ChatConvert {
    static func status(_ status: ChatStatus) -> Waqtor_V1_MessageStatus {
        switch status {
        case .pending: .pending
        case .sent: .sent
        case .delivered: .delivered
        case .read: .read
        case .failed: .failed
        case .received: .received
        }
    }

    static func kind(_ kind: ChatKind) -> Waqtor_V1_MessageKind {
        switch kind {
        case .text: .text
        case .image: .image
        case .video: .video
        case .audio: .audio
        case .voice: .voice
        case .document: .document
        case .sticker: .sticker
        case .location: .location
        case .contact: .contact
        case .reaction: .reaction
        case .unsupported: .unsupported
        }
    }

    static func mediaKind(_ kind: ChatKind) -> Waqtor_V1_MediaKind {
        switch kind {
        case .image: .image
        case .video: .video
        case .audio, .voice: .audio
        case .sticker: .sticker
        default: .document
        }
    }

    static func mediaState(_ state: MediaState?) -> Waqtor_V1_MediaState {
        switch state {
        case nil: .unspecified
        case .pending: .pending
        case .stored: .stored
        case .failed: .failed
        case .tooLarge: .tooLarge
        }
    }

    /// A reply's media kind: the one asked for, else from the MIME type.
    static func kind(_ kind: Waqtor_V1_MediaKind, mime: String) throws -> ChatKind {
        switch kind {
        case .image: return .image
        case .video: return .video
        case .audio: return .audio
        case .document: return .document
        case .sticker: return .sticker
        case .unspecified:
            if mime.hasPrefix("image/") { return .image }
            if mime.hasPrefix("video/") { return .video }
            if mime.hasPrefix("audio/") { return .audio }
            return .document
        default:
            throw RPCError(code: .invalidArgument, message: "media.kind is not a known kind")
        }
    }

    static func media(_ media: StoredMedia, caption: String) -> Waqtor_V1_Media {
        var value = Waqtor_V1_Media()
        value.kind = mediaKind(media.kind)
        value.mimeType = media.mimeType
        value.fileName = media.fileName
        value.caption = caption
        value.sizeBytes = media.sizeBytes ?? 0
        return value
    }

    static func message(_ message: ChatMessage) -> Waqtor_V1_ChatMessage {
        var value = Waqtor_V1_ChatMessage()
        value.id = message.id.rawValue
        value.conversationID = message.conversationID.rawValue
        value.instanceID = message.instanceID.rawValue
        value.direction = message.direction == .inbound ? .inbound : .outbound
        value.status = status(message.status)
        value.campaignID = message.campaignID?.rawValue ?? ""
        value.quotedMessageID = message.quotedMessageID?.rawValue ?? ""
        value.kind = kind(message.kind)
        value.gatewayMessageID = message.waMessageID ?? ""
        value.text = message.body
        if let media = message.media {
            value.media = self.media(media, caption: message.body)
            value.mediaState = mediaState(media.state)
        }
        if let location = message.location {
            var l = Waqtor_V1_Location()
            l.latitude = location.latitude
            l.longitude = location.longitude
            l.name = location.name
            l.address = location.address
            value.location = l
        }
        value.contacts = message.contacts.map { card in
            var c = Waqtor_V1_ContactCard()
            c.displayName = card.displayName
            c.vcard = card.vcard
            return c
        }
        value.error = message.error
        value.reactionToMessageID = message.reactionToMessageID?.rawValue ?? ""
        value.unsupportedType = message.unsupportedType ?? ""
        value.senderName = message.senderName
        value.createTime = Google_Protobuf_Timestamp(date: message.createdAt)
        value.updateTime = Google_Protobuf_Timestamp(date: message.updatedAt)
        return value
    }

    static func conversation(_ conversation: Conversation) -> Waqtor_V1_Conversation {
        var value = Waqtor_V1_Conversation()
        value.id = conversation.id.rawValue
        value.instanceID = conversation.instanceID.rawValue
        value.phoneNumber = conversation.phoneNumber
        value.contactID = conversation.contactID?.rawValue ?? ""
        value.displayName = conversation.displayName
        value.unreadCount = Int32(clamping: conversation.unreadCount)
        if let last = conversation.lastMessage { value.lastMessage = message(last) }
        if let at = conversation.lastMessageAt { value.lastMessageTime = Google_Protobuf_Timestamp(date: at) }
        value.optedOut = conversation.optedOut
        return value
    }

    static func settings(_ settings: ChatSettings) -> Waqtor_V1_ChatSettings {
        var value = Waqtor_V1_ChatSettings()
        value.optOutWords = settings.optOutWords ?? ConsentWords.defaultOptOut
        value.optInWords = settings.optInWords ?? ConsentWords.defaultOptIn
        value.optOutReply = settings.optOutReply
        value.optInReply = settings.optInReply
        value.sendReadReceipts = settings.sendReadReceipts
        return value
    }

    static func live(_ envelope: LiveEnvelope) -> Waqtor_V1_LiveResponse {
        var value = Waqtor_V1_LiveResponse()
        value.eventID = envelope.id
        value.eventTime = Google_Protobuf_Timestamp(date: envelope.time)
        switch envelope.event {
        case .message(let m):
            value.message = message(m)
        case .status(let id, let conversation, let instance, let status, let error, let at):
            var update = Waqtor_V1_MessageStatusUpdate()
            update.messageID = id.rawValue
            update.conversationID = conversation.rawValue
            update.instanceID = instance.rawValue
            update.status = self.status(status)
            update.error = error
            update.updateTime = Google_Protobuf_Timestamp(date: at)
            value.statusUpdate = update
        case .read(let conversation, let instance, let unread):
            var update = Waqtor_V1_ConversationReadUpdate()
            update.conversationID = conversation.rawValue
            update.instanceID = instance.rawValue
            update.unreadCount = Int32(clamping: unread)
            value.readUpdate = update
        case .instance(let instance, let state, let reason):
            var update = Waqtor_V1_InstanceStateUpdate()
            update.instanceID = instance.rawValue
            update.state = state
            update.reason = reason
            value.instanceUpdate = update
        case .media(let m):
            var update = Waqtor_V1_MediaStateUpdate()
            update.messageID = m.id.rawValue
            update.conversationID = m.conversationID.rawValue
            if let media = m.media {
                update.mediaState = mediaState(media.state)
                update.media = self.media(media, caption: m.body)
            }
            value.mediaUpdate = update
        }
        return value
    }
}
