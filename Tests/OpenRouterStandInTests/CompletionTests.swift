import Foundation
import OpenRouterStandIn
import Testing
import WaqtorHTTP

/// A normal answer: OpenRouter's shape, padding, usage and cost, and drafts that follow the prompt.
@Suite struct CompletionTests {
    static let description = """
        Winter sale at Casa Aurora: every coat 30% off until Sunday.
        Free delivery   in the city for orders over R$ 200.
        """

    @Test func aNormalCompletion() async throws {
        try await Harness.with { harness in
            let user = draftingPrompt(count: 5, description: Self.description)
            let body = chatBody(user, model: "google/gemini-2.5-flash")
            let response = try await harness.chat(body)
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.bodyString.hasPrefix("\n\n   \n{"))

            let completion = try jsonObject(response)
            #expect((completion["id"] as? String)?.hasPrefix("gen-") == true)
            #expect(completion["provider"] as? String == "Google")
            #expect(completion["model"] as? String == "google/gemini-2.5-flash")
            #expect(completion["object"] as? String == "chat.completion")
            let created = try integer(completion["created"])
            #expect(abs(created - Int(Date().timeIntervalSince1970)) < 60)
            let choice = try firstChoice(completion)
            #expect(choice["finish_reason"] as? String == "stop")
            #expect(choice["native_finish_reason"] as? String == "STOP")
            #expect(try integer(choice["index"]) == 0)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")

            let text = try content(completion)
            let drafts = try draftTexts(text)
            #expect(drafts.count == 5)
            #expect(Set(drafts).count == 5)
            for draft in drafts {
                #expect(isValidTemplate(draft), "\(draft)")
                #expect(draft.hasPrefix("{Hi|Hello} {{name|there}}! "))
                for word in ["Winter", "Casa", "Aurora", "coat", "Free delivery in the city"] {
                    #expect(draft.contains(word), "\(draft)")
                }
            }
            #expect(drafts[0].hasSuffix("Reply STOP to opt out."))
            #expect(drafts[1].hasSuffix("{{name|Friend}}, we hope to see you soon."))
            #expect(drafts[2].hasSuffix("Questions? Just reply to this message."))

            let usage = try #require(completion["usage"] as? [String: Any])
            let systemText = "You write WhatsApp campaign drafts. Answer in JSON."
            let promptTokens = (systemText.count + user.count + 3) / 4
            let completionTokens = (text.count + 3) / 4
            #expect(try integer(usage["prompt_tokens"]) == promptTokens)
            #expect(try integer(usage["completion_tokens"]) == completionTokens)
            #expect(try integer(usage["total_tokens"]) == promptTokens + completionTokens)
            let cost = try #require(usage["cost"] as? Double)
            let expected = Double(promptTokens) * 0.30 / 1e6 + Double(completionTokens) * 2.50 / 1e6
            #expect(abs(cost - expected) < 1e-12)
            #expect(usage["is_byok"] as? Bool == false)
        }
    }

    @Test func noPaddingWhenConfiguredOff() async throws {
        try await Harness.with(.init(padding: false)) { harness in
            let response = try await harness.chat(chatBody(draftingPrompt(description: "x")))
            #expect(response.bodyString.hasPrefix(#"{"id":"gen-"#))
        }
    }

    @Test func theAnswerIsDeterministic() async throws {
        try await Harness.with { harness in
            let body = chatBody(draftingPrompt(description: Self.description))
            let first = try content(try jsonObject(try await harness.chat(body)))
            let second = try content(try jsonObject(try await harness.chat(body)))
            #expect(first == second)
        }
    }

    @Test(arguments: [(0, 1), (1, 1), (10, 10), (50, 10)])
    func theDraftCountIsClamped(_ asked: Int, _ answered: Int) async throws {
        try await Harness.with { harness in
            let response = try await harness.chat(chatBody(draftingPrompt(count: asked, description: "A sale")))
            let drafts = try draftTexts(try content(try jsonObject(response)))
            #expect(drafts.count == answered)
            #expect(Set(drafts).count == answered)
        }
    }

    @Test func withoutMarkersTheWholeTextIsTheDescription() async throws {
        try await Harness.with { harness in
            let response = try await harness.chat(chatBody("Spring collection arrives Monday"))
            let drafts = try draftTexts(try content(try jsonObject(response)))
            #expect(drafts.count == 3)
            #expect(drafts.allSatisfy { $0.contains("Spring collection arrives Monday.") })
        }
    }

    @Test func draftsFollowTheLanguage() async throws {
        try await Harness.with { harness in
            let response = try await harness.chat(chatBody(draftingPrompt(language: "pt-BR (Portuguese)", description: "Promoção de inverno")))
            let drafts = try draftTexts(try content(try jsonObject(response)))
            #expect(drafts.allSatisfy { $0.hasPrefix("{Olá|Oi} {{name|cliente}}! Promoção de inverno.") })
            let unknown = try await harness.chat(chatBody(draftingPrompt(language: "xx-YY", description: "Sale")))
            #expect(try draftTexts(try content(try jsonObject(unknown))).allSatisfy { $0.hasPrefix("{Hi|Hello}") })
        }
    }

    @Test func templateCharactersInTheDescriptionAreDropped() async throws {
        try await Harness.with { harness in
            let description = "Use {code|CODE} now \\ {{name}} } and | more\n\n  text " + String(repeating: "long ", count: 60)
            let response = try await harness.chat(chatBody(draftingPrompt(description: description)))
            for draft in try draftTexts(try content(try jsonObject(response))) {
                #expect(isValidTemplate(draft), "\(draft)")
                #expect(draft.contains("Use codeCODE now name and more text long"))
                #expect(!draft.contains("\\"))
            }
        }
    }

    @Test func jsonSchemaRequestsGetTheSameShape() async throws {
        try await Harness.with { harness in
            var body = chatBody(draftingPrompt(count: 2, description: "A sale"))
            body["response_format"] = [
                "type": "json_schema",
                "json_schema": ["name": "drafts", "strict": true, "schema": ["type": "object"]],
            ]
            let drafts = try draftTexts(try content(try jsonObject(try await harness.chat(body))))
            #expect(drafts.count == 2)
        }
    }

    @Test func costUsesTheAnsweringModelsPrices() async throws {
        try await Harness.with { harness in
            let response = try await harness.chat(chatBody("Sale", model: "qwen/qwen3-235b-a22b-2507"))
            let completion = try jsonObject(response)
            #expect(completion["model"] as? String == "qwen/qwen3-235b-a22b-07-25")
            #expect(completion["provider"] as? String == "Alibaba")
            let usage = try #require(completion["usage"] as? [String: Any])
            let expected = Double(try integer(usage["prompt_tokens"])) * 0.09 / 1e6 + Double(try integer(usage["completion_tokens"])) * 0.10 / 1e6
            #expect(abs(try #require(usage["cost"] as? Double) - expected) < 1e-12)
        }
    }
}
