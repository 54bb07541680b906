import Testing
import WaqtorCore
@testable import WaqtorTemplates

/// The grammar of docs/TEMPLATES.md, case by case.
@Suite("Template: parsing")
struct TemplateParsingTests {
    @Test("literal text, variables with and without defaults, spaces inside the braces")
    func variables() throws {
        #expect(try Template.parse("Hello").nodes == [.text("Hello")])
        #expect(try Template.parse("").nodes == [])
        let template = try Template.parse("Hi {{ Name | there }}, call {{phone_number}}{{title|}}!")
        #expect(template.occurrences.map(\.name) == ["name", "phone_number", "title"])
        #expect(template.occurrences.map(\.defaultValue) == ["there", nil, ""])
        #expect(template.occurrences.map(\.written) == ["{{ Name | there }}", "{{phone_number}}", "{{title|}}"])
        guard case .text(let first) = template.nodes.first, case .text(", call ") = template.nodes[2] else {
            Issue.record("unexpected nodes \(template.nodes)")
            return
        }
        #expect(first == "Hi ")
        #expect(template.nodes.count == 6)
        #expect(template.variantCount == 1)
        for name in ["order.id", "_x", "a-b", "A1_b.c-d", String(repeating: "n", count: 64)] {
            #expect(try Template.parse("{{\(name)}}").variableNames == [name.lowercased()], "\(name)")
        }
    }

    @Test("variables: every use in order, each name once at its first use, names case-insensitive")
    func variableLists() throws {
        let template = try Template.parse("{{a}} {{B|x}} {Hi {{a|y}}|{{c}}} {{b}}")
        #expect(template.occurrences.map(\.name) == ["a", "b", "a", "c", "b"])
        #expect(template.variables.map(\.name) == ["a", "b", "c"])
        #expect(template.variables.map(\.defaultValue) == [nil, "x", nil])
        #expect(template.variables.map(\.position.offset) == [0, 6, 26])
        #expect(template.variableNames == ["a", "b", "c"])
    }

    @Test("spintax: alternatives, nesting, variables inside alternatives, a run of braces")
    func spintax() throws {
        #expect(try Template.parse("{Hi|Hello|Hey}").nodes == [.spintax([[.text("Hi")], [.text("Hello")], [.text("Hey")]])])
        let nested = try Template.parse("{Hi|{Hello|Hey} there}")
        #expect(nested.nodes == [.spintax([[.text("Hi")], [.spintax([[.text("Hello")], [.text("Hey")]]), .text(" there")]])])
        #expect(nested.variantCount == 3)
        // In a run of braces the last two open the variable.
        let run = try Template.parse("{{{name}}|friend}")
        guard case .spintax(let alternatives) = run.nodes.first, case .variable(let variable) = alternatives[0].first else {
            Issue.record("unexpected nodes \(run.nodes)")
            return
        }
        #expect(variable.name == "name" && alternatives[1] == [.text("friend")])
        #expect(try Template.parse("{{{{a}}|b}|c}").variantCount == 3)
        // A group whose first alternative starts with a group: the first } after {{ is single.
        #expect(try Template.parse("{{Hi|Hello} there|Hey}").nodes
            == [.spintax([[.spintax([[.text("Hi")], [.text("Hello")]]), .text(" there")], [.text("Hey")]])])
        #expect(try Template.parse("{{{a|b}|c}|d}").variantCount == 4)
        #expect(try Template.parse(#"{{x|a\}b}}"#).occurrences.first?.defaultValue == "a}b")
        #expect(try Template.parse("{a|b} {c|d|e}").variantCount == 6)
        #expect(try Template.parse("{a|{b|c}|{d|{e|f}}}").variantCount == 6)
        #expect(try Template.parse("{Hi {{name|there}}|Hello}").variableNames == ["name"])
        // The count saturates.
        #expect(try Template.parse(String(repeating: "{a|b}", count: 64)).variantCount == Int.max)
        #expect(try Template.parse(String(repeating: "{a|b}", count: 62)).variantCount == 1 << 62)
    }

    @Test("escapes: \\{ \\} \\| \\\\ are literal; any other backslash is itself; | is literal outside a group")
    func escapes() throws {
        #expect(try Template.parse(#"\{a\}\|\\"#).nodes == [.text(#"{a}|\"#)])
        #expect(try Template.parse(#"C:\path\n"#).nodes == [.text(#"C:\path\n"#)])
        #expect(try Template.parse(#"end\"#).nodes == [.text(#"end\"#)])
        #expect(try Template.parse("Size | Price").nodes == [.text("Size | Price")])
        #expect(try Template.parse(#"{a\|b|c\}}"#).nodes == [.spintax([[.text("a|b")], [.text("c}")]])])
        #expect(try Template.parse(#"\{\{name\}\}"#).nodes == [.text("{{name}}")])
        #expect(try Template.parse(#"{{x|a\}b\|c\{d\\}}"#).occurrences.first?.defaultValue == #"a}b|c{d\"#)
        // `\{{{x}}` is a literal brace then a variable: the escape takes the first brace out of the run.
        #expect(try Template.parse(#"\{{{x}}"#).occurrences.map(\.name) == ["x"])
    }

    @Test("positions: UTF-16 offset, 1-based line and column counted in characters")
    func positions() throws {
        let template = try Template.parse("Hi\n  {{city}}\né😀 {{x}} {{y}}")
        #expect(template.occurrences.map(\.position) == [
            TemplatePosition(offset: 5, line: 2, column: 3),
            TemplatePosition(offset: 18, line: 3, column: 4),
            TemplatePosition(offset: 24, line: 3, column: 10),
        ])
        // A decomposed é is one character and two UTF-16 units.
        let decomposed = try Template.parse("e\u{301} {{x}}")
        #expect(decomposed.occurrences[0].position == TemplatePosition(offset: 3, line: 1, column: 3))
    }

    @Test("length bounds: shortest with empty variables, longest with defaults")
    func lengthBounds() throws {
        let template = try Template.parse("{Hi|Hello} {{name|there}}{{x}}")
        #expect(template.lengthBounds == TemplateLengthBounds(shortest: 3, longestWithDefaults: 11))
        #expect(try Template.parse("😀{a|bb}").lengthBounds == TemplateLengthBounds(shortest: 3, longestWithDefaults: 4))
    }

    @Test("the seed of a contact is the first 8 bytes of the digest, big-endian")
    func seed() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        let abc: [UInt8] = [0xBA, 0x78, 0x16, 0xBF, 0x8F, 0x01, 0xCF, 0xEA, 0x41, 0x41, 0x40, 0xDE, 0x5D, 0xAE, 0x22, 0x23,
                            0xB0, 0x03, 0x61, 0xA3, 0x96, 0x17, 0x7A, 0x9C, 0xB4, 0x10, 0xFF, 0x61, 0xF2, 0x00, 0x15, 0xAD]
        #expect(Template.seed(digest: abc) == 0xBA78_16BF_8F01_CFEA)
        // docs/TEMPLATES.md's example: SHA-256("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b:0b7e6f4a-2c1d-4e3f-9a8b-7c6d5e4f3a2b").
        #expect(Template.seed(digest: [0xDE, 0xD7, 0xF1, 0xC7, 0x13, 0x8C, 0xED, 0xA5, 0xD0, 0xB9]) == 16_057_568_833_741_581_733)
        #expect(Template.seed(digest: [0x01]) == 0x0100_0000_0000_0000)
        #expect(Template.seed(digest: []) == 0)
    }

    @Test("the limits are WhatsApp's documented ones")
    func limits() {
        #expect(TemplateLimits.textBody == 4096)
        #expect(TemplateLimits.mediaCaption == 1024)
        #expect(TemplateLimits.maxNestingDepth == 16)
        #expect(TemplateLimits.maxSourceBytes == 65_536)
    }
}

/// Every parse error, its position and its message.
@Suite("Template: parse errors")
struct TemplateErrorTests {
    struct Case: Sendable, CustomStringConvertible {
        let source: String
        let kind: TemplateError.Kind
        let offset: Int
        let line: Int
        let column: Int
        var description: String { source.count > 60 ? String(source.prefix(60)) + "…" : source }
    }

    static let cases: [Case] = [
        Case(source: "{Hi|Hello", kind: .unclosedSpintax, offset: 0, line: 1, column: 1),
        Case(source: "ab {Hi|{Hello|Hey}", kind: .unclosedSpintax, offset: 3, line: 1, column: 4),
        Case(source: "{a|{b|c", kind: .unclosedSpintax, offset: 3, line: 1, column: 4),
        Case(source: "x\n{a|b\n", kind: .unclosedSpintax, offset: 2, line: 2, column: 1),
        Case(source: "{", kind: .unclosedSpintax, offset: 0, line: 1, column: 1),
        Case(source: "Hi {{name", kind: .unclosedVariable, offset: 3, line: 1, column: 4),
        Case(source: "Hi {{name}", kind: .unclosedVariable, offset: 3, line: 1, column: 4),
        Case(source: "Hi {{name} there", kind: .unclosedVariable, offset: 3, line: 1, column: 4),
        Case(source: "{{name\n}}", kind: .unclosedVariable, offset: 0, line: 1, column: 1),
        Case(source: "{{name|x", kind: .unclosedVariable, offset: 0, line: 1, column: 1),
        Case(source: "{{name|x\n}}", kind: .unclosedVariable, offset: 0, line: 1, column: 1),
        Case(source: "{{name}x}}", kind: .unclosedVariable, offset: 0, line: 1, column: 1),
        Case(source: "{{name|x}", kind: .unclosedSpintax, offset: 0, line: 1, column: 1),
        Case(source: "{{name|x} y}}", kind: .singleAlternative, offset: 0, line: 1, column: 1),
        Case(source: "{{x}|y}", kind: .unclosedVariable, offset: 0, line: 1, column: 1),
        Case(source: "{{a|b}}}", kind: .strayClosingBrace, offset: 7, line: 1, column: 8),
        Case(source: "{{", kind: .unclosedVariable, offset: 0, line: 1, column: 1),
        Case(source: "{{a{b}}", kind: .singleAlternative, offset: 3, line: 1, column: 4),
        Case(source: "{{{name}}", kind: .unclosedSpintax, offset: 0, line: 1, column: 1),
        Case(source: "{{name|{friend|there}}}", kind: .badDefault, offset: 7, line: 1, column: 8),
        Case(source: "Hi }", kind: .strayClosingBrace, offset: 3, line: 1, column: 4),
        Case(source: "a}}", kind: .strayClosingBrace, offset: 1, line: 1, column: 2),
        Case(source: "{a|b}}", kind: .strayClosingBrace, offset: 5, line: 1, column: 6),
        Case(source: "😀\n😀}", kind: .strayClosingBrace, offset: 5, line: 2, column: 2),
        Case(source: "{a||b}", kind: .emptyAlternative, offset: 3, line: 1, column: 4),
        Case(source: "{|a}", kind: .emptyAlternative, offset: 1, line: 1, column: 2),
        Case(source: "{a|}", kind: .emptyAlternative, offset: 3, line: 1, column: 4),
        Case(source: "x {}", kind: .emptyAlternative, offset: 2, line: 1, column: 3),
        Case(source: "{a|{|b}}", kind: .emptyAlternative, offset: 4, line: 1, column: 5),
        Case(source: "{a}", kind: .singleAlternative, offset: 0, line: 1, column: 1),
        Case(source: "{a|{b}}", kind: .singleAlternative, offset: 3, line: 1, column: 4),
        Case(source: "x {{}}", kind: .emptyVariableName, offset: 2, line: 1, column: 3),
        Case(source: "{{ \t}}", kind: .emptyVariableName, offset: 0, line: 1, column: 1),
        Case(source: "{{|x}}", kind: .emptyVariableName, offset: 0, line: 1, column: 1),
        Case(source: "{{first name}}", kind: .badVariableName("first name"), offset: 0, line: 1, column: 1),
        Case(source: "{{1st}}", kind: .badVariableName("1st"), offset: 0, line: 1, column: 1),
        Case(source: "{{.a}}", kind: .badVariableName(".a"), offset: 0, line: 1, column: 1),
        Case(source: "{{ñame}}", kind: .badVariableName("ñame"), offset: 0, line: 1, column: 1),
        Case(source: "{{a$b|x}}", kind: .badVariableName("a$b"), offset: 0, line: 1, column: 1),
        Case(source: "{{a\\}b}}", kind: .badVariableName("a\\"), offset: 0, line: 1, column: 1),
        Case(source: "{{" + String(repeating: "a", count: 65) + "}}", kind: .badVariableName(String(repeating: "a", count: 65)), offset: 0, line: 1, column: 1),
        Case(source: "{{x|a{b}}", kind: .badDefault, offset: 5, line: 1, column: 6),
        Case(source: "{{x|a|b}}", kind: .badDefault, offset: 5, line: 1, column: 6),
        Case(source: String(repeating: "{a|", count: 17) + "b" + String(repeating: "}", count: 17),
             kind: .nestingTooDeep(limit: 16), offset: 48, line: 1, column: 49),
        Case(source: String(repeating: "a", count: 65_537), kind: .templateTooLong(bytes: 65_537, limit: 65_536), offset: 65_536, line: 1, column: 65_537),
        Case(source: String(repeating: "😀", count: 16_385), kind: .templateTooLong(bytes: 65_540, limit: 65_536), offset: 32_768, line: 1, column: 16_385),
        Case(source: String(repeating: "ab\n", count: 30_000), kind: .templateTooLong(bytes: 90_000, limit: 65_536), offset: 65_536, line: 21_846, column: 2),
    ]

    @Test("each error kind at its position", arguments: cases)
    func errors(_ c: Case) {
        #expect(throws: TemplateError.self) { try Template.parse(c.source) }
        do {
            _ = try Template.parse(c.source)
        } catch {
            #expect(error.kind == c.kind)
            #expect(error.position == TemplatePosition(offset: c.offset, line: c.line, column: c.column))
            #expect(error.message.contains("line \(c.line), column \(c.column)"), "\(error.message)")
            #expect(error.category == .invalidInput)
            #expect(error.details["template_error"] == c.kind.code)
            #expect(error.details["offset"] == String(c.offset))
        }
    }

    @Test("16 nested groups parse; the source limit is inclusive")
    func limitsAccepted() throws {
        let deep = String(repeating: "{a|", count: 16) + "b" + String(repeating: "}", count: 16)
        #expect(try Template.parse(deep).variantCount == 17)
        #expect(try Template.parse(String(repeating: "a", count: 65_536)).lengthBounds.shortest == 65_536)
    }

    @Test("messages say where, what and what to do")
    func messages() {
        func message(_ source: String) -> String {
            do {
                _ = try Template.parse(source)
                return "parsed"
            } catch {
                return error.message
            }
        }
        #expect(message("Hi {there") == #"{ at line 1, column 4: this spintax group is never closed; close it with }, or write \{ for a literal brace"#)
        #expect(message("Hi }") == #"} at line 1, column 4: this } closes nothing; remove it, or write \} for a literal brace"#)
        #expect(message("{a||b}") == #"| at line 1, column 4: an empty alternative in a spintax group; write text between the bars or remove the extra |, or write \| for a literal bar"#)
        #expect(message("{a}") == #"{a} at line 1, column 1: a spintax group needs at least two alternatives separated by | ({Hi|Hello}); for literal braces write \{ and \}"#)
        #expect(message("Dear {{first name}},") == "{{first name}} at line 1, column 6: first name is not a variable name (it contains a space); names start with a letter or _ and continue with letters, digits, _ . or -, at most 64 characters")
        #expect(message("Hi {{name}") == "{{name} at line 1, column 4: a variable ends with }}; add the second }")
        #expect(message("{{}}") == #"{{}} at line 1, column 1: a variable needs a name, e.g. {{name}}; write \{ for a literal brace"#)
    }
}

/// Validation for a campaign: known variables and the length.
@Suite("Template: validation")
struct TemplateValidationTests {
    @Test("an unknown variable without a default is refused at its position, in words a person can act on")
    func unknownVariable() throws {
        let template = try Template.parse("Hello {{city}}, {{name}}")
        #expect(throws: TemplateError(.unknownVariable("city"), at: TemplatePosition(offset: 6, line: 1, column: 7),
                                      message: "{{city}} at line 1, column 7: no contact has the attribute city and it has no default; add a default with {{city|...}} or add the attribute")) {
            try template.validate(knownVariables: ["name", "phone_number"], maxLength: TemplateLimits.textBody)
        }
        try template.validate(knownVariables: ["name", "City"], maxLength: TemplateLimits.textBody)
        // A default makes any name acceptable; a later use without one is still refused.
        try Template.parse("{{city|your city}}").validate(knownVariables: [], maxLength: 100)
        do {
            try Template.parse("{{city|x}} {{City}}").validate(knownVariables: [], maxLength: 100)
            Issue.record("accepted")
        } catch {
            #expect(error.kind == .unknownVariable("city") && error.position?.offset == 11)
            #expect(error.details["variable"] == "city")
        }
    }

    @Test("refused when even the shortest rendering is over the limit; the longest is only reported")
    func length() throws {
        let long = try Template.parse(String(repeating: "a", count: 4097))
        #expect(throws: TemplateError.self) { try long.validate(knownVariables: [], maxLength: TemplateLimits.textBody) }
        do {
            try long.validate(knownVariables: [], maxLength: TemplateLimits.textBody)
        } catch {
            #expect(error.kind == .tooLong(shortest: 4097, limit: 4096) && error.position == nil)
        }
        // A long alternative beside a short one passes: some renderings fit.
        let mixed = try Template.parse("{" + String(repeating: "a", count: 2000) + "|b} {{bio}}")
        try mixed.validate(knownVariables: ["bio"], maxLength: TemplateLimits.mediaCaption)
        #expect(mixed.lengthBounds == TemplateLengthBounds(shortest: 2, longestWithDefaults: 2001))
        try Template.parse(String(repeating: "😀", count: 2048)).validate(knownVariables: [], maxLength: 4096)
        #expect(throws: TemplateError.self) {
            try Template.parse(String(repeating: "😀", count: 2049)).validate(knownVariables: [], maxLength: 4096)
        }
    }

    @Test("an empty template is refused")
    func empty() throws {
        for source in ["", "  \n "] {
            #expect(throws: TemplateError(.emptyTemplate, at: nil, message: "the message is empty; write the text to send")) {
                try Template.parse(source).validate(knownVariables: [], maxLength: 100)
            }
        }
        try Template.parse("{{name|}}").validate(knownVariables: [], maxLength: 100)
    }
}

/// Rendering: values, defaults, determinism, spintax distribution, limits.
@Suite("Template: rendering")
struct TemplateRenderingTests {
    @Test("values, defaults, and values inserted as written")
    func values() throws {
        let template = try Template.parse("Hi {{name|there}}, your code is {{code}}.")
        #expect(try template.render(values: ["name": "Ana", "code": "A1"], seed: 1) == "Hi Ana, your code is A1.")
        #expect(try template.render(values: ["code": "A1"], seed: 1) == "Hi there, your code is A1.")
        #expect(try template.render(values: ["name": "", "code": "A1"], seed: 1) == "Hi there, your code is A1.")
        #expect(try template.render(values: ["name": " \n", "code": "A1"], seed: 1) == "Hi there, your code is A1.")
        #expect(try template.render(values: ["name": "{{code}} {x|y}", "code": "\\{"], seed: 1) == "Hi {{code}} {x|y}, your code is \\{.")
        #expect(throws: TemplateError(.missingValue("code"), at: TemplatePosition(offset: 32, line: 1, column: 33),
                                      message: "{{code}} at line 1, column 33: this contact has no value for code and the variable has no default; give the contact the attribute or add a default with {{code|...}}")) {
            try template.render(values: ["name": "Ana"], seed: 1)
        }
        #expect(try Template.parse("{{Name}}").render(values: ["name": "Ana"], seed: 0) == "Ana")
        #expect(try Template.parse("Hi{{x|}}!").render(values: [:], seed: 0) == "Hi!")
    }

    @Test("the same seed renders the same text; the choices are pinned across releases")
    func determinism() throws {
        let template = try Template.parse("{Hi|Hello|Hey} {{name|there}}, {we have|there is} {a new offer|{news|an update}} {for you|today}!")
        for seed in [0, 1, 42, UInt64.max] {
            let first = try template.render(values: ["name": "Ana"], seed: seed)
            for _ in 0..<5 { #expect(try template.render(values: ["name": "Ana"], seed: seed) == first) }
        }
        // SplitMix64's reference outputs for seed 0.
        var generator = SplitMix64(seed: 0)
        #expect([generator.next(), generator.next(), generator.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        // Pinned renderings: a change here changes what a retried campaign sends.
        let pinned = (0..<4).map { try? template.render(values: ["name": "Ana"], seed: UInt64($0)) }
        #expect(pinned == Self.pinned, "\(pinned)")
    }

    static let pinned: [String?] = [
        "Hey Ana, we have a new offer today!", "Hello Ana, there is news for you!",
        "Hello Ana, there is an update for you!", "Hi Ana, there is news for you!",
    ]

    @Test("different seeds reach every alternative, uniformly per group")
    func distribution() throws {
        let template = try Template.parse("{Hi|Hello|Hey}")
        var counts: [String: Int] = [:]
        for seed in 0..<3000 { counts[try template.render(values: [:], seed: UInt64(seed)), default: 0] += 1 }
        #expect(Set(counts.keys) == ["Hi", "Hello", "Hey"])
        for (text, count) in counts { #expect((850...1150).contains(count), "\(text): \(count)") }

        // Uniform among a group's alternatives, not among the leaves: "Hi" half the time.
        let nested = try Template.parse("{Hi|{Hello|Hey} there}")
        var nestedCounts: [String: Int] = [:]
        for seed in 0..<4000 { nestedCounts[try nested.render(values: [:], seed: UInt64(seed)), default: 0] += 1 }
        #expect(Set(nestedCounts.keys) == ["Hi", "Hello there", "Hey there"])
        #expect((1800...2200).contains(nestedCounts["Hi"] ?? 0), "\(nestedCounts)")
        #expect((850...1150).contains(nestedCounts["Hello there"] ?? 0), "\(nestedCounts)")

        // Every one of the 24 variants appears.
        let many = try Template.parse("{a|b|c|d}{1|2|3}{x|y}")
        #expect(many.variantCount == 24)
        let seen = Set(try (0..<2000).map { try many.render(values: [:], seed: UInt64($0)) })
        #expect(seen.count == 24)
    }

    @Test("variables inside spintax, escapes in the output")
    func variablesInSpintax() throws {
        let template = try Template.parse(#"{Hi {{name}}|Hello {{name|friend}}} \{ok\}"#)
        let texts = Set(try (0..<100).map { try template.render(values: ["name": "Ana"], seed: UInt64($0)) })
        #expect(texts == ["Hi Ana {ok}", "Hello Ana {ok}"])
        // Without a value only the alternative with a default can render.
        var outcomes: [String] = []
        for seed in 0..<100 {
            do { outcomes.append(try template.render(values: [:], seed: UInt64(seed))) } catch { outcomes.append(error.kind.code) }
        }
        #expect(Set(outcomes) == ["Hello friend {ok}", "missing_value"])
    }

    @Test("the rendered text is held to the limit, in UTF-16 code units, and must not be empty")
    func limits() throws {
        let template = try Template.parse("{{bio}}")
        #expect(try template.render(values: ["bio": String(repeating: "a", count: 4096)], seed: 0).count == 4096)
        #expect(try template.render(values: ["bio": String(repeating: "😀", count: 2048)], seed: 0).utf16.count == 4096)
        #expect(throws: TemplateError(.renderedTooLong(length: 4098, limit: 4096), at: nil,
                                      message: "the message for this contact is 4098 characters long and the limit is 4096; shorten the template or the contact's values")) {
            try template.render(values: ["bio": String(repeating: "😀", count: 2049)], seed: 0)
        }
        #expect(throws: TemplateError.self) {
            try template.render(values: ["bio": String(repeating: "a", count: 1025)], seed: 0, maxLength: TemplateLimits.mediaCaption)
        }
        do {
            _ = try Template.parse("{{x|}} ").render(values: [:], seed: 0)
            Issue.record("rendered")
        } catch {
            #expect(error.kind == .renderedEmpty)
        }
    }
}
