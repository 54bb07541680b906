import Foundation

struct SimWebhook: Sendable {
    var enabled: Bool
    var url: String
    var byEvents: Bool
    var base64: Bool
    var headers: [String: String]
    var events: [String]
    var id: String = UUID().uuidString.lowercased()
}

struct SimInstance: Sendable {
    var name: String
    var id: String
    var token: String
    var integration: String
    var number: String?
    var state: String
    var webhook: SimWebhook?
    var ownerJid: String?
    var profileName: String = "WaQtor Simulator"
    /// Digits of the number the current session asks pairing codes for (2.3.6's `phoneNumber`,
    /// set by `connect?number=` on a closed instance); nil: QR codes only.
    var pairingNumber: String?
    /// The last QR code issued (2.3.6's `instance.qrcode`): what `connect` answers while
    /// `connecting`, whatever `number` it is given. Never reset, like the gateway's.
    var qr: SimQR?
    /// Never reset, like the gateway's `qrcode.count`.
    var qrCount: Int = 0
    /// Counts sessions, so a timer of an ended session does nothing.
    var session: Int = 0
    var disconnectionReasonCode: Int?
    var createdAt: String
    /// How `connect` answers while not open: "qr" (normal), "no-qr" (`{"count":0}`), "error"
    /// (200 with `{"error":true,"message":…}`), "slow-qr" (a new session's first QR code comes
    /// after the answer, which holds the previous cached codes, as 2.3.6's 2-second wait can).
    var connectMode: String = "qr"
}

/// Webhook bookkeeping, under its own lock (taken while the state's lock may be held, never the
/// other way round).
struct SimWebhookState: Sendable {
    var deliveries: [WebhookDelivery] = []
    /// Webhooks emitted (posted, queued, delayed or dropped).
    var emitted = 0
    /// Events posted to nobody (a lost delivery): instance name ("*": all) → dotted event names.
    var droppedEvents: [String: Set<String>] = [:]
    /// The last `date_time` stamped: stamps strictly increase, as the gateway's do across the real
    /// work between two events.
    var lastStamp: Date = .distantPast

    func drops(_ event: String, instance: String) -> Bool {
        [instance, "*"].contains { key in droppedEvents[key].map { $0.contains(event) || $0.contains("*") } ?? false }
    }
}

/// A QR code issued for a session (and its pairing code, when the session has a number).
struct SimQR: Sendable, Hashable {
    var code: String
    var base64: String
    var pairingCode: String?
    var count: Int

    var object: [String: Any] {
        ["pairingCode": pairingCode.map { $0 as Any } ?? NSNull(), "code": code, "base64": base64, "count": count]
    }
}

struct SimState: Sendable {
    var instances: [String: SimInstance] = [:]
    var requests: [RecordedRequest] = []
    var failures: [String: SendFailure] = [:]
    var defaultFailure = SendFailure()
    var unknownNumbers: Set<String> = []
    /// Inbound media by message id (for `getBase64FromMediaMessage`).
    var media: [String: SimMedia] = [:]
    /// How many of the next `getBase64FromMediaMessage` calls answer 500.
    var mediaFailures = 0
    /// The `readMessages` of every `markMessageAsRead`, in order.
    var readMarks: [[String: String]] = []

    func failure(for instance: String) -> SendFailure { failures[instance] ?? defaultFailure }

    /// Whether this send of the instance fails with `server-error`, taking one from the count of
    /// the failure that applies (the instance's own, else the default `*`).
    mutating func takeServerError(for instance: String) -> Bool {
        if var failure = failures[instance] {
            defer { failures[instance] = failure }
            return failure.takeServerError()
        }
        return defaultFailure.takeServerError()
    }

    static func digits(_ number: String) -> String {
        if number.contains("@") { return String(number.prefix { $0 != "@" }) }
        return String(number.filter { $0.isNumber })
    }

    static func jid(_ number: String) -> String {
        number.contains("@") ? number : digits(number) + "@s.whatsapp.net"
    }

    /// `3EB0` followed by 18 upper-case hex digits, like Baileys' web ids.
    static func messageID() -> String {
        let hex = Array("0123456789ABCDEF")
        return "3EB0" + String((0..<18).map { _ in hex[Int.random(in: 0..<16)] })
    }

    static func hex(_ count: Int) -> String {
        let hex = Array("0123456789abcdef")
        return String((0..<count).map { _ in hex[Int.random(in: 0..<16)] })
    }

    static func pairingCode() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTVWXYZ0123456789")
        return String((0..<8).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }

    /// An envelope `date_time` as 2.3.6 writes it: the wall-clock time of the gateway's zone with
    /// a `Z` suffix (`new Date(Date.now() - tzoffset).toISOString()`), milliseconds.
    static func envelopeTime(_ date: Date, zone: TimeZone) -> String {
        let shifted = date.addingTimeInterval(TimeInterval(zone.secondsFromGMT(for: date)))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: shifted)
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

enum SimJSON {
    static func encode(_ object: Any) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])).map { Array($0) } ?? Array("{}".utf8)
    }

    static func string(_ value: Any?) -> String? {
        switch value {
        case let string as String: string
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    static func int(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber: number.intValue
        case let string as String: Int(string)
        default: nil
        }
    }

    static func bool(_ value: Any?) -> Bool? { value as? Bool }
}

/// The send log: the latest `capacity` sends in arrival order, in a ring (dropping the oldest
/// costs nothing). An entry is appended when the send handler takes the request and settled when
/// its answer is written; only settled entries are reported. Under its own lock, which may be
/// taken while the state's lock is held, never the other way round.
struct SimSendLog: Sendable {
    struct Entry: Sendable {
        var send: SimSend
        var settled: Bool
    }

    let capacity: Int
    private var storage: [Entry] = []
    /// Index in `storage` of the oldest entry (non-zero only once the ring is full).
    private var start = 0
    /// Sequence number of the oldest entry; entries are numbered from 0 in arrival order.
    private var firstSequence = 0
    private(set) var settledCount = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { storage.count }

    /// Logs a send; returns its sequence number, for ``settle(_:answeredAt:written:)``.
    mutating func append(_ send: SimSend) -> Int {
        let sequence = firstSequence + storage.count
        let entry = Entry(send: send, settled: false)
        if storage.count < capacity {
            storage.append(entry)
        } else {
            if storage[start].settled { settledCount -= 1 }
            storage[start] = entry
            start = (start + 1) % capacity
            firstSequence += 1
        }
        return sequence
    }

    /// Stamps the answer of a logged send (nothing when it was dropped or cleared since).
    mutating func settle(_ sequence: Int, answeredAt: ContinuousClock.Instant, written: Bool) {
        let offset = sequence - firstSequence
        guard offset >= 0, offset < storage.count else { return }
        let index = (start + offset) % storage.count
        guard !storage[index].settled else { return }
        storage[index].send.answeredAt = answeredAt
        storage[index].send.answerWritten = written
        storage[index].settled = true
        settledCount += 1
    }

    /// The settled sends, oldest first.
    func sends() -> [SimSend] {
        var result: [SimSend] = []
        result.reserveCapacity(settledCount)
        for offset in 0..<storage.count {
            let entry = storage[(start + offset) % storage.count]
            if entry.settled { result.append(entry.send) }
        }
        return result
    }

    /// Empties the log; answers still pending are not logged when they come.
    mutating func removeAll() {
        firstSequence += storage.count
        storage = []
        start = 0
        settledCount = 0
    }
}
