extension OpenRouterStandIn {
    /// One model of the stand-in's catalogue: what `GET /api/v1/models` lists and what chat
    /// completions accept in `model` and `models`.
    public struct Model: Sendable, Hashable {
        /// The id clients send, org-prefixed (`google/gemini-2.5-flash`).
        public var id: String
        /// The id answers carry in `model`. OpenRouter answers some models with a dated slug that
        /// differs from the requested id (`qwen/qwen3-235b-a22b-2507` comes back as
        /// `qwen/qwen3-235b-a22b-07-25`), so clients must not expect an exact echo.
        public var answeredID: String
        /// The upstream provider named in answers (`provider`) and in errors' metadata.
        public var provider: String
        /// USD per million prompt tokens; `usage.cost` is computed from it.
        public var promptPricePerMillion: Double
        /// USD per million completion tokens; `usage.cost` is computed from it.
        public var completionPricePerMillion: Double
        /// The context window in tokens, as `/api/v1/models` reports it.
        public var contextLength: Int

        /// A catalogue entry; `answeredID` defaults to `id` (most models answer with the id asked for).
        public init(
            id: String, answeredID: String? = nil, provider: String,
            promptPricePerMillion: Double, completionPricePerMillion: Double, contextLength: Int
        ) {
            self.id = id
            self.answeredID = answeredID ?? id
            self.provider = provider
            self.promptPricePerMillion = promptPricePerMillion
            self.completionPricePerMillion = completionPricePerMillion
            self.contextLength = contextLength
        }
    }

    /// The models our drafting uses, with OpenRouter's prices and context lengths as listed by
    /// `/api/v1/models` (docs: /work/shared/reference/openrouter.md, section 3). The first one is
    /// answered when a request names no model (OpenRouter uses the account's default).
    public static let defaultModels: [Model] = [
        Model(id: "google/gemini-2.5-flash", provider: "Google",
              promptPricePerMillion: 0.30, completionPricePerMillion: 2.50, contextLength: 1_048_576),
        Model(id: "google/gemini-2.5-flash-lite", provider: "Google",
              promptPricePerMillion: 0.10, completionPricePerMillion: 0.40, contextLength: 1_048_576),
        Model(id: "qwen/qwen3-235b-a22b-2507", answeredID: "qwen/qwen3-235b-a22b-07-25", provider: "Alibaba",
              promptPricePerMillion: 0.09, completionPricePerMillion: 0.10, contextLength: 262_144),
        Model(id: "qwen/qwen-2.5-72b-instruct", provider: "Alibaba",
              promptPricePerMillion: 0.36, completionPricePerMillion: 0.40, contextLength: 32_768),
    ]
}
