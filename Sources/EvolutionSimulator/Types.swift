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
        /// 500 in the gateway's generic envelope,
        /// `{"status":500,"error":"Internal Server Error","response":{"message":["Error: simulated server error"]}}`:
        /// a transient failure of the gateway itself. Message sends only (`sendText`, `sendMedia`);
        /// number checks answer as usual. With ``SendFailure/count``, only that many sends fail.
        case serverError = "server-error"
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
    /// For ``Mode/serverError``: how many more sends fail (nil: every send, until reset). Each
    /// failed send takes one, under the simulator's lock; after the last the mode is back to
    /// ``Mode/none`` (``delayMilliseconds`` and ``shape`` stay). Ignored by the other modes.
    public var count: Int?

    public init(mode: Mode = .none, shape: ClosedShape? = nil, delayMilliseconds: Int = 0, count: Int? = nil) {
        self.mode = mode
        self.shape = shape
        self.delayMilliseconds = delayMilliseconds
        self.count = count
    }

    /// Whether this send fails with ``Mode/serverError``; takes one from ``count``, and resets the
    /// mode to ``Mode/none`` after the last one.
    mutating func takeServerError() -> Bool {
        guard mode == .serverError else { return false }
        guard let remaining = count else { return true }
        if remaining <= 1 {
            mode = .none
            count = nil
        } else {
            count = remaining - 1
        }
        return remaining >= 1
    }
}

/// One message send (`POST /message/sendText/{i}` or `/message/sendMedia/{i}`) that reached the
/// send handler: the instance exists and the key was good. Invalid bodies (400) are recorded too.
public struct SimSend: Sendable, Hashable {
    public var instance: String
    /// `sendMedia` (else `sendText`).
    public var isMedia: Bool
    /// `number` as given in the body; nil when the body had none.
    public var number: String?
    /// sendText's `text`, or sendMedia's `caption`; nil when there was none.
    public var text: String?
    /// `delay` (ms) as given in the body; 0 when absent. The gateway sleeps this long (plus a
    /// ``SendFailure/delayMilliseconds``) before a valid send's answer.
    public var delay: Int
    /// The HTTP status answered.
    public var status: Int
    /// The sent message's id (`key.id`) when the send succeeded.
    public var messageId: String?
    /// When the send handler took the request (before any delay). Sends are logged in this order.
    public var arrivedAt: ContinuousClock.Instant
    /// When the answer was written to the connection, after its delay (or, when the client had
    /// already closed it, when it would have been: see ``answerWritten``).
    public var answeredAt: ContinuousClock.Instant
    /// False when the connection was closed before the answer could be written (e.g. the client
    /// timed out): the gateway did the send, the client never heard.
    public var answerWritten: Bool

    public init(
        instance: String, isMedia: Bool, number: String?, text: String?, delay: Int, status: Int, messageId: String?,
        arrivedAt: ContinuousClock.Instant, answeredAt: ContinuousClock.Instant, answerWritten: Bool
    ) {
        self.instance = instance
        self.isMedia = isMedia
        self.number = number
        self.text = text
        self.delay = delay
        self.status = status
        self.messageId = messageId
        self.arrivedAt = arrivedAt
        self.answeredAt = answeredAt
        self.answerWritten = answerWritten
    }
}
