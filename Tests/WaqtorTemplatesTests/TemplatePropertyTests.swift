import Testing
@testable import WaqtorTemplates

/// Properties over generated inputs, from a seeded generator: the same inputs on every run.
@Suite("Template: properties")
struct TemplatePropertyTests {
    /// The test's own seeded generator (not the one under test).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            // xorshift64*
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    /// The line and column of a UTF-16 offset, counted independently of the parser.
    static func lineAndColumn(_ source: String, offset: Int) -> (Int, Int) {
        let prefix = String(decoding: Array(source.utf16.prefix(offset)), as: UTF16.self)
        let lines = prefix.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.count, (lines.last?.count ?? 0) + 1)
    }

    static func checkFailure(_ error: TemplateError, in source: String) {
        guard let position = error.position else {
            Issue.record("a parse error without a position: \(error) in \(source.debugDescription)")
            return
        }
        #expect(position.offset >= 0 && position.offset < source.utf16.count, "\(error) in \(source.debugDescription)")
        let (line, column) = lineAndColumn(source, offset: position.offset)
        #expect(position.line == line && position.column == column, "\(position) vs \(line):\(column) in \(source.debugDescription)")
        #expect(error.message.contains("at \(position):"), "\(error.message)")
    }

    @Test("arbitrary strings of { } | \\ space and a-z: parse succeeds or fails at a position inside the input")
    func fuzzSyntax() {
        var generator = Generator(state: 0x5EED_0001)
        let alphabet: [Character] = ["{", "}", "|", "\\", " "] + "abcdefghijklmnopqrstuvwxyz".map { $0 }
        var parsed = 0
        var failed: [String: Int] = [:]
        for _ in 0..<5000 {
            let length = generator.below(24)
            // Favour the syntax characters so that most strings are near-misses of the grammar.
            let source = String((0..<length).map { _ in generator.below(3) == 0 ? generator.pick(alphabet) : generator.pick(Array(alphabet.prefix(5)) + ["a", "b"]) })
            do {
                let template = try Template.parse(source)
                parsed += 1
                for variable in template.occurrences {
                    #expect(source.utf16.dropFirst(variable.position.offset).starts(with: "{{".utf16))
                }
                for seed in 0..<3 {
                    do {
                        _ = try template.render(values: ["a": "x"], seed: UInt64(seed))
                    } catch {
                        #expect(["missing_value", "rendered_empty"].contains(error.kind.code), "\(error)")
                    }
                }
            } catch {
                failed[error.kind.code, default: 0] += 1
                Self.checkFailure(error, in: source)
            }
        }
        // The generator reaches both outcomes and most error kinds.
        #expect(parsed > 500, "\(parsed) parsed")
        #expect(failed.keys.count >= 7, "\(failed)")
    }

    @Test("arbitrary strings with lines, accents, emoji and variables: positions agree with an independent count")
    func fuzzPositions() {
        var generator = Generator(state: 0x5EED_0002)
        let pieces = ["{", "}", "|", "\\", "{{", "}}", "{{x}}", "{{ y|d }}", "\n", "é", "e\u{301}", "😀", "👍🏽", "a", " ", "{a|b}"]
        for _ in 0..<3000 {
            let source = (0..<generator.below(16)).map { _ in generator.pick(pieces) }.joined()
            do {
                let template = try Template.parse(source)
                for variable in template.occurrences {
                    let (line, column) = Self.lineAndColumn(source, offset: variable.position.offset)
                    #expect(variable.position.line == line && variable.position.column == column, "\(variable) in \(source.debugDescription)")
                    #expect(source.utf16.dropFirst(variable.position.offset).starts(with: variable.written.utf16))
                }
            } catch {
                Self.checkFailure(error, in: source)
            }
        }
    }

    // MARK: Generated valid templates

    /// A template built as a tree, written out with escapes, must parse back to the same tree.
    indirect enum Shape: Equatable {
        case text(String)
        case variable(String, String?)
        case group([[Shape]])

        var source: String {
            switch self {
            case .text(let text):
                text.reduce(into: "") { out, c in
                    if "{}|\\".contains(c) { out.append("\\") }
                    out.append(c)
                }
            case .variable(let name, nil): "{{\(name)}}"
            case .variable(let name, let value?): "{{ \(name) | \(Shape.text(value).source) }}"
            case .group(let alternatives): "{" + alternatives.map { $0.map(\.source).joined() }.joined(separator: "|") + "}"
            }
        }
    }

    static func shapes(_ nodes: [TemplateNode]) -> [Shape] {
        nodes.map {
            switch $0 {
            case .text(let text): .text(text)
            case .variable(let variable): .variable(variable.name, variable.defaultValue)
            case .spintax(let alternatives): .group(alternatives.map(shapes))
            }
        }
    }

    /// Adjacent text pieces merge when parsed; so does the generator's output, for comparison.
    static func merged(_ shapes: [Shape]) -> [Shape] {
        var out: [Shape] = []
        for shape in shapes {
            switch (out.last, shape) {
            case (.text(let a)?, .text(let b)): out[out.count - 1] = .text(a + b)
            case (_, .group(let alternatives)): out.append(.group(alternatives.map(merged)))
            default: out.append(shape)
            }
        }
        return out
    }

    static func sequence(_ g: inout Generator, depth: Int) -> [Shape] {
        (0..<(1 + g.below(3))).map { _ in
            switch g.below(depth < 3 ? 4 : 2) {
            case 0: .text(g.pick(["Hi ", "a|b", "{x}", "\\", "é 😀", ", ", "\n", "}{"]))
            case 1: .variable(g.pick(["name", "city", "order.id", "_x-1"]), g.pick([nil, "", "there", "a}b|c{"]))
            default: .group((0..<(2 + g.below(2))).map { _ in sequence(&g, depth: depth + 1) })
            }
        }
    }

    /// The count the parser should report, saturating at Int.max like it.
    static func variants(_ shapes: [Shape]) -> Int {
        shapes.reduce(1) { product, shape in
            guard case .group(let alternatives) = shape else { return product }
            let sum = alternatives.map(variants).reduce(0) { a, b in
                let (s, overflow) = a.addingReportingOverflow(b)
                return overflow ? .max : s
            }
            let (p, overflow) = product.multipliedReportingOverflow(by: sum)
            return overflow ? .max : p
        }
    }

    @Test("a generated template written out with escapes parses back to the same tree; same seed, same text")
    func roundTrip() throws {
        var generator = Generator(state: 0x5EED_0003)
        let values = ["name": "Ana", "city": "Lisbon", "order.id": "A-1", "_x-1": "{{raw}}"]
        for _ in 0..<1000 {
            let shape = Self.sequence(&generator, depth: 0)
            let source = shape.map(\.source).joined()
            let template = try Template.parse(source)
            #expect(Self.shapes(template.nodes) == Self.merged(shape), "\(source.debugDescription)")
            #expect(template.variantCount == Self.variants(shape))
            let seed = generator.next()
            do {
                let text = try template.render(values: values, seed: seed, maxLength: .max)
                #expect(try template.render(values: values, seed: seed, maxLength: .max) == text)
                #expect(text.utf16.count >= template.lengthBounds.shortest)
            } catch {
                #expect(error.kind == .renderedEmpty, "\(error)")
            }
        }
    }
}
