import Foundation

/// An instance's connection state as the gateway reports it.
public enum EvolutionConnectionState: Sendable, Hashable, CustomStringConvertible {
    case open, connecting, close, refused
    case other(String)

    public init(_ raw: String) {
        switch raw {
        case "open": self = .open
        case "connecting": self = .connecting
        case "close": self = .close
        case "refused": self = .refused
        default: self = .other(raw)
        }
    }

    public var rawValue: String {
        switch self {
        case .open: "open"
        case .connecting: "connecting"
        case .close: "close"
        case .refused: "refused"
        case .other(let raw): raw
        }
    }

    public var description: String { rawValue }
}

/// The per-instance webhook given on create (nested `webhook` object) or through `/webhook/set`.
///
/// `events` is always sent (an empty list means all events): without it the gateway fails.
public struct EvolutionWebhook: Sendable, Hashable {
    public var url: String
    public var byEvents: Bool
    public var base64: Bool
    /// Sent as-is with every webhook (`jwt_key` turns into `Authorization: Bearer <JWT>`).
    public var headers: [String: String]
    /// UPPER_SNAKE names (`MESSAGES_UPSERT`, `CONNECTION_UPDATE`, …); empty = all.
    public var events: [String]

    public init(url: String, byEvents: Bool = false, base64: Bool = false, headers: [String: String] = [:], events: [String] = []) {
        self.url = url
        self.byEvents = byEvents
        self.base64 = base64
        self.headers = headers
        self.events = events
    }

    /// The events WaQtor consumes.
    public static let standardEvents = [
        "QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE",
        "STATUS_INSTANCE", "LOGOUT_INSTANCE",
    ]

    var createObject: [String: Any] {
        ["url": url, "byEvents": byEvents, "base64": base64, "headers": headers, "events": events]
    }

    var setObject: [String: Any] {
        ["enabled": true, "url": url, "byEvents": byEvents, "base64": base64, "headers": headers, "events": events]
    }
}

/// What `POST /instance/create` answered.
public struct EvolutionCreatedInstance: Sendable, Hashable {
    public var instanceName: String
    public var instanceId: String?
    public var integration: String?
    public var status: String?
    /// The instance key (`hash`), valid on this instance's routes.
    public var token: String?
    /// Present only with `qrcode: true`.
    public var qrCode: EvolutionQRCode?
}

/// A QR code and/or pairing code from `connect` (or `qrcode.updated`).
public struct EvolutionQRCode: Sendable, Hashable {
    /// 8 characters to type on the phone; only when `connect` was given `number`.
    public var pairingCode: String?
    /// The raw QR string.
    public var code: String?
    /// `data:image/png;base64,…`.
    public var base64: String?
    /// How many QR codes were issued; `{"count":0}` alone means none is ready yet.
    public var count: Int?

    public init(pairingCode: String? = nil, code: String? = nil, base64: String? = nil, count: Int? = nil) {
        self.pairingCode = pairingCode
        self.code = code
        self.base64 = base64
        self.count = count
    }

    /// True when the answer holds neither a QR code nor a pairing code (e.g. `{"count":0}`).
    public var isEmpty: Bool { pairingCode == nil && code == nil && base64 == nil }

    /// The PNG bytes decoded from ``base64``.
    public var pngData: [UInt8]? {
        guard var text = base64 else { return nil }
        if let comma = text.firstIndex(of: ","), text.hasPrefix("data:") { text = String(text[text.index(after: comma)...]) }
        return Data(base64Encoded: text).map { Array($0) }
    }

    init?(object: [String: Any]?) {
        guard let object else { return nil }
        self.init(pairingCode: JSON.string(object["pairingCode"]), code: JSON.string(object["code"]), base64: JSON.string(object["base64"]), count: JSON.int(object["count"]))
    }
}

/// What `connect` answered: a QR code (possibly empty) while not connected, or the state.
public enum EvolutionConnectResult: Sendable, Hashable {
    case qrCode(EvolutionQRCode)
    case state(EvolutionConnectionState)
}

/// One row of `fetchInstances`.
public struct EvolutionInstanceInfo: Sendable, Hashable {
    public var id: String?
    public var name: String
    public var connectionStatus: EvolutionConnectionState?
    public var ownerJid: String?
    public var number: String?
    public var integration: String?
    public var token: String?
    public var disconnectionReasonCode: Int?
}

/// What a send (`sendText`, `sendMedia`) answered; `send.message` carries the same object.
public struct EvolutionSendResult: Sendable, Hashable {
    /// `key.id`: match `messages.update` events on it.
    public var messageId: String
    public var remoteJid: String
    public var fromMe: Bool
    /// Usually `PENDING`.
    public var status: String?
    public var messageType: String?
    /// Seconds, UTC (a number or numeric string on the wire).
    public var messageTimestamp: Int64?
    public var instanceId: String?
}

/// One entry of `whatsappNumbers`.
public struct EvolutionNumberCheck: Sendable, Hashable {
    public var jid: String
    public var exists: Bool
    public var number: String
    public var name: String?
    public var lid: String?
}

/// `mediatype` of `sendMedia`.
public enum EvolutionMediaType: String, Sendable, Hashable {
    case image, video, document, audio
}

/// The `media` of `sendMedia`: a URL, or base64 (sent without a `data:` prefix).
public enum EvolutionMedia: Sendable, Hashable {
    case url(String)
    /// Base64 text; a leading `data:…;base64,` is stripped before sending.
    case base64(String)
    /// Raw bytes, base64-encoded before sending.
    case bytes([UInt8])

    var wireValue: String {
        switch self {
        case .url(let url): return url
        case .base64(let text):
            if text.hasPrefix("data:"), let comma = text.firstIndex(of: ",") { return String(text[text.index(after: comma)...]) }
            return text
        case .bytes(let bytes): return Data(bytes).base64EncodedString()
        }
    }
}

/// A message from the gateway's own store (`/chat/findMessages`).
public struct EvolutionStoredMessage: Sendable, Hashable {
    public var id: String
    public var remoteJid: String
    public var fromMe: Bool
    /// The conversation text, extended text or media caption.
    public var text: String?
    /// Seconds since 1970, when the gateway gives it.
    public var timestamp: Int64?
}

/// The answer of `getBase64FromMediaMessage`.
public struct EvolutionMediaDownload: Sendable, Hashable {
    /// The content, base64.
    public var base64: String
    public var mimeType: String
    public var fileName: String
    /// The message part it came from (`imageMessage`, ...).
    public var mediaType: String
}
