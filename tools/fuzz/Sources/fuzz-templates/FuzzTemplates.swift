// The campaign template grammar: `Template.parse`, its bounds and `render` (docs/TEMPLATES.md).
//
// Input: bytes 0-7 are the rendering seed; the rest, as UTF-8 (invalid bytes replaced), is the
// template.
//
// Checked, for whatever parses:
// - the documented limits: the source is at most 64 KiB, names are `[a-z_][a-z0-9_.-]*` (lowercased)
//   and at most 64 characters, groups nest at most 16 deep, a group has at least two alternatives
//   and none is empty, the variant count is at least 1, shortest <= longest with defaults;
// - printed back in the grammar (text escaped, `{{name|default}}`, `{alt|alt}`), the template
//   parses again to the same nodes (positions aside), the same variant count and the same bounds;
// - rendering with every variable given is deterministic for a seed, at least `shortest` long,
//   and with every variable at its default (when all have one) at most `longestWithDefaults`.
import FuzzSupport
import WaqtorTemplates

/// Escapes by Unicode scalar: a brace followed by a combining mark is one Character ("{ۖ") but
/// still a brace to the parser.
func escaped(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        if scalar == "{" || scalar == "}" || scalar == "|" || scalar == "\\" { out.append("\\") }
        out.append(scalar)
    }
    return String(out)
}

func printed(_ nodes: [TemplateNode]) -> String {
    nodes.map { node in
        switch node {
        case .text(let text): escaped(text)
        case .variable(let variable): "{{" + variable.name + (variable.defaultValue.map { "|" + escaped($0) } ?? "") + "}}"
        case .spintax(let alternatives): "{" + alternatives.map(printed).joined(separator: "|") + "}"
        }
    }.joined()
}

/// The nodes without positions, adjacent texts merged: what a printed template must give back.
indirect enum Shape: Equatable {
    case text(String)
    case variable(String, String?)
    case group([[Shape]])
}

func shape(_ nodes: [TemplateNode]) -> [Shape] {
    var out: [Shape] = []
    for node in nodes {
        switch node {
        case .text(let text):
            if case .text(let previous)? = out.last { out[out.count - 1] = .text(previous + text) } else if !text.isEmpty { out.append(.text(text)) }
        case .variable(let variable): out.append(.variable(variable.name, variable.defaultValue))
        case .spintax(let alternatives): out.append(.group(alternatives.map(shape)))
        }
    }
    return out
}

func checkLimits(_ nodes: [TemplateNode], depth: Int) {
    for node in nodes {
        switch node {
        case .text: break
        case .variable(let variable):
            let name = Array(variable.name.utf8)
            precondition(!name.isEmpty && name.count <= TemplateLimits.maxVariableNameLength, "variable name \(variable.name.debugDescription)")
            precondition(name[0] == UInt8(ascii: "_") || (name[0] >= UInt8(ascii: "a") && name[0] <= UInt8(ascii: "z")), "variable name \(variable.name.debugDescription)")
            precondition(name.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") },
                         "variable name \(variable.name.debugDescription)")
        case .spintax(let alternatives):
            precondition(depth + 1 <= TemplateLimits.maxNestingDepth, "a group at depth \(depth + 1)")
            precondition(alternatives.count >= 2 && alternatives.allSatisfy { !$0.isEmpty }, "a group of \(alternatives.count) alternatives, or an empty one")
            for alternative in alternatives { checkLimits(alternative, depth: depth + 1) }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTemplates(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 8 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let seed = input[..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    let source = String(decoding: input[8...], as: UTF8.self)
    guard let template = try? Template.parse(source) else { return 0 }

    precondition(source.utf8.count <= TemplateLimits.maxSourceBytes, "parsed a source of \(source.utf8.count) bytes")
    checkLimits(template.nodes, depth: 0)
    precondition(template.variantCount >= 1, "variant count \(template.variantCount)")
    let bounds = template.lengthBounds
    precondition(0 <= bounds.shortest && bounds.shortest <= bounds.longestWithDefaults, "bounds \(bounds)")
    for variable in template.occurrences {
        precondition(source.utf16.count > variable.position.offset, "a variable at \(variable.position) past the end")
    }

    let text = printed(template.nodes)
    let again: Template
    do { again = try Template.parse(text) } catch {
        preconditionFailure("\(source.debugDescription) printed as \(text.debugDescription) does not parse: \(error)")
    }
    precondition(shape(again.nodes) == shape(template.nodes), "\(source.debugDescription) printed as \(text.debugDescription) parses to other nodes")
    precondition(again.variantCount == template.variantCount && again.lengthBounds == bounds, "\(text.debugDescription): other counts or bounds")

    var values: [String: String] = [:]
    for name in template.variableNames { values[name] = "v" }
    let first = try? template.render(values: values, seed: seed, maxLength: Int.max)
    let second = try? template.render(values: values, seed: seed, maxLength: Int.max)
    precondition(first == second, "two renderings with the same seed differ")
    if let first { precondition(first.utf16.count >= bounds.shortest, "a rendering shorter than the shortest bound") }
    if template.occurrences.allSatisfy({ $0.defaultValue != nil }),
       let defaults = try? template.render(values: [:], seed: seed, maxLength: Int.max) {
        precondition(defaults.utf16.count <= bounds.longestWithDefaults && defaults.utf16.count >= bounds.shortest,
                     "a rendering with defaults of \(defaults.utf16.count) outside \(bounds)")
    }
    return 0
}

// libFuzzer's driver, from the `main` SwiftPM gives this executable (FuzzSupport).
@_cdecl("fuzz_templates_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, { fuzzTemplates($0, $1) })
}
