/// A misbehaviour queued with ``OpenRouterStandIn/inject(_:)``: each chat-completions request that
/// passes authentication and validation takes the next one, in order, then normal answers resume.
/// Each case is a way the real service fails that a client has to handle.
public enum Fault: Sendable, Hashable {
    /// HTTP `status` with OpenRouter's error envelope for it, and a `Retry-After` header (seconds)
    /// when given: the statuses OpenRouter uses before generation starts (400, 402, 403, 408, 429,
    /// 502, 503).
    case status(Int, retryAfterSeconds: Int? = nil)
    /// HTTP 200 whose body is `{"error":{"code":<n>,…}}`: once generation has started OpenRouter can
    /// no longer change the status, so errors arrive in the body.
    case errorInBody(Int)
    /// A normal answer after this delay (a slow provider; lets clients exercise their timeouts).
    case slow(milliseconds: Int)
    /// HTTP 200, a well-formed completion whose drafts are not valid templates (`{Hi {{name`).
    case unusable
    /// HTTP 200, a completion whose content is prose instead of the requested JSON (models ignore
    /// `response_format` on some providers).
    case notJSON
    /// HTTP 200, content cut in the middle of the JSON with `finish_reason` `length` (max tokens hit).
    case truncated
}
