import WaqtorCore

/// A campaign message template, parsed once: literal text, variables with optional defaults
/// (`{{name}}`, `{{name|there}}`) and spintax (`{Hi|Hello|Hey}`, nestable). A pure value: it
/// renders the same text for the same values and seed on every machine and every run.
/// docs/TEMPLATES.md is the grammar and the contract; this type is its only parser.
///
///     let template = try Template.parse("{Hi|Hello} {{name|there}}, your order {{order.id}} is ready")
///     try template.validate(knownVariables: ["name", "phone_number", "order.id"], maxLength: TemplateLimits.textBody)
///     let text = try template.render(values: ["name": "Ana", "order.id": "A-17"], seed: 42)
public struct Template: Sendable, Hashable, CustomStringConvertible {
    /// The text the template was parsed from, as written.
    public let source: String
    /// The parsed template: a sequence of text, variables and spintax groups.
    public let nodes: [TemplateNode]
    /// Every variable use, in the order they are written (a name used twice appears twice, each
    /// with its own default and position).
    public let occurrences: [TemplateVariable]

    /// Parses `text`, or throws the first error in reading order, with its position and a message a
    /// person can act on. Inputs over `TemplateLimits.maxSourceBytes` bytes of UTF-8 are refused
    /// before parsing.
    public static func parse(_ text: String) throws(TemplateError) -> Template {
        var parser = try TemplateParser(text)
        let nodes = try parser.parseTemplate()
        return Template(source: text, nodes: nodes, occurrences: parser.occurrences)
    }

    /// The variables, each name once at its first use (with that use's default and position).
    public var variables: [TemplateVariable] {
        var seen = Set<String>()
        return occurrences.filter { seen.insert($0.name).inserted }
    }

    /// The names of the variables used, normalised to lowercase.
    public var variableNames: Set<String> { Set(occurrences.map(\.name)) }

    /// How many different ways the spintax groups can be chosen: the product over a sequence, the
    /// sum over a group's alternatives. Saturates at `Int.max`. Counts choices, not distinct texts
    /// (`{a|a}` counts 2). A template without spintax has 1.
    public var variantCount: Int { Self.variantCount(nodes) }

    /// Length bounds of the renderings, in UTF-16 code units (the unit of `TemplateLimits`).
    public var lengthBounds: TemplateLengthBounds {
        TemplateLengthBounds(shortest: Self.shortest(nodes), longestWithDefaults: Self.longest(nodes))
    }

    public var description: String { source }

    /// The seed a campaign passes to `render` for one contact, from a digest: the first 8 bytes,
    /// big-endian. The campaign hashes `"<campaign id>:<contact id>"` with SHA-256 (docs/TEMPLATES.md,
    /// "Determinism"), so a retry renders the same text. Bytes missing from a short digest count as 0.
    public static func seed(digest: some Sequence<UInt8>) -> UInt64 {
        var seed: UInt64 = 0
        var count = 0
        for byte in digest.prefix(8) {
            seed = seed << 8 | UInt64(byte)
            count += 1
        }
        return count == 8 ? seed : seed << (8 * UInt64(8 - count))
    }
}

/// One piece of a parsed template.
public enum TemplateNode: Sendable, Hashable {
    /// Literal text, escapes already resolved.
    case text(String)
    /// A variable: the contact's value, or the default, at render time.
    case variable(TemplateVariable)
    /// A spintax group: one alternative is chosen per rendering. Each alternative is itself a
    /// sequence of nodes; a group always has at least two, none empty.
    case spintax([[TemplateNode]])
}

/// One use of a variable in a template.
public struct TemplateVariable: Sendable, Hashable {
    /// The name, lowercased (names are case-insensitive: `{{City}}` and `{{city}}` are the same).
    public let name: String
    /// The default written after `|`, spaces around it trimmed; `nil` without `|`. May be empty
    /// (`{{name|}}`): the variable renders as nothing when the contact has no value.
    public let defaultValue: String?
    /// Where the use starts (its `{{`).
    public let position: TemplatePosition
    /// The use as written, from `{{` to `}}`.
    public let written: String

    public init(name: String, defaultValue: String?, position: TemplatePosition, written: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.position = position
        self.written = written
    }
}

/// A place in a template's source.
public struct TemplatePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// From the start, 0-based, in UTF-16 code units: the unit of JavaScript string indices, so an
    /// editor can select it directly, and the unit of the length limits.
    public let offset: Int
    /// 1-based; lines end at `\n`.
    public let line: Int
    /// 1-based, in characters (grapheme clusters, what a person counts) from the start of the line.
    public let column: Int

    public init(offset: Int, line: Int, column: Int) {
        self.offset = offset
        self.line = line
        self.column = column
    }

    public static func < (a: TemplatePosition, b: TemplatePosition) -> Bool { a.offset < b.offset }

    public var description: String { "line \(line), column \(column)" }
}

/// The bounds `validate` and the preview read, in UTF-16 code units.
public struct TemplateLengthBounds: Sendable, Hashable {
    /// The shortest rendering possible: the shortest alternative of every group, every variable
    /// counted as empty. Every rendering is at least this long, whatever the contact's values.
    public let shortest: Int
    /// The longest rendering with every variable at its default (empty without one): the longest
    /// alternative of every group. Not an upper bound (a contact's value can be longer than the
    /// default); the preview warns with it, `render` enforces the limit on the real text.
    public let longestWithDefaults: Int
}

/// The limits of the grammar and of WhatsApp, as constants. Lengths are UTF-16 code units
/// (docs/TEMPLATES.md, "Limits").
public enum TemplateLimits {
    /// WhatsApp's limit on a text message's body: 4096 characters.
    public static let textBody = 4096
    /// WhatsApp's limit on a media message's caption (image, video, document): 1024 characters.
    public static let mediaCaption = 1024
    /// Spintax groups nest at most this deep (`{a|{b|c}}` is depth 2).
    public static let maxNestingDepth = 16
    /// The longest source `parse` reads, in bytes of UTF-8 (64 KiB).
    public static let maxSourceBytes = 65_536
    /// The longest variable name, in characters.
    public static let maxVariableNameLength = 64
}

// MARK: - Bounds and counts

extension Template {
    static func variantCount(_ nodes: [TemplateNode]) -> Int {
        var product = 1
        for case .spintax(let alternatives) in nodes {
            var sum = 0
            for alternative in alternatives {
                let (s, overflow) = sum.addingReportingOverflow(variantCount(alternative))
                sum = overflow ? Int.max : s
            }
            let (p, overflow) = product.multipliedReportingOverflow(by: sum)
            product = overflow ? Int.max : p
        }
        return product
    }

    static func shortest(_ nodes: [TemplateNode]) -> Int {
        var total = 0
        for node in nodes {
            switch node {
            case .text(let text): total += text.utf16.count
            case .variable: break
            case .spintax(let alternatives): total += alternatives.map(shortest).min() ?? 0
            }
        }
        return total
    }

    static func longest(_ nodes: [TemplateNode]) -> Int {
        var total = 0
        for node in nodes {
            switch node {
            case .text(let text): total += text.utf16.count
            case .variable(let variable): total += variable.defaultValue?.utf16.count ?? 0
            case .spintax(let alternatives): total += alternatives.map(longest).max() ?? 0
            }
        }
        return total
    }
}
