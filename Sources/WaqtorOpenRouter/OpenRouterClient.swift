import Foundation
import Logging
import WaqtorCore
import WaqtorHTTP

/// Where OpenRouter is and how to call it.
public struct OpenRouterConfiguration: Sendable {
    /// The API's base URL, e.g. `https://openrouter.ai/api/v1` (`/chat/completions` is appended).
    public var baseURL: String
    /// The API key (`Authorization: Bearer …`). Never logged or printed.
    public var apiKey: String
    /// The longest one HTTP attempt may take (a shorter caller's deadline wins).
    public var attemptTimeout: Duration
    public var retry: OpenRouterRetryPolicy
    /// `X-OpenRouter-Title`: the application's name on OpenRouter's activity page (not a person).
    public var title: String

    public init(baseURL: String, apiKey: String, attemptTimeout: Duration = .seconds(60), retry: OpenRouterRetryPolicy = OpenRouterRetryPolicy(), title: String = "WaQtor") {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.attemptTimeout = attemptTimeout
        self.retry = retry
        self.title = title
    }
}

/// A client of OpenRouter's chat completions on ``WaqtorHTTP/HTTPClient`` (libcurl's multi
/// interface on its own thread: callers never block).
///
/// ``complete(_:deadline:)`` sends one request, reads the answer whatever its shape (blank padding
/// before the JSON, an error envelope with any status, an error inside a 200) and retries what
/// can succeed later (408, 429, 5xx, broken answers, no answer) by ``OpenRouterRetryPolicy`` within the
/// caller's deadline. 400, 401, 402, 403 and 404 are never retried: they need a person.
public struct OpenRouterClient: Sendable {
    public let configuration: OpenRouterConfiguration
    let http: HTTPClient
    let logger: Logger
    /// Draws the jitter of each backoff (injected by tests to make schedules exact).
    let jitter: @Sendable () -> Double

    public init(configuration: OpenRouterConfiguration, http: HTTPClient, logger: Logger, jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
        self.jitter = jitter
    }

    /// One completion, retried as ``OpenRouterRetryPolicy`` allows before `deadline`.
    public func complete(_ request: OpenRouterRequest, deadline: ContinuousClock.Instant?) async throws(OpenRouterError) -> OpenRouterCompletion {
        guard !configuration.apiKey.isEmpty else {
            throw OpenRouterError(kind: .notConfigured, status: nil, providerMessage: "no API key is configured", attempts: 0)
        }
        let body = request.body.serialized
        var attempt = 0
        while true {
            attempt += 1
            let remaining = deadline.map { ContinuousClock.now.duration(to: $0) }
            // Leave the caller a moment to receive the answer before its deadline: a tenth of what
            // is left, between 200 ms and 3 s (a loaded server needs more than a fixed sliver; a
            // fresh-clone run on a busy machine missed a 6 s deadline with 600 ms left).
            let budget = remaining.map { $0 - min(max($0 / 10, .milliseconds(200)), .seconds(3)) }
            if let budget, budget < .milliseconds(500) {
                throw OpenRouterError(kind: .deadlineExceeded, status: nil, providerMessage: "no time left before the call's deadline",
                                      retryAfter: configuration.retry.initialBackoff, attempts: attempt - 1)
            }
            let timeout = min(configuration.attemptTimeout, budget ?? configuration.attemptTimeout)
            let cappedByDeadline = timeout < configuration.attemptTimeout
            let started = ContinuousClock.now
            var failure: OpenRouterError
            do {
                let response = try await http.execute(HTTPRequest(
                    method: "POST", url: configuration.baseURL + "/chat/completions",
                    headers: [("Authorization", "Bearer \(configuration.apiKey)"), ("Content-Type", "application/json"),
                              ("Accept", "application/json"), ("X-OpenRouter-Title", configuration.title)],
                    body: body, timeout: timeout))
                switch Self.interpret(status: response.status, retryAfterHeader: response.header("Retry-After"), body: response.body) {
                case .success(var completion):
                    completion.attempts = attempt
                    logger.debug("openrouter answered", metadata: [
                        "attempt": .stringConvertible(attempt), "model": .string(completion.model), "finish": .string(completion.finishReason),
                        "prompt_tokens": .stringConvertible(completion.usage.promptTokens),
                        "completion_tokens": .stringConvertible(completion.usage.completionTokens),
                        "ms": .stringConvertible(started.duration(to: .now).milliseconds),
                    ])
                    return completion
                case .failure(let error):
                    failure = error
                }
            } catch {
                failure = error == .timeout && cappedByDeadline
                    ? OpenRouterError(kind: .deadlineExceeded, status: nil, providerMessage: "no answer before the call's deadline")
                    : OpenRouterError.from(error)
            }
            failure.attempts = attempt
            logger.info("openrouter call failed", metadata: [
                "attempt": .stringConvertible(attempt), "kind": .string("\(failure.kind)"),
                "status": .string(failure.status.map(String.init) ?? "none"), "ms": .stringConvertible(started.duration(to: .now).milliseconds),
            ])
            guard failure.isRetryable else { throw failure }
            let left = deadline.map { ContinuousClock.now.duration(to: $0) }
            switch configuration.retry.decide(afterAttempt: attempt, retryAfter: failure.retryAfter, remaining: left, jitter: jitter()) {
            case .giveUp(let retryAfter):
                failure.retryAfter = retryAfter
                throw failure
            case .retry(let wait):
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    throw OpenRouterError(kind: .cancelled, status: nil, providerMessage: "cancelled", attempts: attempt)
                }
            }
        }
    }

    /// The ids of the models OpenRouter lists (`GET /models`), to check the configured ones at
    /// start-up: a retired id would fail every draft. One attempt, no retries.
    public func listModels(timeout: Duration = .seconds(10)) async throws(OpenRouterError) -> [String] {
        let response: HTTPResponse
        do {
            response = try await http.execute(HTTPRequest(
                method: "GET", url: configuration.baseURL + "/models",
                headers: [("Authorization", "Bearer \(configuration.apiKey)"), ("Accept", "application/json")], timeout: timeout))
        } catch {
            throw OpenRouterError.from(error)
        }
        guard (200..<300).contains(response.status), let data = JSONValue.parse(response.body)?["data"]?.array else {
            throw OpenRouterError(kind: OpenRouterError.kind(status: response.status == 200 ? 502 : response.status), status: response.status,
                                  providerMessage: "GET /models answered HTTP \(response.status) without a model list")
        }
        return data.compactMap { $0["id"]?.string }
    }

    /// Reads an answer: a completion, or the error it carries (by HTTP status, or by `error.code`
    /// inside a 200, or a 200 whose choice finished with `error`).
    static func interpret(status: Int, retryAfterHeader: String?, body: [UInt8]) -> Result<OpenRouterCompletion, OpenRouterError> {
        var retryAfter = retryAfterHeader.flatMap(Self.retryAfter)
        let json = JSONValue.parse(body)
        if let error = json?["error"], !error.isNull {
            // Availability errors may carry the wait in the body instead of the header.
            if retryAfter == nil, let seconds = error["availability"]?["retry_after"]?.number, seconds >= 0 {
                retryAfter = .milliseconds(Int64(seconds * 1000))
            }
            let code = error["code"]?.int ?? (status == 200 ? 502 : status)
            let message = error["message"]?.string ?? "error \(code)"
            let reasons = error["metadata"]?["reasons"]?.array?.compactMap(\.string) ?? []
            return .failure(OpenRouterError(kind: OpenRouterError.kind(status: code), status: code, providerMessage: message,
                                            retryAfter: retryAfter, reasons: reasons))
        }
        guard (200..<300).contains(status) else {
            let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return .failure(OpenRouterError(kind: OpenRouterError.kind(status: status), status: status, providerMessage: text.isEmpty ? "HTTP \(status)" : text,
                                            retryAfter: retryAfter))
        }
        guard let json, let choice = json["choices"]?[0] else {
            return .failure(OpenRouterError(kind: .unavailable, status: status, providerMessage: "the answer is not a chat completion", retryAfter: retryAfter))
        }
        let finish = choice["finish_reason"]?.string ?? ""
        if finish == "error" {
            let message = choice["error"]?["message"]?.string ?? "the provider failed while generating"
            return .failure(OpenRouterError(kind: .unavailable, status: choice["error"]?["code"]?.int ?? 502, providerMessage: message, retryAfter: retryAfter))
        }
        let usage = json["usage"]
        let prompt = usage?["prompt_tokens"]?.int ?? 0
        let completion = usage?["completion_tokens"]?.int ?? 0
        return .success(OpenRouterCompletion(
            id: json["id"]?.string ?? "", model: json["model"]?.string ?? "",
            content: choice["message"]?["content"]?.string ?? "", finishReason: finish,
            usage: OpenRouterUsage(promptTokens: prompt, completionTokens: completion, totalTokens: usage?["total_tokens"]?.int ?? prompt + completion,
                                   cost: Self.decimal(usage?["cost"]?.number ?? 0)),
            attempts: 1))
    }

    /// `Retry-After` as seconds (`"2"`, `"1.5"`) or an HTTP date (RFC 9110), as a wait from now.
    static func retryAfter(_ value: String) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite { return .milliseconds(Int64(max(seconds, 0) * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(Int64(max(date.timeIntervalSinceNow, 0) * 1000))
    }

    /// A charge as a plain decimal ("0.00000575"): ten places, trailing zeros dropped.
    static func decimal(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0" }
        return DecimalText.trimmed(String(format: "%.10f", value))
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
