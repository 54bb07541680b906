import Foundation

/// One request the simulator received (control routes under `/_sim/` are not recorded).
public struct RecordedRequest: Sendable, Hashable {
    public var method: String
    /// The request target as sent, with its query string.
    public var path: String
    /// In arrival order, names as sent.
    public var headers: [Header]
    public var body: [UInt8]

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as a JSON object (nil when it is not one).
    public var jsonObject: [String: Any]? {
        guard !body.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}

/// One webhook the simulator posted, with the receiver's answer (nil status: no answer).
public struct WebhookDelivery: Sendable, Hashable {
    public var event: String
    public var instance: String
    public var url: String
    public var status: Int?
    public var error: String?
}

/// How sends (`sendText`, `sendMedia`, `whatsappNumbers`) of an instance misbehave.
public struct SendFailure: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable {
        case none
        /// 400 with `[{"jid","exists":false,"number"}]`.
        case unknownNumber = "unknown-number"
        /// "Connection Closed" in the route's shape (or ``shape``).
        case connectionClosed = "connection-closed"
    }

    /// The three shapes of "Connection Closed" in Evolution API 2.3.6.
    public enum ClosedShape: String, Sendable, Hashable {
        /// 400 `["Error: Connection Closed"]` (the text send path; sendText's default).
        case text400 = "text-400"
        /// 500 `["Error: Connection Closed"]` (the media path; sendMedia's default).
        case media500 = "media-500"
        /// 500 with a plain string.
        case string500 = "string-500"
        /// 400 with a raw Boom object, no envelope (whatsappNumbers' default: its route answers
        /// 400 with whatever Baileys threw).
        case boom400 = "boom-400"
    }

    public var mode: Mode
    /// Forces one shape on every route; nil = each route's own shape.
    public var shape: ClosedShape?
    /// Answers this much later (a slow gateway).
    public var delayMilliseconds: Int

    public init(mode: Mode = .none, shape: ClosedShape? = nil, delayMilliseconds: Int = 0) {
        self.mode = mode
        self.shape = shape
        self.delayMilliseconds = delayMilliseconds
    }
}
