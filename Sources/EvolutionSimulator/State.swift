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
    var qrCount: Int = 0
    var disconnectionReasonCode: Int?
    var createdAt: String
    /// How `connect` answers while not open: "qr" (normal), "no-qr" (`{"count":0}`), "error"
    /// (200 with `{"error":true,"message":…}`).
    var connectMode: String = "qr"
}

struct SimState: Sendable {
    var instances: [String: SimInstance] = [:]
    var requests: [RecordedRequest] = []
    var deliveries: [WebhookDelivery] = []
    var failures: [String: SendFailure] = [:]
    var defaultFailure = SendFailure()
    var unknownNumbers: Set<String> = []

    func failure(for instance: String) -> SendFailure { failures[instance] ?? defaultFailure }

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
