/// A small reading of docs/TEMPLATES.md's grammar (groups of two or more non-empty alternatives,
/// `{{name|default}}` variables on one line, `\` escapes), enough to tell the stand-in's drafts from
/// its unusable ones. This target may not link WaqtorTemplates; WaqtorDraftingTests checks drafts
/// with the real parser.
func isValidTemplate(_ text: String) -> Bool {
    var reader = TemplateReader(characters: Array(text))
    return reader.sequence(inGroup: false) && reader.index == reader.characters.count
}

private struct TemplateReader {
    let characters: [Character]
    var index = 0

    /// Reads up to a `|` or `}` ending an alternative (inside a group) or the end (outside).
    mutating func sequence(inGroup: Bool) -> Bool {
        while index < characters.count {
            switch characters[index] {
            case "\\":
                index += index + 1 < characters.count && "{}|\\".contains(characters[index + 1]) ? 2 : 1
            case "{":
                if variable() { continue }
                guard group() else { return false }
            case "}":
                return inGroup
            case "|":
                if inGroup { return true }
                index += 1
            default:
                index += 1
            }
        }
        return !inGroup
    }

    private mutating func group() -> Bool {
        index += 1
        var alternatives = 0
        while true {
            let start = index
            guard sequence(inGroup: true), index > start, index < characters.count else { return false }
            alternatives += 1
            let end = characters[index]
            index += 1
            if end == "}" { return alternatives >= 2 }
        }
    }

    /// `{{ name [| default] }}`; consumes nothing unless the whole variable is there.
    private mutating func variable() -> Bool {
        var at = index + 2
        guard at <= characters.count, characters[index + 1] == "{" else { return false }
        func skipBlanks() { while at < characters.count, characters[at] == " " || characters[at] == "\t" { at += 1 } }
        skipBlanks()
        guard at < characters.count, characters[at].isLetter || characters[at] == "_", characters[at].isASCII else { return false }
        while at < characters.count, characters[at].isASCII,
              characters[at].isLetter || characters[at].isNumber || "_.-".contains(characters[at]) { at += 1 }
        skipBlanks()
        if at < characters.count, characters[at] == "|" {
            at += 1
            while at < characters.count, !"{}|\n".contains(characters[at]) {
                at += characters[at] == "\\" ? 2 : 1
            }
        }
        guard at + 1 < characters.count, characters[at] == "}", characters[at + 1] == "}" else { return false }
        index = at + 2
        return true
    }
}
