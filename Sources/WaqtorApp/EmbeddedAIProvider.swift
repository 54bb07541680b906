/// An AI provider the server can start inside itself when `ai.url = embedded` (the OpenRouter
/// stand-in, with deterministic drafts). As with ``EmbeddedGateway``, the composition root does
/// not link the stand-in: the program that offers the embedded default (`waqtor-server`) hands
/// one in.
public struct EmbeddedAIProvider: Sendable {
    /// Where and how to listen.
    public struct Settings: Sendable {
        public var host: String
        /// 0: a free port, chosen when it starts.
        public var port: Int
        /// The key it accepts (the server sends it).
        public var apiKey: String
    }

    /// Starts it; the running provider's `baseURL` is its API base (`…/api/v1`).
    public let start: @Sendable (Settings) async throws -> EmbeddedGateway.Running

    public init(start: @escaping @Sendable (Settings) async throws -> EmbeddedGateway.Running) {
        self.start = start
    }
}
