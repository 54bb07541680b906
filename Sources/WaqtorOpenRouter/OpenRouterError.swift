import WaqtorHTTP

/// Why OpenRouter gave no usable completion. ``kind`` is what callers switch on; the provider's
/// own message is kept (shortened) for the operator. Nothing here holds the API key or the
/// request's text.
public struct OpenRouterError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No API key is configured.
        case notConfigured
        /// 400: the request was refused as malformed (an unknown model id, a parameter no provider
        /// supports). Not retried.
        case badRequest
        /// 401: the API key is wrong or disabled. Not retried.
        case unauthorized
        /// 402: the account is out of credits. Not retried.
        case insufficientCredits
        /// 403: moderation flagged the input, a guardrail blocked it, or the key lacks permission.
        /// Not retried.
        case refused
        /// 404: the URL is not OpenRouter's API (a wrong `ai.url`). Not retried.
        case notFound
        /// 408, 429, 5xx, a 200 carrying an error, a broken body or no HTTP answer: retried with
        /// backoff while the deadline allows, then this.
        case unavailable
        /// The caller's deadline left no time for (another) attempt.
        case deadlineExceeded
        /// The calling task was cancelled.
        case cancelled
    }

    public var kind: Kind
    /// The HTTP status (or the `error.code` of a 200 that carries an error); nil without an answer.
    public var status: Int?
    /// What the provider said (its `error.message`, at most 300 characters), or the transport error.
    public var providerMessage: String
    /// For a retryable failure: when a retry may succeed (the provider's `Retry-After`, else the
    /// next backoff step).
    public var retryAfter: Duration?
    /// HTTP attempts made.
    public var attempts: Int
    /// Moderation reasons (403 `metadata.reasons`), if any.
    public var reasons: [String]

    public init(kind: Kind, status: Int?, providerMessage: String, retryAfter: Duration? = nil, attempts: Int = 1, reasons: [String] = []) {
        self.kind = kind
        self.status = status
        self.providerMessage = String(providerMessage.prefix(300))
        self.retryAfter = retryAfter
        self.attempts = attempts
        self.reasons = reasons
    }

    /// Whether waiting and trying again can help.
    public var isRetryable: Bool { kind == .unavailable }

    public var description: String {
        "OpenRouterError.\(kind) (\(status.map { "HTTP \($0)" } ?? "no HTTP answer"), \(attempts) attempt(s)): \(providerMessage)"
    }

    /// The kind of an error status (HTTP, or `error.code` inside a 200).
    static func kind(status: Int) -> Kind {
        switch status {
        case 400, 413, 422: .badRequest
        case 401: .unauthorized
        case 402: .insufficientCredits
        case 403: .refused
        case 404: .notFound
        default: .unavailable  // 408, 409, 429, 5xx and anything unexpected
        }
    }

    static func from(_ error: HTTPClientError) -> OpenRouterError {
        switch error {
        case .cancelled: OpenRouterError(kind: .cancelled, status: nil, providerMessage: "cancelled")
        default: OpenRouterError(kind: .unavailable, status: nil, providerMessage: error.description)
        }
    }
}
