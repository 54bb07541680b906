import Testing
import WaqtorCore
import WaqtorDrafting

@Suite("DraftTemplates input checks")
struct DraftInputTests {
    let configuration = DraftingConfiguration()

    func input(description: String = "Winter sale: 20% off all coats until Sunday", language: String = "", tone: String = "",
               variants: Int = 0, model: String = "") throws(DraftingError) -> DraftInput {
        try DraftInput(description: description, language: language, tone: tone, variantCount: variants, model: model, configuration: configuration)
    }

    func field(_ body: () throws(DraftingError) -> DraftInput) -> (String?, String) {
        do {
            _ = try body()
            return (nil, "")
        } catch {
            #expect(error.category == .invalidInput)
            return (error.details["field"], error.message)
        }
    }

    @Test("defaults: three variants, the default model, the description's language, a neutral tone")
    func defaults() throws {
        let checked = try input()
        #expect(checked.variantCount == 3 && checked.model == "google/gemini-2.5-flash" && checked.language == nil && checked.tone.isEmpty)
        #expect(try input(variants: 5, model: "qwen/qwen3-235b-a22b-2507").model == "qwen/qwen3-235b-a22b-2507")
        #expect(try input(description: "  padded  ").description == "padded")
    }

    @Test("bad input names its field", arguments: [
        ("", "", "", 0, "", "campaign_description"),
        ("   \n ", "", "", 0, "", "campaign_description"),
        (String(repeating: "a", count: 2001), "", "", 0, "", "campaign_description"),
        ("ok", "xx", "", 0, "", "language"),
        ("ok", "pt-BRAZIL", "", 0, "", "language"),
        ("ok", "english", "", 0, "", "language"),
        ("ok", "en-US-x-y", "", 0, "", "language"),
        ("ok", "", "very {friendly}", 0, "", "tone"),
        ("ok", "", String(repeating: "a", count: 41), 0, "", "tone"),
        ("ok", "", "", 6, "", "variant_count"),
        ("ok", "", "", -1, "", "variant_count"),
        ("ok", "", "", 0, "openai/gpt-4o", "model"),
    ])
    func badInput(description: String, language: String, tone: String, variants: Int, model: String, expected: String) {
        let (name, message) = field { () throws(DraftingError) in
            try input(description: description, language: language, tone: tone, variants: variants, model: model)
        }
        #expect(name == expected, "\(message)")
        #expect(message.hasPrefix("\(expected):"))
    }

    @Test("a refused model lists the allowed ones")
    func modelList() {
        let (_, message) = field { () throws(DraftingError) in try input(model: "openai/gpt-4o") }
        #expect(message.contains("google/gemini-2.5-flash") && message.contains("qwen/qwen3-235b-a22b-2507"))
    }

    @Test("language tags are normalised and named for the model", arguments: [
        ("en", "en", "English (en)"), ("pt-br", "pt-BR", "Portuguese (pt-BR)"), ("ES-419", "es-419", "Spanish (es-419)"),
        ("zh-hant-tw", "zh-Hant-TW", "Chinese (zh-Hant-TW)"), ("ar", "ar", "Arabic (ar)"),
    ])
    func languages(tag: String, normalised: String, name: String) throws {
        let checked = try input(language: tag)
        #expect(checked.language?.tag == normalised && checked.language?.name == name)
    }

    @Test("the description's length limit is in characters as a person counts them")
    func lengthInCharacters() throws {
        // 2,000 emoji flags: 4,000 scalars, 2,000 characters.
        #expect(try input(description: String(repeating: "🇧🇷", count: 2000)).description.count == 2000)
    }
}
