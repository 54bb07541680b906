/// The one parser of the template grammar (docs/TEMPLATES.md). It reads the UTF-8 bytes: every
/// syntax character is ASCII, so a multi-byte character is never mistaken for one and text is
/// only ever cut at ASCII bytes.
struct TemplateParser {
    private let bytes: [UInt8]
    private var index = 0
    private var tracker = PositionTracker()
    private(set) var occurrences: [TemplateVariable] = []
    /// Set when `parseVariable` fails on text shaped like a group rather than a broken variable:
    /// a `{` before the name ends, or a single `}` after a `|`. Both readings failed then; the
    /// group's error is the one reported.
    private var variableFailureSuggestsGroup = false

    private static let openBrace = UInt8(ascii: "{")
    private static let closeBrace = UInt8(ascii: "}")
    private static let bar = UInt8(ascii: "|")
    private static let backslash = UInt8(ascii: "\\")
    private static let newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")

    init(_ text: String) throws(TemplateError) {
        let size = text.utf8.count
        guard size <= TemplateLimits.maxSourceBytes else {
            // Point at the first character past the limit (at a character's first byte).
            var limit = Array(text.utf8.prefix(TemplateLimits.maxSourceBytes + 4))
            var cut = TemplateLimits.maxSourceBytes
            while cut > 0, limit[cut] & 0xC0 == 0x80 { cut -= 1 }
            limit.removeSubrange(cut...)
            var tracker = PositionTracker()
            let position = tracker.advance(in: limit, to: cut)
            throw TemplateError(
                .templateTooLong(bytes: size, limit: TemplateLimits.maxSourceBytes), at: position,
                message: "the template is too long to read: \(size) bytes of text, the limit is \(TemplateLimits.maxSourceBytes) (it is passed at \(position)); shorten it")
        }
        bytes = Array(text.utf8)
    }

    /// The whole template: a sequence up to the end. A `}` that stops it closes nothing.
    mutating func parseTemplate() throws(TemplateError) -> [TemplateNode] {
        let nodes = try parseSequence(depth: 0)
        if index < bytes.count {
            // parseSequence stops at the top level only at a `}`.
            throw error(.strayClosingBrace, at: index, what: "}",
                        "this } closes nothing; remove it, or write \\} for a literal brace")
        }
        return nodes
    }

    /// Text, variables and groups up to the end, a `}`, or (inside a group, `depth > 0`) a `|`.
    /// Outside any group a `|` is literal text.
    private mutating func parseSequence(depth: Int) throws(TemplateError) -> [TemplateNode] {
        var nodes: [TemplateNode] = []
        var text: [UInt8] = []
        func flush() {
            if !text.isEmpty {
                nodes.append(.text(String(decoding: text, as: UTF8.self)))
                text.removeAll(keepingCapacity: true)
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case Self.backslash:
                if index + 1 < bytes.count, Self.isEscapable(bytes[index + 1]) {
                    text.append(bytes[index + 1])
                    index += 2
                } else {
                    text.append(byte)
                    index += 1
                }
            case Self.openBrace:
                flush()
                // `{{` opens a variable when one follows; otherwise its first `{` opens a group: a
                // run of braces (`{{{name}}|friend}`) or an alternative that starts with a group
                // (`{{Hi|Hello} there|Hey}`). No text is both (see `parseVariable`).
                if index + 1 < bytes.count, bytes[index + 1] == Self.openBrace {
                    let start = index
                    do {
                        nodes.append(.variable(try parseVariable()))
                    } catch let variableError {
                        let reportGroupError = variableFailureSuggestsGroup
                        index = start
                        do {
                            nodes.append(try parseGroup(depth: depth))
                        } catch let groupError {
                            throw reportGroupError ? groupError : variableError
                        }
                    }
                } else {
                    nodes.append(try parseGroup(depth: depth))
                }
            case Self.bar where depth > 0, Self.closeBrace:
                flush()
                return nodes
            default:
                text.append(byte)
                index += 1
            }
        }
        flush()
        return nodes
    }

    /// `{` alternative (`|` alternative)+ `}`, at `index` on the `{`; `depth` groups enclose it.
    private mutating func parseGroup(depth: Int) throws(TemplateError) -> TemplateNode {
        let start = index
        guard depth < TemplateLimits.maxNestingDepth else {
            throw error(.nestingTooDeep(limit: TemplateLimits.maxNestingDepth), at: start, what: "{",
                        "spintax is nested more than \(TemplateLimits.maxNestingDepth) groups deep; flatten it, or write \\{ for a literal brace")
        }
        index += 1
        var alternatives: [[TemplateNode]] = []
        while true {
            let alternative = try parseSequence(depth: depth + 1)
            guard index < bytes.count else {
                throw error(.unclosedSpintax, at: start, what: "{",
                            "this spintax group is never closed; close it with }, or write \\{ for a literal brace")
            }
            let end = bytes[index]  // `|` or `}`
            if alternative.isEmpty {
                if end == Self.closeBrace && alternatives.isEmpty {
                    throw error(.emptyAlternative, at: start, what: "{}",
                                "an empty spintax group; write alternatives inside it ({Hi|Hello}), or write \\{\\} for literal braces")
                }
                throw error(.emptyAlternative, at: index, what: end == Self.bar ? "|" : "}",
                            "an empty alternative in a spintax group; write text between the bars or remove the extra |, or write \\| for a literal bar")
            }
            alternatives.append(alternative)
            index += 1
            if end == Self.closeBrace { break }
        }
        if alternatives.count == 1 {
            let hint = start > 0 && bytes[start - 1] == Self.openBrace ? "; a variable is written {{name}}" : ""
            throw error(.singleAlternative, at: start, what: snippet(from: start, to: index),
                        "a spintax group needs at least two alternatives separated by | ({Hi|Hello}); for literal braces write \\{ and \\}\(hint)")
        }
        return .spintax(alternatives)
    }

    /// `{{` name (`|` default)? `}}`, at `index` on the first `{`. A variable stays on one line.
    /// It cannot contain an unescaped `{` or a single `}`, and a valid group starting `{{` must
    /// contain one of them (its inner group's closing `}` is single, or the outer group would have
    /// one alternative), so a text is never both a valid variable and a valid group.
    private mutating func parseVariable() throws(TemplateError) -> TemplateVariable {
        let start = index
        variableFailureSuggestsGroup = false
        index += 2
        let nameStart = index
        while index < bytes.count, !Self.endsName(bytes[index]) { index += 1 }
        let name = Self.trimmed(bytes[nameStart..<index])
        guard index < bytes.count, bytes[index] == Self.bar || bytes[index] == Self.closeBrace else {
            variableFailureSuggestsGroup = index < bytes.count && bytes[index] == Self.openBrace
            throw error(.unclosedVariable, at: start, what: snippet(from: start, to: index),
                        "this variable is never closed; close it with }} on the same line, or write \\{ for a literal brace")
        }
        if name.isEmpty {
            index = endOfVariable(from: index)
            throw error(.emptyVariableName, at: start, what: snippet(from: start, to: index),
                        "a variable needs a name, e.g. {{name}}; write \\{ for a literal brace")
        }
        if let problem = Self.nameProblem(name) {
            let shown = String(decoding: name, as: UTF8.self)
            index = endOfVariable(from: index)
            throw error(.badVariableName(shown), at: start, what: snippet(from: start, to: index),
                        "\(shown) is not a variable name (\(problem)); names start with a letter or _ and continue with letters, digits, _ . or -, at most \(TemplateLimits.maxVariableNameLength) characters")
        }
        var defaultValue: String? = nil
        if bytes[index] == Self.bar {
            index += 1
            var value: [UInt8] = []
            while true {
                guard index < bytes.count, bytes[index] != Self.newline, bytes[index] != Self.carriageReturn else {
                    throw error(.unclosedVariable, at: start, what: snippet(from: start, to: index),
                                "this variable is never closed; close it with }} on the same line")
                }
                let byte = bytes[index]
                if byte == Self.backslash, index + 1 < bytes.count, Self.isEscapable(bytes[index + 1]) {
                    value.append(bytes[index + 1])
                    index += 2
                } else if byte == Self.closeBrace {
                    guard index + 1 < bytes.count, bytes[index + 1] == Self.closeBrace else {
                        variableFailureSuggestsGroup = true
                        throw error(.unclosedVariable, at: start, what: snippet(from: start, to: index + 1),
                                    "a variable ends with }}; close it with }}, or write \\} for a brace in its default")
                    }
                    break
                } else if byte == Self.openBrace || byte == Self.bar {
                    let shown = byte == Self.bar ? "|" : "{"
                    throw error(.badDefault, at: index, what: shown,
                                "a default is plain text (no variables or spintax); write \\\(shown) for a literal \(shown == "|" ? "bar" : "brace")")
                } else {
                    value.append(byte)
                    index += 1
                }
            }
            defaultValue = String(decoding: Self.trimmed(value[...]), as: UTF8.self)
        } else if !(index + 1 < bytes.count && bytes[index + 1] == Self.closeBrace) {
            throw error(.unclosedVariable, at: start, what: snippet(from: start, to: index + 1),
                        "a variable ends with }}; add the second }")
        }
        index += 2
        let variable = TemplateVariable(
            name: String(decoding: name, as: UTF8.self).lowercased(), defaultValue: defaultValue,
            position: tracker.advance(in: bytes, to: start),
            written: String(decoding: bytes[start..<index], as: UTF8.self))
        occurrences.append(variable)
        return variable
    }

    // MARK: Helpers

    private static func isEscapable(_ byte: UInt8) -> Bool {
        byte == openBrace || byte == closeBrace || byte == bar || byte == backslash
    }

    private static func endsName(_ byte: UInt8) -> Bool {
        byte == bar || byte == closeBrace || byte == openBrace || byte == newline || byte == carriageReturn
    }

    private static func trimmed(_ slice: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = slice
        while let first = slice.first, first == space || first == tab { slice.removeFirst() }
        while let last = slice.last, last == space || last == tab { slice.removeLast() }
        return slice
    }

    /// Why `name` is not a variable name, or nil when it is one.
    private static func nameProblem(_ name: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: name, as: UTF8.self)
        if text.count > TemplateLimits.maxVariableNameLength {
            return "it is \(text.count) characters long"
        }
        for (i, character) in text.enumerated() {
            let allowed = character.isASCII && (character.isLetter || character == "_"
                || (i > 0 && (character.isNumber || character == "." || character == "-")))
            if !allowed {
                if character == " " || character == "\t" { return "it contains a space" }
                return i == 0 ? "it starts with \(character)" : "it contains \(character)"
            }
        }
        return nil
    }

    /// Where a variable with a bad name ends, for the snippet: after its `}}` on this line, or here.
    private func endOfVariable(from start: Int) -> Int {
        var i = start
        while i + 1 < bytes.count, bytes[i] != Self.newline {
            if bytes[i] == Self.closeBrace && bytes[i + 1] == Self.closeBrace { return i + 2 }
            i += 1
        }
        return start + 1 <= bytes.count ? start + 1 : start
    }

    /// The source from `start` to `end` for a message, at most 40 characters.
    private func snippet(from start: Int, to end: Int) -> String {
        let text = String(decoding: bytes[start..<min(max(end, start), bytes.count)], as: UTF8.self)
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }

    private func error(_ kind: TemplateError.Kind, at byteIndex: Int, what: String, _ reason: String) -> TemplateError {
        var fresh = PositionTracker()
        let position = fresh.advance(in: bytes, to: byteIndex)
        return TemplateError(kind, at: position, message: "\(what) at \(position): \(reason)")
    }
}

/// Turns byte indices into positions, moving forward only: each call counts from the previous one,
/// so the positions of every variable cost one pass over the source.
struct PositionTracker {
    private var byte = 0
    private var utf16 = 0
    private var line = 1
    private var columnByte = 0
    private var column = 1

    mutating func advance(in bytes: [UInt8], to target: Int) -> TemplatePosition {
        precondition(target >= byte, "positions are asked in order")
        var lastNewline: Int? = nil
        var k = byte
        while k < target {
            let b = bytes[k]
            if b == 0x0A {
                line += 1
                lastNewline = k
            }
            // UTF-16 units per UTF-8 byte: continuation bytes 0, 4-byte leads 2, others 1.
            if b & 0xC0 != 0x80 { utf16 += b >= 0xF0 ? 2 : 1 }
            k += 1
        }
        if let lastNewline {
            columnByte = lastNewline + 1
            column = 1
        }
        if columnByte < target {
            column += String(decoding: bytes[columnByte..<target], as: UTF8.self).count
        }
        columnByte = target
        byte = target
        return TemplatePosition(offset: utf16, line: line, column: column)
    }
}
