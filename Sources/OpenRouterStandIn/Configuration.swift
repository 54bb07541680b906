extension OpenRouterStandIn {
    /// How a stand-in listens and answers.
    public struct Configuration: Sendable {
        /// The address to bind.
        public var host: String
        /// The port to bind; 0 lets the kernel choose (read it back from ``OpenRouterStandIn/port``),
        /// so parallel tests never collide.
        public var port: Int
        /// The only key accepted in `Authorization: Bearer <key>`.
        public var apiKey: String
        /// The catalogue; the first entry answers requests that name no model.
        public var models: [Model]
        /// Prefix successful non-streaming bodies with blank padding (`"\n\n   \n"`), as OpenRouter
        /// does while a generation runs: a client must tolerate leading whitespace before the JSON.
        public var padding: Bool
        /// How many `/api/v1` requests ``OpenRouterStandIn/requests()`` keeps (the latest), so a long
        /// local run stays bounded.
        public var maxRecordedRequests: Int

        /// A configuration; every default is what tests and the executable want unless told otherwise.
        public init(
            host: String = "127.0.0.1", port: Int = 0, apiKey: String = "sim-openrouter-key",
            models: [Model] = OpenRouterStandIn.defaultModels, padding: Bool = true, maxRecordedRequests: Int = 1000
        ) {
            self.host = host
            self.port = port
            self.apiKey = apiKey
            self.models = models
            self.padding = padding
            self.maxRecordedRequests = maxRecordedRequests
        }
    }
}
