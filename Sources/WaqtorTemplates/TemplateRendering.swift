extension Template {
    /// Checks the template for a campaign (at create, update and start): every variable is one of
    /// `knownVariables` (compared case-insensitively) or has a default, the template is not empty,
    /// and its shortest possible rendering (`lengthBounds.shortest`) is within `maxLength` UTF-16
    /// code units. The longest rendering depends on the contacts' values, so it is not checked here:
    /// the preview shows `lengthBounds.longestWithDefaults`, and `render` enforces the limit on each
    /// real text. Errors come in reading order (the first unknown variable), then the length.
    public func validate(knownVariables: Set<String>, maxLength: Int) throws(TemplateError) {
        let known = Set(knownVariables.map { $0.lowercased() })
        for variable in occurrences where variable.defaultValue == nil && !known.contains(variable.name) {
            let name = variable.name
            throw TemplateError(
                .unknownVariable(name), at: variable.position,
                message: "\(variable.written) at \(variable.position): no contact has the attribute \(name) and it has no default; add a default with {{\(name)|...}} or add the attribute")
        }
        if occurrences.isEmpty && !nodes.contains(where: Self.hasVisibleText) {
            throw TemplateError(.emptyTemplate, at: nil, message: "the message is empty; write the text to send")
        }
        let shortest = lengthBounds.shortest
        if shortest > maxLength {
            throw TemplateError(
                .tooLong(shortest: shortest, limit: maxLength), at: nil,
                message: "the message is too long: even its shortest form is \(shortest) characters, before any contact's values, and the limit is \(maxLength); shorten the text or its longest spintax alternatives")
        }
    }

    /// The text for one contact. `values` maps lowercase variable names to the contact's values
    /// (inserted as written, never parsed: a value with braces stays as it is). A missing value, an
    /// empty one or one of only whitespace takes the variable's default; without a default the
    /// rendering fails naming the variable. Spintax choices come from `seed` alone (SplitMix64, one
    /// draw per group reached, in reading order, uniform among the alternatives): the same template,
    /// values and seed give the same text on every run and machine. The text must be at most
    /// `maxLength` UTF-16 code units and not empty or only whitespace.
    public func render(values: [String: String], seed: UInt64, maxLength: Int = TemplateLimits.textBody) throws(TemplateError) -> String {
        var generator = SplitMix64(seed: seed)
        var text = ""
        text.reserveCapacity(source.utf8.count + 64)
        try Self.render(nodes, into: &text, values: values, generator: &generator)
        let length = text.utf16.count
        if length > maxLength {
            throw TemplateError(
                .renderedTooLong(length: length, limit: maxLength), at: nil,
                message: "the message for this contact is \(length) characters long and the limit is \(maxLength); shorten the template or the contact's values")
        }
        if text.allSatisfy(\.isWhitespace) {
            throw TemplateError(.renderedEmpty, at: nil, message: "the message for this contact is empty; give the template text outside its variables, or the variables defaults")
        }
        return text
    }

    private static func render(_ nodes: [TemplateNode], into text: inout String, values: [String: String], generator: inout SplitMix64) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let literal):
                text += literal
            case .variable(let variable):
                if let value = values[variable.name], !value.allSatisfy(\.isWhitespace) {
                    text += value
                } else if let defaultValue = variable.defaultValue {
                    text += defaultValue
                } else {
                    let name = variable.name
                    throw TemplateError(
                        .missingValue(name), at: variable.position,
                        message: "\(variable.written) at \(variable.position): this contact has no value for \(name) and the variable has no default; give the contact the attribute or add a default with {{\(name)|...}}")
                }
            case .spintax(let alternatives):
                let chosen = generator.next(below: alternatives.count)
                try render(alternatives[chosen], into: &text, values: values, generator: &generator)
            }
        }
    }

    private static func hasVisibleText(_ node: TemplateNode) -> Bool {
        switch node {
        case .text(let text): !text.allSatisfy(\.isWhitespace)
        case .variable: true
        case .spintax: true  // every alternative is non-empty
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state, one addition and a mix per number.
/// Written here rather than taken from the standard library, whose algorithms for random numbers
/// in a range may change between releases: a campaign's retry must render the text it rendered.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` without modulo bias (Lemire's multiply-and-reject).
    mutating func next(below bound: Int) -> Int {
        precondition(bound > 0)
        let bound = UInt64(bound)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return Int(product.high)
    }
}
