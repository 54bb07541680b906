import Foundation
import OpenRouterStandIn
import Testing
import WaqtorHTTP

/// The order of checks before any answer: the key first, then the body, then the model.
@Suite struct AuthAndValidationTests {
    @Test func missingKeyIs401NoCredentials() async throws {
        try await Harness.with { harness in
            let response = try await harness.chat(chatBody("hi"), key: nil)
            #expect(response.status == 401)
            #expect(response.bodyString == #"{"error":{"code":401,"message":"No auth credentials found"}}"#)
            #expect(response.header("Content-Type") == "application/json")
        }
    }

    @Test func wrongKeyIs401UserNotFound() async throws {
        try await Harness.with { harness in
            let response = try await harness.chat(chatBody("hi"), key: "sk-or-v1-wrong")
            #expect(response.status == 401)
            #expect(response.bodyString == #"{"error":{"code":401,"message":"User not found."}}"#)
            // Refused requests are recorded too: a test can see what the client sent.
            #expect(harness.standIn.requests().count == 1)
        }
    }

    @Test func authIsCheckedBeforeTheBody() async throws {
        try await Harness.with { harness in
            let response = try await harness.chatRaw(Array("not json".utf8), key: "wrong")
            #expect(response.status == 401)
        }
    }

    @Test(arguments: ["not json", "[1,2]", "", "\"text\""])
    func aBodyThatIsNotAJSONObjectIs400(_ body: String) async throws {
        try await Harness.with { harness in
            let response = try await harness.chatRaw(Array(body.utf8))
            #expect(response.status == 400)
            let error = try errorObject(response)
            #expect(try integer(error["code"]) == 400)
            #expect((error["message"] as? String)?.hasPrefix("Invalid JSON in request body") == true)
        }
    }

    @Test(arguments: [
        (#"{"model":"google/gemini-2.5-flash"}"#, "messages"),
        (#"{"messages":[]}"#, "messages"),
        (#"{"messages":"hi"}"#, "messages"),
        (#"{"messages":["hi"]}"#, "messages[0]"),
        (#"{"messages":[{"role":"robot","content":"hi"}]}"#, "messages[0].role"),
        (#"{"messages":[{"role":"user","content":"hi"},{"role":"user"}]}"#, "messages[1].content"),
        (#"{"messages":[{"role":"user","content":42}]}"#, "messages[0].content"),
        (#"{"messages":[{"role":"user","content":"hi"}],"model":7}"#, "model"),
        (#"{"messages":[{"role":"user","content":"hi"}],"models":"google/gemini-2.5-flash"}"#, "models"),
    ])
    func invalidMessagesAre400NamingTheProblem(_ body: String, _ named: String) async throws {
        try await Harness.with { harness in
            let response = try await harness.chatRaw(Array(body.utf8))
            #expect(response.status == 400)
            let message = try #require(try errorObject(response)["message"] as? String)
            #expect(message.hasPrefix(named), "\(message)")
        }
    }

    @Test func unknownModelIs400() async throws {
        try await Harness.with { harness in
            let response = try await harness.chat(chatBody("hi", model: "openai/gpt-9"))
            #expect(response.status == 400)
            #expect(response.bodyString == #"{"error":{"code":400,"message":"openai/gpt-9 is not a valid model ID"}}"#)
            // Every candidate must exist, even when an earlier one could answer.
            let fallback = try await harness.chat(chatBody("hi", model: "google/gemini-2.5-flash", models: ["nope/nope"]))
            #expect(fallback.status == 400)
            #expect(try errorObject(fallback)["message"] as? String == "nope/nope is not a valid model ID")
        }
    }

    @Test func refusedRequestsDoNotTakeAQueuedFault() async throws {
        try await Harness.with { harness throws in
            harness.standIn.inject([.status(402)])
            #expect(try await harness.chat(chatBody("hi"), key: nil).status == 401)
            #expect(try await harness.chatRaw(Array("{".utf8)).status == 400)
            #expect(try await harness.chat(chatBody("hi")).status == 402)
            #expect(try await harness.chat(chatBody("hi")).status == 200)
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await Harness.with { harness in
            let big = [UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 1)
            let response = try await harness.chatRaw(big)
            #expect(response.status == 413)
            #expect(try integer(try errorObject(response)["code"]) == 413)
            // The connection stays usable.
            #expect(try await harness.chat(chatBody("hi")).status == 200)
        }
    }

    @Test func otherPathsAre404AndWrongMethods405() async throws {
        try await Harness.with { harness in
            let missing = try await harness.send("GET", "/api/v1/nothing-here")
            #expect(missing.status == 404)
            #expect(missing.bodyString == #"{"error":{"code":404,"message":"Not Found"}}"#)
            #expect(try await harness.send("GET", "/api/v1/chat/completions").status == 405)
        }
    }
}
