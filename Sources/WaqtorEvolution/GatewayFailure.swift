import Logging
import WaqtorCore

/// A failed gateway call as the product reports it: what WaQtor was doing (`action`, "create the
/// instance") and what the gateway answered, classified for the caller (a ``DomainError``: the API
/// edge answers it with a status; a worker reads ``category`` to retry, pause or give up). The
/// message keeps the gateway's HTTP status and its own words, never the request, the API key or
/// the body of an answer that was not understood (a create answer carries secrets).
public struct GatewayFailure: DomainError {
    public var error: EvolutionError
    public var action: String

    public init(_ error: EvolutionError, action: String) {
        self.error = error
        self.action = action
    }

    private var detail: String { "gateway \(error.status.map { "HTTP \($0)" } ?? "no answer"): \(error.message)" }

    public var category: DomainErrorCategory {
        switch error.kind {
        case .unauthorized, .timeout, .server, .transport, .invalidResponse: .unavailable
        case .instanceNotFound, .connectionClosed: .failedPrecondition
        case .alreadyExists: .alreadyExists
        case .unknownNumber, .badRequest: .invalidInput
        }
    }

    public var message: String {
        switch error.kind {
        case .unauthorized:
            "cannot \(action): the WhatsApp gateway refused the server's API key; the operator must check gateway.api_key (\(detail))"
        case .instanceNotFound:
            "cannot \(action): the gateway no longer knows this number; delete it and create it again (\(detail))"
        case .alreadyExists:
            "cannot \(action): the gateway already has an instance of that name (\(detail))"
        case .unknownNumber:
            "cannot \(action): \(error.unknownNumbers.joined(separator: ", ")) is not on WhatsApp"
        case .connectionClosed:
            "cannot \(action): the number's WhatsApp connection is down; pair it again (waqtor instance qr) (\(detail))"
        case .badRequest(let messages):
            "cannot \(action): the gateway refused the request: \(messages.joined(separator: "; "))"
        case .timeout:
            "cannot \(action): the WhatsApp gateway did not answer in time; retry"
        case .server, .transport:
            "cannot \(action): the WhatsApp gateway is unavailable; retry later (\(detail))"
        case .invalidResponse:
            // Never echo the body: a create answer carries the instance's key and our webhook secret.
            "cannot \(action): the WhatsApp gateway's answer was not understood; retry later"
        }
    }

    /// A refused API key is not retried by waiting (the operator must fix it); the rest of the
    /// unavailable kinds are.
    public var retryAfterMilliseconds: Int? {
        switch error.kind {
        case .timeout: 2000
        case .server, .transport, .invalidResponse: 5000
        default: nil
        }
    }

    /// The server-side record of a failed gateway call. A refused API key is the operator's to fix
    /// (error); an unreachable, slow or failing gateway is a warning (callers get UNAVAILABLE and
    /// retry); what the gateway said about one number (closed socket, unknown number, bad request,
    /// unknown instance) is a notice. Never the API key: only the error's kind, HTTP status and
    /// the gateway's message.
    public func log(to logger: Logger, metadata extra: Logger.Metadata = [:]) {
        let level: Logger.Level
        let kind: String
        switch error.kind {
        case .unauthorized: (level, kind) = (.error, "unauthorized")
        case .timeout: (level, kind) = (.warning, "timeout")
        case .transport: (level, kind) = (.warning, "transport")
        case .server(let status): (level, kind) = (.warning, "server-\(status)")
        case .invalidResponse: (level, kind) = (.warning, "invalid-response")
        case .instanceNotFound: (level, kind) = (.notice, "instance-not-found")
        case .alreadyExists: (level, kind) = (.notice, "already-exists")
        case .unknownNumber: (level, kind) = (.notice, "unknown-number")
        case .connectionClosed: (level, kind) = (.notice, "connection-closed")
        case .badRequest: (level, kind) = (.notice, "bad-request")
        }
        var metadata: Logger.Metadata = [
            "action": .string(action), "gateway-error": .string(kind),
            "gateway-status": .string(error.status.map(String.init) ?? "none"),
            // The gateway's own words (or the transport error), bounded; never the request. Not
            // the body of an answer that was not understood: a create answer carries the
            // instance's key and our webhook secret.
            "gateway-message": .string(error.kind == .invalidResponse ? "(\(error.body.utf8.count) bytes, not logged)" : String(error.message.prefix(300))),
        ]
        metadata.merge(extra) { _, new in new }
        logger.log(level: level, "gateway call failed", metadata: metadata)
    }
}
