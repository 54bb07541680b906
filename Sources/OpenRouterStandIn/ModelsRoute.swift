extension OpenRouterStandIn {
    /// `GET /api/v1/models`: the catalogue in OpenRouter's shape, prices per token as decimal
    /// strings. No key needed, as on OpenRouter (clients check their configured ids at startup).
    func models() -> StandInResponse {
        let entries: [JSONText] = configuration.models.map { model in
            let tail = model.id.split(separator: "/", maxSplits: 1).last.map(String.init) ?? model.id
            return .object([
                ("id", .string(model.id)),
                ("canonical_slug", .string(model.answeredID)),
                ("name", .string("\(model.provider): \(tail)")),
                ("context_length", .int(model.contextLength)),
                ("pricing", .object([
                    ("prompt", .string(JSONText.decimalText(model.promptPricePerMillion / 1_000_000))),
                    ("completion", .string(JSONText.decimalText(model.completionPricePerMillion / 1_000_000))),
                ])),
            ])
        }
        return .json(200, .object([("data", .array(entries))]))
    }
}
