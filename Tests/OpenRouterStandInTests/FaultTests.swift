import Foundation
import OpenRouterStandIn
import Testing
import WaqtorHTTP

/// Injected faults: one per request, in order, then normal answers again.
@Suite struct FaultTests {
    static let prompt = draftingPrompt(count: 4, description: "Winter sale: every coat 30% off until Sunday.")

    @Test func statusWithRetryAfter() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.status(429, retryAfterSeconds: 2)])
            let response = try await harness.chat(chatBody(Self.prompt))
            #expect(response.status == 429)
            #expect(response.header("Retry-After") == "2")
            let error = try errorObject(response)
            #expect(try integer(error["code"]) == 429)
            #expect((error["message"] as? String)?.hasPrefix("Rate limit exceeded: limit_rpm/") == true)
            #expect((error["metadata"] as? [String: Any])?["error_type"] as? String == "rate_limit_exceeded")
            // The fault is used up: normal answers resume.
            let next = try await harness.chat(chatBody(Self.prompt))
            #expect(next.status == 200)
            #expect(next.header("Retry-After") == nil)
        }
    }

    @Test(arguments: [
        (400, "Bad request"),
        (402, "Insufficient credits. Add more using https://openrouter.ai/settings/credits"),
        (403, "Your chosen model requires moderation and your input was flagged"),
        (408, "Timed out"),
        (502, "Provider returned error"),
        (503, "No instances available"),
        (500, "Error 500"),
    ])
    func statusMessagesAreOpenRoutersWording(_ status: Int, _ message: String) async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.status(status)])
            let response = try await harness.chat(chatBody(Self.prompt))
            #expect(response.status == status)
            #expect(response.header("Retry-After") == nil)
            let error = try errorObject(response)
            #expect(try integer(error["code"]) == status)
            #expect(error["message"] as? String == message)
        }
    }

    @Test func moderationNamesTheFlaggedInput() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.status(403)])
            let response = try await harness.chat(chatBody(Self.prompt, model: "google/gemini-2.5-flash-lite"))
            let metadata = try #require(try errorObject(response)["metadata"] as? [String: Any])
            #expect(metadata["reasons"] as? [String] == ["harassment"])
            #expect(metadata["flagged_input"] as? String == String(Self.prompt.prefix(100)))
            #expect(metadata["provider_name"] as? String == "Google")
            #expect(metadata["model_slug"] as? String == "google/gemini-2.5-flash-lite")
        }
    }

    @Test func providerErrorNamesTheProvider() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.status(502)])
            let metadata = try #require(try errorObject(try await harness.chat(chatBody(Self.prompt)))["metadata"] as? [String: Any])
            #expect(metadata["provider_name"] as? String == "Google")
            #expect(metadata["raw"] as? String == "upstream error")
        }
    }

    @Test func errorInBodyIsHTTP200() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.errorInBody(502)])
            let response = try await harness.chat(chatBody(Self.prompt))
            #expect(response.status == 200)
            #expect(response.bodyString.hasPrefix("\n\n   \n"))
            let error = try errorObject(response)
            #expect(try integer(error["code"]) == 502)
            #expect(error["message"] as? String == "Provider returned error")
            #expect((error["metadata"] as? [String: Any])?["provider_name"] as? String == "Google")
        }
    }

    @Test func unusableDraftsAreNotValidTemplates() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.unusable])
            let response = try await harness.chat(chatBody(Self.prompt))
            #expect(response.status == 200)
            let drafts = try draftTexts(try content(try jsonObject(response)))
            #expect(drafts == Array(repeating: "{Hi {{name", count: 4))
            #expect(drafts.allSatisfy { !isValidTemplate($0) })
        }
    }

    @Test func notJSONIsProse() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.notJSON])
            let completion = try jsonObject(try await harness.chat(chatBody(Self.prompt)))
            let text = try content(completion)
            #expect(text == "Sure! Here are some drafts:\n1. Hi there")
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) == nil)
            #expect(try firstChoice(completion)["finish_reason"] as? String == "stop")
        }
    }

    @Test func truncatedIsCutInHalfWithLength() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.truncated])
            let cut = try jsonObject(try await harness.chat(chatBody(Self.prompt)))
            let whole = try content(try jsonObject(try await harness.chat(chatBody(Self.prompt))))
            let text = try content(cut)
            #expect(text == String(whole.prefix(whole.count / 2)))
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) == nil)
            let choice = try firstChoice(cut)
            #expect(choice["finish_reason"] as? String == "length")
            #expect(choice["native_finish_reason"] as? String == "MAX_TOKENS")
            let usage = try #require(cut["usage"] as? [String: Any])
            #expect(try integer(usage["completion_tokens"]) == (text.count + 3) / 4)
        }
    }

    @Test func slowAnswersAfterTheDelayWithoutBlockingOthers() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.slow(milliseconds: 3000)])
            let clock = ContinuousClock()
            let started = clock.now
            async let slow = { () async throws -> (HTTPResponse, ContinuousClock.Instant) in
                let response = try await harness.chat(chatBody(Self.prompt))
                return (response, clock.now)
            }()
            // Once the slow request has arrived (and taken the fault), another one is answered
            // while the slow one still waits: the delay holds no event loop.
            while harness.standIn.requests().isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await harness.send("GET", "/api/v1/models").status == 200)
            let quickEnd = clock.now
            let (response, slowEnd) = try await slow
            #expect(quickEnd < slowEnd, "the quick request was answered before the slow one")
            #expect(slowEnd - started >= .milliseconds(3000))
            #expect(response.status == 200)
            #expect(try draftTexts(try content(try jsonObject(response))).count == 4)
        }
    }

    @Test func aClientGivingUpDuringADelayLeavesTheServerFine() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.slow(milliseconds: 500)])
            await #expect(throws: HTTPClientError.timeout) {
                try await harness.chat(chatBody(Self.prompt), timeout: .milliseconds(150))
            }
            try await Task.sleep(for: .milliseconds(450))
            #expect(try await harness.chat(chatBody(Self.prompt)).status == 200)
        }
    }

    @Test func faultsAreTakenInOrderThenNormalAnswersResume() async throws {
        try await Harness.with { harness throws in
            harness.standIn.inject([.status(503), .notJSON])
            harness.standIn.inject([.status(408)])
            #expect(try await harness.chat(chatBody(Self.prompt)).status == 503)
            #expect(try content(try jsonObject(try await harness.chat(chatBody(Self.prompt)))).hasPrefix("Sure!"))
            #expect(try await harness.chat(chatBody(Self.prompt)).status == 408)
            #expect(try draftTexts(try content(try jsonObject(try await harness.chat(chatBody(Self.prompt))))).count == 4)
        }
    }

    @Test func resetClearsFaultsRequestsAndUnavailableModels() async throws {
        try await Harness.with { harness in
            harness.standIn.inject([.status(429)])
            harness.standIn.setUnavailable("google/gemini-2.5-flash", true)
            _ = try await harness.send("GET", "/api/v1/models")
            harness.standIn.reset()
            #expect(harness.standIn.requests().isEmpty)
            let response = try await harness.chat(chatBody(Self.prompt))
            #expect(response.status == 200)
            #expect(try jsonObject(response)["model"] as? String == "google/gemini-2.5-flash")
        }
    }
}
