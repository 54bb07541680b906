import Foundation
import Logging
import OpenRouterStandIn
import Testing
import WaqtorCore
import WaqtorDrafting
import WaqtorHTTP
import WaqtorOpenRouter

/// A stand-in OpenRouter over real HTTP, a client of it, and a drafter.
struct DraftingHarness {
    let standIn: OpenRouterStandIn
    let http: HTTPClient
    let drafter: Drafter

    static func with<T>(apiKey: String? = nil, retries: Int = 2, attemptTimeout: Duration = .seconds(30),
                        _ body: (DraftingHarness) async throws -> T) async throws -> T {
        let standIn = try await OpenRouterStandIn.start()
        let http = HTTPClient()
        var logger = Logger(label: "waqtor.ai.test")
        logger.logLevel = .critical
        let client = OpenRouterClient(
            configuration: OpenRouterConfiguration(
                baseURL: standIn.baseURL, apiKey: apiKey ?? "sim-openrouter-key", attemptTimeout: attemptTimeout,
                retry: OpenRouterRetryPolicy(maxRetries: retries, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(100))),
            http: http, logger: logger)
        let harness = DraftingHarness(standIn: standIn, http: http, drafter: Drafter(configuration: DraftingConfiguration(), client: client, logger: logger))
        do {
            let result = try await body(harness)
            await http.shutdown()
            await standIn.stop()
            return result
        } catch {
            await http.shutdown()
            await standIn.stop()
            throw error
        }
    }

    func input(_ description: String = "Winter sale: 20% off all coats until Sunday at our Lisbon store", language: String = "en",
               variants: Int = 3, model: String = "") throws -> DraftInput {
        try DraftInput(description: description, language: language, tone: "friendly", variantCount: variants, model: model,
                       configuration: DraftingConfiguration())
    }

    func draft(_ input: DraftInput, deadline: ContinuousClock.Instant? = .now + .seconds(30)) async -> Result<DraftResult, DraftFailure> {
        do throws(DraftFailure) {
            return .success(try await drafter.draft(input, deadline: deadline))
        } catch {
            return .failure(error)
        }
    }

    var chatRequests: [RecordedRequest] { standIn.requests().filter { $0.path.hasSuffix("/chat/completions") } }
}

@Suite("Drafting against the OpenRouter stand-in over HTTP")
struct DrafterTests {
    @Test("drafts come back checked, with their variables, the answering model and what they cost")
    func drafts() async throws {
        try await DraftingHarness.with { h in
            let result = try await h.draft(h.input(variants: 4)).get()
            #expect(result.drafts.count == 4)
            #expect(result.drafts.allSatisfy { $0.variables.contains("name") })
            #expect(result.drafts.allSatisfy { $0.text.contains("Lisbon") })
            #expect(result.model == "google/gemini-2.5-flash" && result.requestedModel == "google/gemini-2.5-flash" && !result.fallbackUsed)
            #expect(result.spend.providerCalls == 1 && result.spend.promptTokens > 0 && result.spend.completionTokens > 0)
            #expect(Decimal(string: result.spend.cost)! > 0)
            let request = try #require(h.chatRequests.first)
            #expect(request.header("Authorization") == "Bearer sim-openrouter-key")
            let body = try #require(JSONValue.parse(request.body))
            #expect(body["provider"]?["data_collection"]?.string == "deny")
            #expect(body["user"] == nil)
        }
    }

    @Test("the requested model unavailable: the fallback answers, and says so")
    func fallback() async throws {
        try await DraftingHarness.with { h in
            h.standIn.setUnavailable("google/gemini-2.5-flash", true)
            let result = try await h.draft(h.input()).get()
            #expect(result.fallbackUsed && result.model == "qwen/qwen3-235b-a22b-07-25")
            #expect(h.chatRequests.count == 1, "OpenRouter's models list falls back in one request")
            // Asking for Qwen by name, its dated answer is not a fallback.
            let qwen = try await h.draft(h.input(model: "qwen/qwen3-235b-a22b-2507")).get()
            #expect(!qwen.fallbackUsed)
            // Both unavailable: 503 is retried, then UNAVAILABLE with a retry hint.
            h.standIn.setUnavailable("qwen/qwen3-235b-a22b-2507", true)
            guard case .failure(let failure) = await h.draft(try h.input()) else { Issue.record("expected a failure"); return }
            #expect(failure.error.category == .unavailable && failure.error.retryAfterMilliseconds != nil)
            #expect(failure.outcome == "provider_error" && failure.reachedProvider)
        }
    }

    @Test("unusable output is retried once; the second answer's drafts are returned and both calls are paid for")
    func unusableThenGood() async throws {
        for fault in [Fault.unusable, .notJSON, .truncated] {
            try await DraftingHarness.with { h in
                h.standIn.inject([fault])
                let result = try await h.draft(h.input()).get()
                #expect(result.drafts.count == 3, "\(fault)")
                #expect(result.spend.providerCalls == 2 && h.chatRequests.count == 2, "\(fault)")
            }
        }
    }

    @Test("unusable twice: UNAVAILABLE with a message a person can act on, the spend kept")
    func unusableTwice() async throws {
        try await DraftingHarness.with { h in
            h.standIn.inject([.unusable, .notJSON])
            guard case .failure(let failure) = await h.draft(try h.input()) else { Issue.record("expected a failure"); return }
            #expect(failure.error.category == .unavailable)
            #expect(failure.error.message.contains("unusable twice") && failure.error.message.contains("another model"))
            #expect(failure.outcome == "unusable" && failure.spend.providerCalls == 2)
            #expect(h.chatRequests.count == 2)
        }
    }

    @Test("408, 429, 5xx and errors inside a 200 are retried (Retry-After honoured) and then succeed")
    func transientRetried() async throws {
        try await DraftingHarness.with(retries: 3) { h in
            h.standIn.inject([.status(429, retryAfterSeconds: 1), .status(502), .errorInBody(503)])
            let started = ContinuousClock.now
            let result = try await h.draft(h.input()).get()
            #expect(result.drafts.count == 3 && h.chatRequests.count == 4)
            #expect(ContinuousClock.now - started >= .seconds(1), "the 429's Retry-After was waited for")
            #expect(result.spend.providerCalls == 1, "transport retries are one provider call")
        }
    }

    @Test("retries exhausted: UNAVAILABLE with a retry hint")
    func transientExhausted() async throws {
        try await DraftingHarness.with(retries: 2) { h in
            h.standIn.inject([.status(408), .status(503), .status(500)])
            guard case .failure(let failure) = await h.draft(try h.input()) else { Issue.record("expected a failure"); return }
            #expect(failure.error.category == .unavailable && (failure.error.retryAfterMilliseconds ?? 0) > 0)
            #expect(h.chatRequests.count == 3)
        }
    }

    @Test("a Retry-After past the deadline is not waited for: UNAVAILABLE with it as the hint")
    func retryAfterPastDeadline() async throws {
        try await DraftingHarness.with { h in
            h.standIn.inject([.status(429, retryAfterSeconds: 30)])
            guard case .failure(let failure) = await h.draft(try h.input(), deadline: .now + .seconds(5)) else { Issue.record("expected a failure"); return }
            #expect(failure.error.category == .unavailable && failure.error.retryAfterMilliseconds == 30_000)
            #expect(h.chatRequests.count == 1)
        }
    }

    @Test("401, 402, 403 and 400 need a person: no retry, FAILED_PRECONDITION naming what to do", arguments: [
        (401, "ai.api_key"), (402, "out of credits"), (403, "moderation"), (400, "ai.models"),
    ])
    func operatorErrors(status: Int, hint: String) async throws {
        try await DraftingHarness.with { h in
            h.standIn.inject([.status(status)])
            guard case .failure(let failure) = await h.draft(try h.input()) else { Issue.record("expected a failure"); return }
            #expect(failure.error.category == .failedPrecondition)
            #expect(failure.error.message.contains(hint), "\(failure.error.message)")
            #expect(h.chatRequests.count == 1)
            #expect(failure.outcome == "provider_error" && failure.reachedProvider && failure.spend.providerCalls == 0)
        }
    }

    @Test("a wrong API key is the operator's to fix, and the key is never in the message")
    func wrongKey() async throws {
        try await DraftingHarness.with(apiKey: "sk-or-v1-secret-key-123") { h in
            guard case .failure(let failure) = await h.draft(try h.input()) else { Issue.record("expected a failure"); return }
            #expect(failure.error.category == .failedPrecondition && failure.error.message.contains("ai.api_key"))
            #expect(!failure.error.message.contains("secret-key"))
        }
        try await DraftingHarness.with(apiKey: "") { h in
            guard case .failure(let failure) = await h.draft(try h.input()) else { Issue.record("expected a failure"); return }
            #expect(failure.error.category == .failedPrecondition && failure.error.message.contains("not configured"))
            #expect(!failure.reachedProvider && h.chatRequests.isEmpty)
        }
    }

    @Test("a slow answer past the call's deadline ends in time as UNAVAILABLE (timeout), not a hang")
    func slowAnswer() async throws {
        try await DraftingHarness.with { h in
            h.standIn.inject([.slow(milliseconds: 10_000)])
            guard case .failure(let failure) = await h.draft(try h.input(), deadline: .now + .seconds(2)) else { Issue.record("expected a failure"); return }
            // "timeout": the attempt was cut at the deadline's budget, not at the 30 s attempt limit.
            #expect(failure.error.category == .unavailable && failure.outcome == "timeout")
            // A slow answer within the deadline is simply waited for.
            h.standIn.inject([.slow(milliseconds: 300)])
            #expect(try await h.draft(h.input(), deadline: .now + .seconds(10)).get().drafts.count == 3)
        }
    }

    @Test("the models OpenRouter lists, to check the configured ones at start-up")
    func listModels() async throws {
        try await DraftingHarness.with { h in
            let client = OpenRouterClient(configuration: OpenRouterConfiguration(baseURL: h.standIn.baseURL, apiKey: "sim-openrouter-key"),
                                          http: h.http, logger: Logger(label: "test"))
            let models = try await client.listModels()
            #expect(models.contains("google/gemini-2.5-flash") && models.contains("qwen/qwen3-235b-a22b-2507"))
            let wrong = OpenRouterClient(configuration: OpenRouterConfiguration(baseURL: h.standIn.baseURL + "/nowhere", apiKey: "k"),
                                         http: h.http, logger: Logger(label: "test"))
            do {
                _ = try await wrong.listModels()
                Issue.record("expected an error")
            } catch {
                #expect((error as? OpenRouterError)?.kind == .notFound)
            }
        }
    }

    @Test("drafts in the asked language", arguments: [("pt-BR", "Olá"), ("es", "Hola"), ("ar", "مرحبا")])
    func language(tag: String, greeting: String) async throws {
        try await DraftingHarness.with { h in
            let result = try await h.draft(h.input(language: tag)).get()
            #expect(result.drafts.allSatisfy { $0.text.contains(greeting) })
        }
    }
}
