import WaqtorEvolution

/// How a failed send is treated (docs/QUEUE.md, "Retries").
public enum SendFailureClass: Sendable, Hashable {
    /// Passing (5xx, timeout, no connection, an answer not understood, a refused API key the
    /// operator fixes): retried with backoff, counted as an attempt.
    case transient(String)
    /// The number's WhatsApp connection is down ("Connection Closed", or the gateway no longer
    /// knows the instance): the message waits for the number, not counted as an attempt; the number
    /// is held with backoff.
    case numberDown(String)
    /// Will never succeed (not on WhatsApp, the gateway refused the request as invalid): FAILED,
    /// not retried.
    case permanent(String)

    public static func classify(_ error: EvolutionError) -> SendFailureClass {
        let said = error.messages.isEmpty ? error.body : error.messages.joined(separator: "; ")
        let status = error.status.map { "HTTP \($0)" } ?? "no answer"
        switch error.kind {
        case .unknownNumber:
            return .permanent("the number is not on WhatsApp (gateway \(status))")
        case .badRequest:
            return .permanent("the gateway refused the message (\(status)): \(String(said.prefix(300)))")
        case .alreadyExists:
            return .permanent("the gateway refused the message (\(status)): \(String(said.prefix(300)))")
        case .connectionClosed:
            return .numberDown("the number's WhatsApp connection is closed (gateway \(status))")
        case .instanceNotFound:
            return .numberDown("the gateway does not know the number's instance (gateway \(status))")
        case .unauthorized:
            return .transient("the gateway refused the server's API key (\(status)); the operator must check gateway.api_key")
        case .timeout:
            return .transient("the gateway did not answer in time")
        case .server:
            return .transient("the gateway failed (\(status)): \(String(said.prefix(200)))")
        case .transport:
            return .transient("the gateway could not be reached: \(String(said.prefix(200)))")
        case .invalidResponse:
            return .transient("the gateway's answer was not understood (\(status))")
        }
    }
}

/// A number held after repeated "Connection Closed" answers: 2 s after the first, doubling, at
/// most 2 min; a successful send resets it.
public enum NumberBackoff {
    public static func holdMilliseconds(consecutiveFailures n: Int) -> Int {
        guard n > 0 else { return 0 }
        return min(120_000, 2_000 << min(n - 1, 10))
    }
}
