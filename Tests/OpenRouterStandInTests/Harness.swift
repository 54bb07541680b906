import Foundation
import OpenRouterStandIn
import Testing
import WaqtorHTTP

/// A stand-in on 127.0.0.1 and a kernel-chosen port (tests run in parallel), with a client.
struct Harness {
    static let key = "sim-openrouter-key"
    let standIn: OpenRouterStandIn
    let http: HTTPClient

    /// `http://127.0.0.1:<port>`: where the control routes live.
    var root: String { "http://127.0.0.1:\(standIn.port)" }

    /// Starts a stand-in and a client, runs `body`, and stops both even when `body` throws.
    static func with(
        _ configuration: OpenRouterStandIn.Configuration = .init(), _ body: (Harness) async throws -> Void
    ) async throws {
        let harness = Harness(standIn: try await OpenRouterStandIn.start(configuration), http: HTTPClient())
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    func stop() async {
        await http.shutdown()
        await standIn.stop()
    }

    /// `POST …/chat/completions` with a JSON body and (unless nil) the bearer key.
    func chat(_ body: [String: Any], key: String? = Harness.key, timeout: Duration? = nil) async throws -> HTTPResponse {
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: body))
        return try await chatRaw(bytes, key: key, timeout: timeout)
    }

    func chatRaw(_ body: [UInt8], key: String? = Harness.key, timeout: Duration? = nil) async throws -> HTTPResponse {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let key { headers.append(("Authorization", "Bearer \(key)")) }
        return try await http.execute(HTTPRequest(
            method: "POST", url: standIn.baseURL + "/chat/completions", headers: headers, body: body, timeout: timeout))
    }

    /// A request to `root + path` (control routes, other paths).
    func send(_ method: String, _ path: String, body: String? = nil) async throws -> HTTPResponse {
        try await http.execute(HTTPRequest(method: method, url: root + path, body: body.map { Array($0.utf8) }))
    }
}

/// The prompt our drafting module writes, in its exact format.
func draftingPrompt(count: Int = 3, language: String = "en (English)", tone: String = "friendly", description: String) -> String {
    """
    Number of drafts: \(count)
    Language: \(language)
    Tone: \(tone)
    Campaign description (between the markers):
    <<<DESCRIPTION
    \(description)
    DESCRIPTION>>>
    """
}

/// A chat body: a system message and the user prompt, plus `model` / `models` when given.
func chatBody(_ user: String, model: String? = nil, models: [String]? = nil) -> [String: Any] {
    var body: [String: Any] = [
        "messages": [
            ["role": "system", "content": "You write WhatsApp campaign drafts. Answer in JSON."],
            ["role": "user", "content": user],
        ],
    ]
    if let model { body["model"] = model }
    if let models { body["models"] = models }
    return body
}

/// The body as a JSON object, after trimming OpenRouter's leading blank padding.
func jsonObject(_ response: HTTPResponse) throws -> [String: Any] {
    let text = response.bodyString.trimmingCharacters(in: .whitespacesAndNewlines)
    return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

/// `error` of an error envelope.
func errorObject(_ response: HTTPResponse) throws -> [String: Any] {
    try #require(try jsonObject(response)["error"] as? [String: Any])
}

/// `choices[0]`.
func firstChoice(_ completion: [String: Any]) throws -> [String: Any] {
    let choices = try #require(completion["choices"] as? [[String: Any]])
    return try #require(choices.first)
}

/// `choices[0].message.content`.
func content(_ completion: [String: Any]) throws -> String {
    let message = try #require(try firstChoice(completion)["message"] as? [String: Any])
    return try #require(message["content"] as? String)
}

/// The drafts' texts in a content of the shape `{"drafts":[{"text":…}]}`.
func draftTexts(_ content: String) throws -> [String] {
    let object = try #require(try JSONSerialization.jsonObject(with: Data(content.utf8)) as? [String: Any])
    let entries = try #require(object["drafts"] as? [[String: Any]])
    return try entries.map { try #require($0["text"] as? String) }
}

func integer(_ value: Any?) throws -> Int { try #require(value as? Int) }
