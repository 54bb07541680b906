import Foundation
import OpenRouterStandIn
import Testing
import WaqtorHTTP

/// The `/_sim/` routes, for a stand-in run as its own process.
@Suite struct ControlRouteTests {
    static let prompt = draftingPrompt(count: 2, description: "Coats 30% off")

    @Test func faultsQueuedOverHTTP() async throws {
        try await Harness.with { harness in
            let queued = try await harness.send("POST", "/_sim/faults", body: """
                {"faults":[{"kind":"status","status":429,"retry_after":2},{"kind":"error_in_body","status":502},
                {"kind":"slow","ms":50},{"kind":"unusable"},{"kind":"not_json"},{"kind":"truncated"}]}
                """)
            #expect(queued.status == 200)
            #expect(queued.bodyString == #"{"queued":6}"#)

            let limited = try await harness.chat(chatBody(Self.prompt))
            #expect(limited.status == 429)
            #expect(limited.header("Retry-After") == "2")
            let inBody = try await harness.chat(chatBody(Self.prompt))
            #expect(inBody.status == 200)
            #expect(try integer(try errorObject(inBody)["code"]) == 502)
            let clock = ContinuousClock()
            let started = clock.now
            #expect(try draftTexts(try content(try jsonObject(try await harness.chat(chatBody(Self.prompt))))).count == 2)
            #expect(clock.now - started >= .milliseconds(50))
            #expect(try draftTexts(try content(try jsonObject(try await harness.chat(chatBody(Self.prompt))))) == ["{Hi {{name", "{Hi {{name"])
            #expect(try content(try jsonObject(try await harness.chat(chatBody(Self.prompt)))).hasPrefix("Sure!"))
            #expect(try firstChoice(try jsonObject(try await harness.chat(chatBody(Self.prompt))))["finish_reason"] as? String == "length")
            #expect(try firstChoice(try jsonObject(try await harness.chat(chatBody(Self.prompt))))["finish_reason"] as? String == "stop")
        }
    }

    @Test(arguments: [
        "not json",
        #"{"faults":"status"}"#,
        #"{"faults":[{"kind":"explode"}]}"#,
        #"{"faults":[{"kind":"status"}]}"#,
        #"{"faults":[{"kind":"status","status":42}]}"#,
        #"{"faults":[{"kind":"slow"}]}"#,
        #"{"faults":[{"kind":"unusable"},{"kind":"error_in_body"}]}"#,
    ])
    func badFaultBodiesAre400AndQueueNothing(_ body: String) async throws {
        try await Harness.with { harness in
            let response = try await harness.send("POST", "/_sim/faults", body: body)
            #expect(response.status == 400)
            #expect(!(try #require(try errorObject(response)["message"] as? String)).isEmpty)
            #expect(try await harness.chat(chatBody(Self.prompt)).status == 200)
            #expect(try draftTexts(try content(try jsonObject(try await harness.chat(chatBody(Self.prompt))))).count == 2)
        }
    }

    @Test func requestsListedAndCleared() async throws {
        try await Harness.with { harness in
            _ = try await harness.chat(chatBody(Self.prompt))
            _ = try await harness.send("GET", "/api/v1/models?supported_parameters=response_format")

            let recorded = harness.standIn.requests()
            #expect(recorded.map(\.path) == ["/api/v1/chat/completions", "/api/v1/models?supported_parameters=response_format"])
            #expect(recorded[0].method == "POST")
            #expect(recorded[0].header("authorization") == "Bearer \(Harness.key)")
            #expect(recorded[0].bodyString.contains("Number of drafts: 2"))

            let listed = try await harness.send("GET", "/_sim/requests")
            #expect(listed.status == 200)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.body)) as? [[String: Any]])
            #expect(entries.count == 2)
            #expect(entries[0]["method"] as? String == "POST")
            #expect(entries[0]["path"] as? String == "/api/v1/chat/completions")
            #expect((entries[0]["headers"] as? [String: String])?["Authorization"] == "Bearer \(Harness.key)")
            let sent = try #require(entries[0]["body"] as? String)
            let sentObject = try #require(try JSONSerialization.jsonObject(with: Data(sent.utf8)) as? [String: Any])
            #expect((sentObject["messages"] as? [Any])?.count == 2)

            #expect(try await harness.send("DELETE", "/_sim/requests").status == 200)
            #expect(try await harness.send("GET", "/_sim/requests").bodyString == "[]")
            #expect(harness.standIn.requests().isEmpty)
        }
    }

    @Test func unavailableAndResetOverHTTP() async throws {
        try await Harness.with { harness in
            let marked = try await harness.send("POST", "/_sim/unavailable", body: #"{"model":"google/gemini-2.5-flash","unavailable":true}"#)
            #expect(marked.status == 200)
            let body = chatBody(Self.prompt, models: ["google/gemini-2.5-flash", "google/gemini-2.5-flash-lite"])
            #expect(try jsonObject(try await harness.chat(body))["model"] as? String == "google/gemini-2.5-flash-lite")
            #expect(try await harness.send("POST", "/_sim/unavailable", body: #"{"unavailable":true}"#).status == 400)

            _ = try await harness.send("POST", "/_sim/faults", body: #"{"faults":[{"kind":"status","status":402}]}"#)
            #expect(try await harness.send("POST", "/_sim/reset").status == 200)
            #expect(harness.standIn.requests().isEmpty)
            #expect(try jsonObject(try await harness.chat(body))["model"] as? String == "google/gemini-2.5-flash")
        }
    }

    @Test func onlyTheLatestRequestsAreKept() async throws {
        try await Harness.with(.init(maxRecordedRequests: 2)) { harness in
            for query in ["a", "b", "c"] { _ = try await harness.send("GET", "/api/v1/models?\(query)") }
            #expect(harness.standIn.requests().map(\.path) == ["/api/v1/models?b", "/api/v1/models?c"])
        }
    }

    @Test func unknownControlRouteIs404() async throws {
        try await Harness.with { harness throws in
            #expect(try await harness.send("GET", "/_sim/nothing").status == 404)
            #expect(harness.standIn.requests().isEmpty)
        }
    }
}
