import Foundation
import OpenRouterStandIn
import Testing
import WaqtorHTTP

/// `GET /api/v1/models` and the server's life cycle.
@Suite struct ModelsRouteTests {
    @Test func modelsAreListedWithoutAKey() async throws {
        try await Harness.with { harness in
            let response = try await harness.send("GET", "/api/v1/models")
            #expect(response.status == 200)
            let data = try #require(try jsonObject(response)["data"] as? [[String: Any]])
            #expect(data.compactMap { $0["id"] as? String } == OpenRouterStandIn.defaultModels.map(\.id))
            let flash = data[0]
            #expect(flash["canonical_slug"] as? String == "google/gemini-2.5-flash")
            #expect(try integer(flash["context_length"]) == 1_048_576)
            #expect(!(flash["name"] as? String ?? "").isEmpty)
            let pricing = try #require(flash["pricing"] as? [String: String])
            #expect(pricing == ["prompt": "0.0000003", "completion": "0.0000025"])
            let qwen = data[2]
            #expect(qwen["canonical_slug"] as? String == "qwen/qwen3-235b-a22b-07-25")
            #expect(try integer(qwen["context_length"]) == 262_144)
            #expect(qwen["pricing"] as? [String: String] == ["prompt": "0.00000009", "completion": "0.0000001"])
        }
    }

    @Test func baseURLAndStop() async throws {
        let standIn = try await OpenRouterStandIn.start()
        let http = HTTPClient()
        #expect(standIn.port > 0)
        #expect(standIn.baseURL == "http://127.0.0.1:\(standIn.port)/api/v1")
        #expect(try await http.execute(HTTPRequest(url: standIn.baseURL + "/models")).status == 200)
        await standIn.stop()
        try await standIn.waitUntilClosed()
        await #expect(throws: HTTPClientError.self) {
            try await http.execute(HTTPRequest(url: standIn.baseURL + "/models", timeout: .seconds(2)))
        }
        await http.shutdown()
    }
}
