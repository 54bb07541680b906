import Foundation
import NIOConcurrencyHelpers

extension OpenRouterStandIn {
    /// The HTTP 200 answer: a completion in OpenRouter's shape (or, for ``Fault/errorInBody(_:)``, its
    /// in-body error), padded when configured, delayed for ``Fault/slow(milliseconds:)``.
    func answer(_ chat: ChatRequest, model: Model, fault: Fault?) -> StandInResponse {
        if case .errorInBody(let code) = fault {
            return FaultAnswers.inBody(code, provider: model.provider, padding: configuration.padding)
        }
        let prompt = DraftPrompt(parsing: chat.lastUserText)
        let normal = DraftWriter.content(for: prompt)
        var content = normal
        var finish = ("stop", "STOP")
        switch fault {
        case .unusable:
            content = DraftWriter.contentJSON(Array(repeating: "{Hi {{name", count: prompt.count))
        case .notJSON:
            content = "Sure! Here are some drafts:\n1. Hi there"
        case .truncated:
            content = String(normal.prefix(normal.count / 2))
            finish = ("length", "MAX_TOKENS")
        default:
            break
        }
        let (generation, created) = (state.withLockedValue { $0.nextGeneration() }, Int(Date().timeIntervalSince1970))
        let usage = Usage(messages: chat.messages.map(\.content), completion: content, model: model)
        let body: JSONText = .object([
            ("id", .string("gen-\(created)-\(generation)")),
            ("provider", .string(model.provider)),
            ("model", .string(model.answeredID)),
            ("object", .string("chat.completion")),
            ("created", .int(created)),
            ("choices", .array([.object([
                ("logprobs", .null),
                ("finish_reason", .string(finish.0)),
                ("native_finish_reason", .string(finish.1)),
                ("index", .int(0)),
                ("message", .object([
                    ("role", .string("assistant")),
                    ("content", .string(content)),
                    ("refusal", .null),
                    ("reasoning", .null),
                ])),
            ])])),
            ("usage", usage.json),
        ])
        var response = StandInResponse(status: 200, body: (configuration.padding ? StandInResponse.padding : []) + body.bytes)
        if case .slow(let milliseconds) = fault { response.delayMilliseconds = max(0, milliseconds) }
        return response
    }
}
