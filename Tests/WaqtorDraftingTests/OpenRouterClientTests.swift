import Foundation
import Testing
@testable import WaqtorOpenRouter

@Suite("OpenRouter answers and the retry schedule")
struct OpenRouterClientTests {
    @Test("a padded completion is read with its usage and cost")
    func padded() throws {
        let body = Array("\n\n   \n{\"id\":\"gen-1\",\"model\":\"qwen/qwen3-235b-a22b-07-25\",\"choices\":[{\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2,\"total_tokens\":13,\"cost\":0.00000575}}".utf8)
        let completion = try OpenRouterClient.interpret(status: 200, retryAfterHeader: nil, body: body).get()
        #expect(completion.model == "qwen/qwen3-235b-a22b-07-25" && completion.content == "hi" && completion.finishReason == "stop")
        #expect(completion.usage == OpenRouterUsage(promptTokens: 11, completionTokens: 2, totalTokens: 13, cost: "0.00000575"))
    }

    @Test("errors are classified by status or by the code inside a 200", arguments: [
        (401, #"{"error":{"code":401,"message":"User not found."}}"#, OpenRouterError.Kind.unauthorized),
        (402, #"{"error":{"code":402,"message":"Insufficient credits"}}"#, .insufficientCredits),
        (403, #"{"error":{"code":403,"message":"flagged","metadata":{"reasons":["harassment"]}}}"#, .refused),
        (400, #"{"error":{"code":400,"message":"x is not a valid model ID"}}"#, .badRequest),
        (408, #"{"error":{"code":408,"message":"Timed out"}}"#, .unavailable),
        (429, #"{"error":{"code":429,"message":"Rate limit exceeded"}}"#, .unavailable),
        (502, "<html>Bad gateway</html>", .unavailable),
        (200, #"{"error":{"code":502,"message":"Provider returned error"}}"#, .unavailable),
        (200, #"{"error":{"code":402,"message":"Insufficient credits"}}"#, .insufficientCredits),
        (200, #"{"choices":[{"finish_reason":"error","message":{"content":""},"error":{"code":502,"message":"boom"}}]}"#, .unavailable),
        (200, "not json", .unavailable),
    ])
    func classified(status: Int, body: String, kind: OpenRouterError.Kind) {
        guard case .failure(let error) = OpenRouterClient.interpret(status: status, retryAfterHeader: "3", body: Array(body.utf8)) else {
            Issue.record("expected an error")
            return
        }
        #expect(error.kind == kind)
        #expect(error.retryAfter == .seconds(3))
        if status == 403 { #expect(error.reasons == ["harassment"]) }
    }

    @Test("retries: jittered backoff doubling to its cap, Retry-After honoured, never past the deadline or the retry count")
    func schedule() {
        let policy = OpenRouterRetryPolicy(maxRetries: 5, initialBackoff: .milliseconds(500), maxBackoff: .seconds(2), maxRetryAfter: .seconds(120))
        #expect(policy.decide(afterAttempt: 1, retryAfter: nil, remaining: nil, jitter: 0) == .retry(after: .milliseconds(250)))
        #expect(policy.decide(afterAttempt: 1, retryAfter: nil, remaining: nil, jitter: 1) == .retry(after: .milliseconds(500)))
        #expect(policy.decide(afterAttempt: 2, retryAfter: nil, remaining: nil, jitter: 1) == .retry(after: .seconds(1)))
        #expect(policy.decide(afterAttempt: 4, retryAfter: nil, remaining: nil, jitter: 1) == .retry(after: .seconds(2)))
        #expect(policy.decide(afterAttempt: 1, retryAfter: .seconds(7), remaining: nil, jitter: 0) == .retry(after: .seconds(7)))
        // A Retry-After past the limit, or one that would end past the deadline, is answered.
        #expect(policy.decide(afterAttempt: 1, retryAfter: .seconds(121), remaining: nil, jitter: 0) == .giveUp(retryAfter: .seconds(121)))
        #expect(policy.decide(afterAttempt: 1, retryAfter: .seconds(7), remaining: .seconds(5), jitter: 0) == .giveUp(retryAfter: .seconds(7)))
        #expect(policy.decide(afterAttempt: 6, retryAfter: nil, remaining: nil, jitter: 0) == .giveUp(retryAfter: .seconds(1)))
    }

    @Test("Retry-After in seconds or as an HTTP date, or in an availability error's body")
    func retryAfterForms() throws {
        #expect(OpenRouterClient.retryAfter("2") == .seconds(2))
        #expect(OpenRouterClient.retryAfter(" 1.5 ") == .milliseconds(1500))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let wait = try #require(OpenRouterClient.retryAfter(formatter.string(from: Date().addingTimeInterval(30))))
        #expect(wait > .seconds(25) && wait <= .seconds(30))
        #expect(OpenRouterClient.retryAfter("soon") == nil)
        let body = #"{"error":{"code":503,"message":"busy","availability":{"code":"x","retryable":true,"retry_after":4}}}"#
        guard case .failure(let error) = OpenRouterClient.interpret(status: 503, retryAfterHeader: nil, body: Array(body.utf8)) else {
            Issue.record("expected an error")
            return
        }
        #expect(error.retryAfter == .seconds(4))
    }

    @Test("charges become plain decimals")
    func decimals() {
        #expect(OpenRouterClient.decimal(0.00000575) == "0.00000575")
        #expect(OpenRouterClient.decimal(0) == "0")
        #expect(OpenRouterClient.decimal(1.5) == "1.5")
        #expect(OpenRouterClient.decimal(.nan) == "0")
    }
}
