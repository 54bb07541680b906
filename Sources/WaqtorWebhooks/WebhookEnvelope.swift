import WaqtorCore
import WaqtorSecurity
import Foundation
import WaqtorTenants
import WaqtorInstances

/// One Evolution API webhook delivery, parsed enough to store it once and apply its state change.
///
/// Envelope: `{"event":"messages.upsert","instance":"name","data":{…},"date_time":"…","sender":"…",…}`
/// (docs/WEBHOOKS.md, `../shared/reference/evolution-api.md` §4).
struct WebhookEnvelope: Sendable {
    /// The dotted event name (`connection.update`).
    var event: String
    /// What makes a repeated delivery recognisable (see ``dedupeKey(event:envelope:data:)``).
    var dedupeKey: String
    /// The connection change the event carries, if any.
    var connectionEvent: GatewayConnectionEvent?
    /// The envelope's `date_time`: the gateway's clock, which orders connection changes.
    var time: GatewayTime?

    enum ParseError: Error, Equatable {
        case malformedJSON
        case notAnEnvelope(String)
    }

    /// Parses a body. Throws on malformed JSON or an envelope without `event` (string) or `data`.
    /// `data` may be null: 2.3.6 posts `logout.instance` and `remove.instance` with `"data": null`.
    static func parse(_ body: [UInt8]) throws(ParseError) -> WebhookEnvelope {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw .malformedJSON
        }
        guard let envelope = object as? [String: Any] else { throw .notAnEnvelope("the body is not a JSON object") }
        guard let event = envelope["event"] as? String, !event.isEmpty, event.utf8.count <= 100 else {
            throw .notAnEnvelope("no \"event\" name")
        }
        guard let data = envelope["data"] else { throw .notAnEnvelope("no \"data\"") }
        return WebhookEnvelope(
            event: event, dedupeKey: dedupeKey(event: event, envelope: envelope, data: data),
            connectionEvent: connectionEvent(event: event, data: data),
            time: (envelope["date_time"] as? String).flatMap(GatewayTime.init))
    }

    /// Message events by message id (`data.key.id`; a message sent by the API may arrive as
    /// `send.message` or as `messages.upsert`, it is the same message); receipts by message id
    /// and status; anything else by SHA-256 of event, `date_time` and data (a retry repeats the
    /// same envelope, while a later event with the same data, e.g. a second `open`, is new).
    static func dedupeKey(event: String, envelope: [String: Any], data: Any) -> String {
        let key = rawDedupeKey(event: event, envelope: envelope, data: data)
        // Ids come from the gateway: keep the stored key short whatever they are.
        return key.utf8.count <= 200 ? key : "sha256:" + Hashing.sha256Hex(Array(key.utf8))
    }

    static func rawDedupeKey(event: String, envelope: [String: Any], data: Any) -> String {
        let object = data as? [String: Any]
        switch event {
        case "messages.upsert", "send.message":
            if let key = object?["key"] as? [String: Any], let id = key["id"] as? String, !id.isEmpty {
                return "message:\(id)"
            }
        case "messages.update":
            if let keyID = object?["keyId"] as? String, !keyID.isEmpty {
                let status = (object?["status"] as? String) ?? (object?["status"]).map { "\($0)" } ?? ""
                return "status:\(keyID):\(status)"
            }
        default:
            break
        }
        var material = Array("\(event)\n\((envelope["date_time"] as? String) ?? "")\n".utf8)
        if let canonical = try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys, .fragmentsAllowed]) {
            material.append(contentsOf: canonical)
        }
        return "sha256:" + Hashing.sha256Hex(material)
    }

    static func connectionEvent(event: String, data: Any) -> GatewayConnectionEvent? {
        let object = data as? [String: Any]
        switch event {
        case "connection.update":
            guard let raw = object?["state"] as? String, let state = InstanceState(rawValue: raw),
                  [.open, .connecting, .close, .refused].contains(state)
            else { return nil }
            // On open, 2.3.6 adds the paired number's JID and its profile name.
            return .connection(
                state, reason: integer(object?["statusReason"]),
                wuid: object?["wuid"] as? String, profileName: object?["profileName"] as? String)
        case "logout.instance":
            // `data` is null in 2.3.6: the reason, if any, came with status.instance.
            return .loggedOut(reason: nil)
        case "status.instance":
            // {status: "closed", disconnectionReasonCode}: sent before logout.instance on a
            // logged-out or banned close.
            guard (object?["status"] as? String) == "closed",
                  let code = integer(object?["disconnectionReasonCode"]), InstanceStore.loggedOutReasons.contains(code)
            else { return nil }
            return .loggedOut(reason: code)
        default:
            return nil
        }
    }

    static func integer(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber: number.intValue
        case let text as String: Int(text)
        default: nil
        }
    }
}
