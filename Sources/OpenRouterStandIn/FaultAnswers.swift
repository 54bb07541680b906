/// The error bodies of injected faults, worded as OpenRouter words them so a client's
/// classification is tested against realistic text.
enum FaultAnswers {
    /// HTTP `status` with the envelope, and `Retry-After` when given.
    static func status(
        _ status: Int, retryAfterSeconds: Int?, modelID: String, provider: String, input: String
    ) -> StandInResponse {
        let (message, metadata) = wording(status, modelID: modelID, provider: provider, input: input)
        let headers = retryAfterSeconds.map { [("Retry-After", String($0))] } ?? []
        return .error(status, message, metadata: metadata, headers: headers)
    }

    /// HTTP 200 with an error body: the status was already sent when the provider failed.
    static func inBody(_ code: Int, provider: String, padding: Bool) -> StandInResponse {
        let envelope = StandInResponse.errorEnvelope(
            code: code, message: "Provider returned error", metadata: [("provider_name", .string(provider))])
        return StandInResponse(status: 200, body: (padding ? StandInResponse.padding : []) + envelope.bytes)
    }

    private static func wording(
        _ status: Int, modelID: String, provider: String, input: String
    ) -> (String, [(String, JSONText)]) {
        switch status {
        case 400:
            return ("Bad request", [])
        case 402:
            return ("Insufficient credits. Add more using https://openrouter.ai/settings/credits", [])
        case 403:
            return ("Your chosen model requires moderation and your input was flagged", [
                ("reasons", .array([.string("harassment")])),
                ("flagged_input", .string(String(input.prefix(100)))),
                ("provider_name", .string(provider)),
                ("model_slug", .string(modelID)),
            ])
        case 408:
            return ("Timed out", [])
        case 429:
            return ("Rate limit exceeded: limit_rpm/\(modelID)", [("error_type", .string("rate_limit_exceeded"))])
        case 502:
            return ("Provider returned error", [("provider_name", .string(provider)), ("raw", .string("upstream error"))])
        case 503:
            return ("No instances available", [])
        default:
            return ("Error \(status)", [])
        }
    }
}
