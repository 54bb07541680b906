import Foundation

/// A chat-completions body, checked the way OpenRouter checks one before routing it.
struct ChatRequest {
    struct Message {
        var role: String
        var content: String
    }

    /// Why a body is refused (a 400 with this message).
    struct Invalid: Error {
        var message: String
    }

    var messages: [Message]
    /// `model` (when a non-empty string) then each of `models`, duplicates removed, order kept:
    /// the order OpenRouter tries them in.
    var candidates: [String]

    static let roles: Set<String> = ["system", "user", "assistant", "tool"]

    /// The last `user` message's text, which carries our drafting prompt ("" when there is none).
    var lastUserText: String { messages.last { $0.role == "user" }?.content ?? "" }

    init(parsing body: [UInt8]) throws(Invalid) {
        guard let parsed = JSONText.parse(body) else { throw Invalid(message: "Invalid JSON in request body") }
        guard let object = parsed as? [String: Any] else {
            throw Invalid(message: "Invalid JSON in request body: expected a JSON object")
        }
        messages = try Self.messages(object["messages"])
        candidates = try Self.candidates(model: object["model"], models: object["models"])
        // An SSE answer is not simulated; answering JSON to a streaming client would confuse it more
        // than a clear refusal.
        if let stream = object["stream"] as? Bool, stream {
            throw Invalid(message: "stream: streaming is not supported by the OpenRouter stand-in")
        }
    }

    private static func messages(_ value: Any?) throws(Invalid) -> [Message] {
        guard let value else { throw Invalid(message: "messages: required, a non-empty array of {role, content}") }
        guard let array = value as? [Any] else { throw Invalid(message: "messages: expected an array") }
        guard !array.isEmpty else { throw Invalid(message: "messages: must contain at least one message") }
        var messages: [Message] = []
        for (index, element) in array.enumerated() {
            guard let object = element as? [String: Any] else {
                throw Invalid(message: "messages[\(index)]: expected an object with role and content")
            }
            guard let role = object["role"] as? String, roles.contains(role) else {
                throw Invalid(message: "messages[\(index)].role: expected one of system, user, assistant, tool")
            }
            guard let content = object["content"] as? String else {
                throw Invalid(message: "messages[\(index)].content: expected a string")
            }
            messages.append(Message(role: role, content: content))
        }
        return messages
    }

    private static func candidates(model: Any?, models: Any?) throws(Invalid) -> [String] {
        var ids: [String] = []
        if let model, !(model is NSNull) {
            guard let id = model as? String else { throw Invalid(message: "model: expected a string") }
            if !id.isEmpty { ids.append(id) }
        }
        if let models, !(models is NSNull) {
            guard let list = models as? [Any] else { throw Invalid(message: "models: expected an array of model IDs") }
            for entry in list {
                guard let id = entry as? String, !id.isEmpty else {
                    throw Invalid(message: "models: expected an array of model IDs")
                }
                if !ids.contains(id) { ids.append(id) }
            }
        }
        return ids
    }
}
