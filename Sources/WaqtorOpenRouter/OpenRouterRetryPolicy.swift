/// When to try a failed provider call again: a pure value, so the schedule is tested without
/// waiting. Modelled on the clients in docs/AI.md's sources (openai-python, vercel/ai): at most
/// `maxRetries` retries of retryable failures, exponential backoff with jitter, the provider's
/// `Retry-After` honoured up to `maxRetryAfter`, and never a wait that ends past the deadline.
public struct OpenRouterRetryPolicy: Sendable, Hashable {
    /// Retries after the first attempt.
    public var maxRetries: Int
    /// The first backoff step; each next one doubles, up to ``maxBackoff``.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// A longer `Retry-After` is not waited for: the call fails with it as its retry hint.
    public var maxRetryAfter: Duration

    public init(maxRetries: Int = 2, initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(8), maxRetryAfter: Duration = .seconds(120)) {
        self.maxRetries = maxRetries
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    /// What to do after a retryable failure.
    public enum Decision: Sendable, Hashable {
        /// Wait this long, then try again.
        case retry(after: Duration)
        /// Give up; a caller may retry after this long.
        case giveUp(retryAfter: Duration)
    }

    /// The decision after `attempt` (1-based) failed, with the provider's `Retry-After` if it sent
    /// one, `remaining` time before the caller's deadline (nil: none), and `jitter` in [0, 1]
    /// (a random draw; half the step is fixed, half jittered, so retries of many callers spread
    /// out but never collapse to zero).
    public func decide(afterAttempt attempt: Int, retryAfter: Duration?, remaining: Duration?, jitter: Double) -> Decision {
        let backoff = step(attempt, jitter: jitter)
        let wait = retryAfter.map { max($0, .zero) } ?? backoff
        guard attempt <= maxRetries, wait <= maxRetryAfter else { return .giveUp(retryAfter: max(wait, .milliseconds(1))) }
        // The next attempt needs time of its own after the wait: at least a second.
        if let remaining, wait + .seconds(1) > remaining { return .giveUp(retryAfter: max(wait, .milliseconds(1))) }
        return .retry(after: wait)
    }

    /// The backoff of the step after `attempt`: initial × 2^(attempt-1), capped, half of it jittered.
    func step(_ attempt: Int, jitter: Double) -> Duration {
        var base = initialBackoff
        for _ in 1..<max(attempt, 1) where base < maxBackoff { base = base * 2 }
        base = min(base, maxBackoff)
        return base / 2 + base / 2 * min(max(jitter, 0), 1)
    }
}
