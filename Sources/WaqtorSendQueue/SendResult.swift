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
    /// The gateway itself is out: it cannot be reached, or its recent answers were all passing
    /// failures (see ``GatewayOutageDetector``). The message waits, not counted as an attempt, and
    /// the number is held with backoff, so an outage of the gateway never uses up messages'
    /// attempts (docs/QUEUE.md, "Retries").
    case gatewayDown(String)

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

/// Tells an outage of the gateway from a failure of one message. Every send's outcome goes
/// through it: a connection the gateway refused (or any transport failure) is an outage at once;
/// a 5xx, a timeout or an answer not understood is counted, and once the gateway's last
/// ``threshold`` answers (across all numbers) were all such failures, the gateway is taken to be
/// out and further ones are ``SendFailureClass/gatewayDown(_:)`` until it answers anything else
/// (a success, a refusal of one message, a closed number).
public struct GatewayOutageDetector: Sendable {
    /// Consecutive passing failures that make an outage.
    public static let threshold = 3
    /// Passing failures since the gateway last answered otherwise.
    public private(set) var consecutiveFailures = 0

    public init() {}

    /// The class of a failed send, counting it.
    public mutating func classify(_ error: EvolutionError) -> SendFailureClass {
        let base = SendFailureClass.classify(error)
        guard case .transient(let why) = base, error.kind != .unauthorized else {
            consecutiveFailures = 0
            return base
        }
        consecutiveFailures += 1
        if error.kind == .transport || consecutiveFailures >= Self.threshold {
            return .gatewayDown(why)
        }
        return base
    }

    /// The gateway took a message.
    public mutating func succeeded() {
        consecutiveFailures = 0
    }

    /// How long a number is held after its `n`th send in a row met the outage: a fifth of the
    /// retry policy's base delay, doubling, at most 10 s (and at most the policy's longest delay),
    /// so that numbers look again within seconds of the gateway's return. With the defaults:
    /// 1 s, 2 s, 4 s, 8 s, 10 s.
    public static func holdMilliseconds(consecutiveFailures n: Int, retry: RetryPolicy) -> Int {
        guard n > 0 else { return 0 }
        let first = max(1, retry.baseDelayMs / 5)
        return min(10_000, retry.maxDelayMs, first << min(n - 1, 20))
    }
}
