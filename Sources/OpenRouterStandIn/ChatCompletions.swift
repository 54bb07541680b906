import Foundation
import NIOConcurrencyHelpers

extension OpenRouterStandIn {
    /// `POST /api/v1/chat/completions`, checks in OpenRouter's order: the key, the body, then (after
    /// a queued fault gets its chance) the model, then the answer.
    func chatCompletions(_ request: RecordedRequest) -> StandInResponse {
        if let refusal = authorize(request.header("Authorization")) { return refusal }
        let chat: ChatRequest
        do {
            chat = try ChatRequest(parsing: request.body)
        } catch {
            return .error(400, error.message)
        }
        // Taken only by requests that got this far: a refused request must not use up a fault the
        // test meant for the client's real call.
        let fault = state.withLockedValue { $0.takeFault() }
        if case .status(let status, let retryAfter) = fault {
            let modelID = chat.candidates.first ?? configuration.models.first?.id ?? ""
            let provider = catalogue[modelID]?.provider ?? configuration.models.first?.provider ?? "Google"
            return FaultAnswers.status(
                status, retryAfterSeconds: retryAfter, modelID: modelID, provider: provider, input: chat.lastUserText)
        }
        let model: Model
        switch chooseModel(chat.candidates) {
        case .success(let chosen): model = chosen
        case .failure(let refusal): return refusal.response
        }
        return answer(chat, model: model, fault: fault)
    }

    /// nil when the key is right; else OpenRouter's two 401s (no key at all, or a key it does not know).
    private func authorize(_ header: String?) -> StandInResponse? {
        let value = header?.trimmingCharacters(in: .whitespaces) ?? ""
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .error(401, "No auth credentials found")
        }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        if key.isEmpty { return .error(401, "No auth credentials found") }
        return key == configuration.apiKey ? nil : .error(401, "User not found.")
    }

    /// Why no model can answer.
    struct ModelRefusal: Error {
        var response: StandInResponse
    }

    /// OpenRouter's server-side fallback: every candidate must exist; the first one with an endpoint
    /// answers (and is billed). No candidate means the account's default, our first model.
    func chooseModel(_ requested: [String]) -> Result<Model, ModelRefusal> {
        let candidates = requested.isEmpty ? configuration.models.prefix(1).map(\.id) : requested
        guard let first = candidates.first else {
            return .failure(ModelRefusal(response: .error(400, "No model given, and the stand-in has no models configured")))
        }
        if let unknown = candidates.first(where: { catalogue[$0] == nil }) {
            return .failure(ModelRefusal(response: .error(400, "\(unknown) is not a valid model ID")))
        }
        let unavailable = state.withLockedValue { $0.unavailable }
        guard let id = candidates.first(where: { !unavailable.contains($0) }), let model = catalogue[id] else {
            return .failure(ModelRefusal(response: .error(
                503, "No endpoints found for \(first).", metadata: [("error_type", .string("no_endpoints"))])))
        }
        return .success(model)
    }
}
