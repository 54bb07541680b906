/// Token counts and cost. Tokens are estimated at four characters each (at least one): close
/// enough to real tokenizers for budgets and cost checks, and easy for a test to recompute.
struct Usage {
    var promptTokens: Int
    var completionTokens: Int
    /// USD, priced like OpenRouter: the answering model's prices, per token.
    var cost: Double

    init(messages: [String], completion: String, model: OpenRouterStandIn.Model) {
        promptTokens = Self.tokens(messages.reduce(0) { $0 + $1.count })
        completionTokens = Self.tokens(completion.count)
        cost = Double(promptTokens) * model.promptPricePerMillion / 1_000_000
            + Double(completionTokens) * model.completionPricePerMillion / 1_000_000
    }

    /// ceil(characters / 4), at least 1.
    static func tokens(_ characters: Int) -> Int { max(1, (characters + 3) / 4) }

    var json: JSONText {
        .object([
            ("prompt_tokens", .int(promptTokens)),
            ("completion_tokens", .int(completionTokens)),
            ("total_tokens", .int(promptTokens + completionTokens)),
            ("cost", .decimal(cost)),
            ("is_byok", .bool(false)),
            ("prompt_tokens_details", .object([("cached_tokens", .int(0))])),
            ("completion_tokens_details", .object([("reasoning_tokens", .int(0))])),
        ])
    }
}
