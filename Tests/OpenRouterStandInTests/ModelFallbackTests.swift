import OpenRouterStandIn
import Testing
import WaqtorHTTP

/// OpenRouter's server-side fallback: `model` then `models`, the first with an endpoint answers.
@Suite struct ModelFallbackTests {
    @Test func theFirstUnavailableFallsBackToTheNext() async throws {
        try await Harness.with { harness in
            harness.standIn.setUnavailable("google/gemini-2.5-flash", true)
            let body = chatBody("Sale", models: ["google/gemini-2.5-flash", "qwen/qwen3-235b-a22b-2507"])
            let completion = try jsonObject(try await harness.chat(body))
            #expect(completion["model"] as? String == "qwen/qwen3-235b-a22b-07-25")
            #expect(completion["provider"] as? String == "Alibaba")
        }
    }

    @Test func modelComesFirstThenModelsWithoutDuplicates() async throws {
        try await Harness.with { harness throws in
            let body = chatBody("Sale", model: "google/gemini-2.5-flash", models: ["google/gemini-2.5-flash", "google/gemini-2.5-flash-lite"])
            #expect(try jsonObject(try await harness.chat(body))["model"] as? String == "google/gemini-2.5-flash")
            harness.standIn.setUnavailable("google/gemini-2.5-flash", true)
            #expect(try jsonObject(try await harness.chat(body))["model"] as? String == "google/gemini-2.5-flash-lite")
            harness.standIn.setUnavailable("google/gemini-2.5-flash", false)
            #expect(try jsonObject(try await harness.chat(body))["model"] as? String == "google/gemini-2.5-flash")
        }
    }

    @Test func allUnavailableIs503NoEndpoints() async throws {
        try await Harness.with { harness in
            harness.standIn.setUnavailable("google/gemini-2.5-flash-lite", true)
            harness.standIn.setUnavailable("qwen/qwen-2.5-72b-instruct", true)
            let response = try await harness.chat(chatBody("Sale", model: "google/gemini-2.5-flash-lite", models: ["qwen/qwen-2.5-72b-instruct"]))
            #expect(response.status == 503)
            #expect(response.bodyString == #"{"error":{"code":503,"message":"No endpoints found for google/gemini-2.5-flash-lite.","metadata":{"error_type":"no_endpoints"}}}"#)
        }
    }

    @Test func noModelMeansTheFirstConfiguredOne() async throws {
        try await Harness.with { harness in
            #expect(try jsonObject(try await harness.chat(chatBody("Sale")))["model"] as? String == "google/gemini-2.5-flash")
            harness.standIn.setUnavailable("google/gemini-2.5-flash", true)
            let response = try await harness.chat(chatBody("Sale"))
            #expect(response.status == 503)
            #expect(try errorObject(response)["message"] as? String == "No endpoints found for google/gemini-2.5-flash.")
        }
    }

    @Test func aCustomCatalogue() async throws {
        let model = OpenRouterStandIn.Model(
            id: "acme/model-1", answeredID: "acme/model-1-2026", provider: "Acme",
            promptPricePerMillion: 1, completionPricePerMillion: 2, contextLength: 8192)
        try await Harness.with(.init(models: [model])) { harness in
            let completion = try jsonObject(try await harness.chat(chatBody("Sale")))
            #expect(completion["model"] as? String == "acme/model-1-2026")
            #expect(completion["provider"] as? String == "Acme")
            #expect(try await harness.chat(chatBody("Sale", model: "google/gemini-2.5-flash")).status == 400)
        }
    }
}
