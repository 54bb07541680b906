import Foundation
import WaqtorHTTP

/// An error from the Evolution API gateway, or from reaching it.
///
/// ``kind`` is what a caller switches on; ``status`` and ``messages`` keep what the gateway said
/// (its HTTP status and the `response.message` entries, whether they came as an array or a plain
/// string, wrapped in `response` or not).
public struct EvolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// 401: a bad or missing `apikey`.
        case unauthorized
        /// 404 `The "x" instance does not exist`.
        case instanceNotFound
        /// 403 on create: the instance name is already in use.
        case alreadyExists
        /// 400 whose entries are `{jid, exists:false, number}`: the number is not on WhatsApp.
        case unknownNumber
        /// "Connection Closed" (500 array, 500 plain string, 400 array): the instance's socket is
        /// down; restart the instance. Not a bad request.
        case connectionClosed
        /// Any other 4xx, with the gateway's messages.
        case badRequest([String])
        /// Any other 5xx (or a 2xx that reports `error:true`), with the HTTP status.
        case server(Int)
        /// The call did not finish within its timeout.
        case timeout
        /// No HTTP answer: connection refused, reset, invalid URL, client shut down, cancelled.
        case transport
        /// A 2xx whose body is not the documented shape.
        case invalidResponse
    }

    public var kind: Kind
    /// The gateway's HTTP status; nil when there was no HTTP answer.
    public var status: Int?
    /// The gateway's messages (strings as sent; object entries rendered as JSON).
    public var messages: [String]
    /// For ``Kind/unknownNumber``: the numbers the gateway reported with `exists:false`.
    public var unknownNumbers: [String]
    /// The raw body (or the transport error's description).
    public var body: String

    public init(kind: Kind, status: Int?, messages: [String] = [], unknownNumbers: [String] = [], body: String = "") {
        self.kind = kind
        self.status = status
        self.messages = messages
        self.unknownNumbers = unknownNumbers
        self.body = body
    }

    /// The first message, or the body.
    public var message: String { messages.first ?? body }

    public var description: String {
        let statusText = status.map { "HTTP \($0)" } ?? "no HTTP answer"
        return "EvolutionError.\(kind) (\(statusText)): \(messages.isEmpty ? body : messages.joined(separator: "; "))"
    }

    static func from(_ error: HTTPClientError) -> EvolutionError {
        switch error {
        case .timeout: EvolutionError(kind: .timeout, status: nil, body: error.description)
        default: EvolutionError(kind: .transport, status: nil, body: error.description)
        }
    }

    /// Maps a gateway answer that is an error to its kind.
    ///
    /// Messages are read from `response.message`, a top-level `message`, or a raw Boom object's
    /// `output.payload.message`.
    ///
    /// Order: "Connection Closed" (any status) → `.connectionClosed`; 401 → `.unauthorized`;
    /// 404 with "does not exist" → `.instanceNotFound`; 403 on create or "already in use" →
    /// `.alreadyExists`; 400 with `exists:false` entries → `.unknownNumber`; other 4xx →
    /// `.badRequest`; anything else → `.server(status)`.
    static func classify(status: Int, body: [UInt8], isCreate: Bool = false) -> EvolutionError {
        let text = String(decoding: body, as: UTF8.self)
        let parsed = JSON.parse(body)
        var messages: [String] = []
        var unknown: [String] = []
        var sawExistsFalse = false

        func collect(_ value: Any?) {
            switch value {
            case let string as String:
                messages.append(string)
            case let array as [Any]:
                for element in array {
                    if let object = element as? [String: Any] {
                        if let exists = object["exists"] as? Bool, exists == false {
                            sawExistsFalse = true
                            if let number = JSON.string(object["number"]) ?? JSON.string(object["jid"]) { unknown.append(number) }
                        }
                        messages.append(JSON.render(object))
                    } else if let string = element as? String {
                        messages.append(string)
                    } else {
                        messages.append(JSON.render(element))
                    }
                }
            case let object as [String: Any]:
                if let nested = object["message"] { collect(nested) } else { messages.append(JSON.render(object)) }
            case nil:
                break
            default:
                messages.append(JSON.render(value!))
            }
        }

        if let object = parsed as? [String: Any] {
            if let response = object["response"] {
                collect(response)
            } else if let message = object["message"] {
                collect(message)
            } else if let payload = (object["output"] as? [String: Any])?["payload"] as? [String: Any] {
                // A raw Boom error serialised as-is (`/chat/whatsappNumbers` answers 400 with the
                // error Baileys threw): its message is only in `output.payload`, since an Error's
                // own `message` is not enumerable. E.g. Connection Closed is
                // {"isBoom":true,"output":{"statusCode":428,"payload":{"message":"Connection Closed",…}},…}.
                if let message = payload["message"] { collect(message) } else if let error = payload["error"] as? String { messages.append(error) }
            } else if let error = object["error"] as? String {
                messages.append(error)
            }
        } else if let array = parsed as? [Any] {
            collect(array)
        } else if !text.isEmpty {
            messages.append(text)
        }

        let joined = messages.joined(separator: "\n")
        func make(_ kind: Kind) -> EvolutionError {
            EvolutionError(kind: kind, status: status, messages: messages, unknownNumbers: unknown, body: text)
        }
        if joined.localizedCaseInsensitiveContains("Connection Closed") { return make(.connectionClosed) }
        if status == 401 { return make(.unauthorized) }
        if status == 404, joined.contains("does not exist") { return make(.instanceNotFound) }
        if status == 403, isCreate || joined.contains("already in use") { return make(.alreadyExists) }
        if (400..<500).contains(status), sawExistsFalse { return make(.unknownNumber) }
        if (400..<500).contains(status) { return make(.badRequest(messages)) }
        return make(.server(status))
    }
}
