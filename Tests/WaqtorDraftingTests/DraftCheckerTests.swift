import Testing
@testable import WaqtorDrafting
import WaqtorOpenRouter

@Suite("Drafts are checked by the template parser")
struct DraftCheckerTests {
    func content(_ texts: [String]) -> String {
        String(decoding: JSONValue.object(["drafts": .array(texts.map { .object(["text": .string($0)]) })]).serialized, as: UTF8.self)
    }

    @Test("valid drafts pass with their variables in order of first use; duplicates are dropped")
    func valid() {
        let outcome = DraftChecker.check(content: content([
            "{Hi|Hello} {{name|there}}, our winter sale ends Sunday. Reply STOP to opt out.",
            "{{ Name | friend }}: 20% off coats, {{city|your city}} store. {{name|friend}}, see you!",
            "{Hi|Hello} {{name|there}}, our winter sale ends Sunday. Reply STOP to opt out.",
        ]), finishReason: "stop")
        #expect(outcome.drafts.count == 2)
        #expect(outcome.drafts[0].variables == ["name"])
        #expect(outcome.drafts[1].variables == ["name", "city"])
        #expect(outcome.problems.isEmpty)
    }

    @Test("unusable drafts are refused with the parser's reason", arguments: [
        ("{Hi {{name", "never closed"),
        ("Hello {{first name}}", "not a variable name"),
        ("Hi {{city}}, welcome", "no contact has the attribute city"),
        ("   ", "empty"),
    ])
    func refused(text: String, reason: String) {
        let outcome = DraftChecker.check(content: content([text]), finishReason: "stop")
        #expect(outcome.drafts.isEmpty)
        #expect(outcome.problems.contains { $0.contains(reason) }, "\(outcome.problems)")
    }

    @Test("a draft longer than WhatsApp's limit is refused")
    func tooLong() {
        let outcome = DraftChecker.check(content: content([String(repeating: "a", count: 4097)]), finishReason: "stop")
        #expect(outcome.drafts.isEmpty && outcome.problems.first?.contains("too long") == true)
    }

    @Test("prose, a truncated answer, a filtered answer and an empty list are unusable; a code fence is tolerated")
    func shapes() {
        #expect(DraftChecker.check(content: "Sure! Here are some drafts:\n1. Hi", finishReason: "stop").drafts.isEmpty)
        #expect(DraftChecker.check(content: content(["Hi {{name|there}}"]), finishReason: "length").drafts.isEmpty)
        #expect(DraftChecker.check(content: content(["Hi {{name|there}}"]), finishReason: "content_filter").drafts.isEmpty)
        #expect(DraftChecker.check(content: #"{"drafts":[]}"#, finishReason: "stop").problems == ["the answer holds no drafts"])
        let fenced = "```json\n" + content(["Hi {{name|there}}"]) + "\n```"
        #expect(DraftChecker.check(content: fenced, finishReason: "stop").drafts.map(\.text) == ["Hi {{name|there}}"])
    }
}

@Suite("What the provider request holds")
struct DraftPromptTests {
    @Test("the user message holds the description and the asked language, tone and count, and nothing else of the tenant's")
    func userMessage() throws {
        let input = try DraftInput(description: "Black Friday: 30% off sneakers", language: "pt-BR", tone: "friendly", variantCount: 4,
                                   model: "", configuration: DraftingConfiguration())
        let user = DraftPrompt.user(input)
        #expect(user == """
            Number of drafts: 4
            Language: pt-BR (Portuguese (pt-BR))
            Tone: friendly
            Campaign description (between the markers):
            <<<DESCRIPTION
            Black Friday: 30% off sneakers
            DESCRIPTION>>>
            """)
    }

    @Test("the body asks for the schema, denies data collection, names the fallback and carries no user id")
    func body() throws {
        let input = try DraftInput(description: "Sale", language: "", tone: "", variantCount: 0, model: "", configuration: DraftingConfiguration())
        let body = DraftPrompt.request(input, configuration: DraftingConfiguration()).body
        #expect(body["model"]?.string == "google/gemini-2.5-flash")
        #expect(body["models"]?.array?.compactMap(\.string) == ["google/gemini-2.5-flash", "qwen/qwen3-235b-a22b-2507"])
        #expect(body["provider"]?["data_collection"]?.string == "deny")
        #expect(body["user"] == nil)
        #expect(body["response_format"]?["type"]?.string == "json_schema")
        #expect(body["response_format"]?["json_schema"]?["schema"]?["required"]?.array?.compactMap(\.string) == ["drafts"])
        #expect(body["messages"]?.array?.count == 2)
        #expect(body["messages"]?[0]?["role"]?.string == "system")
        // Asking for the fallback itself sends no second copy of it.
        let qwen = try DraftInput(description: "Sale", language: "", tone: "", variantCount: 0, model: "qwen/qwen3-235b-a22b-2507",
                                  configuration: DraftingConfiguration())
        #expect(DraftPrompt.request(qwen, configuration: DraftingConfiguration()).body["models"] == nil)
    }
}

@Suite("Which model answered")
struct AnsweringModelTests {
    @Test("a dated id is the model asked for; another model is the fallback")
    func sameModel() {
        #expect(Drafter.sameModel("qwen/qwen3-235b-a22b-07-25", "qwen/qwen3-235b-a22b-2507"))
        #expect(Drafter.sameModel("google/gemini-2.5-flash", "google/gemini-2.5-flash"))
        #expect(Drafter.sameModel("", "google/gemini-2.5-flash"))
        #expect(!Drafter.sameModel("qwen/qwen3-235b-a22b-07-25", "google/gemini-2.5-flash"))
        #expect(!Drafter.sameModel("google/gemini-2.5-flash-lite", "google/gemini-2.5-flash"))
    }
}
