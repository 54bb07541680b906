/// Builds the drafts a model would return for a ``DraftPrompt``: deterministic (the same prompt
/// always gives the same content, so tests can assert on it) and always valid in our template
/// grammar (docs/TEMPLATES.md), so a client that rejects a draft has a bug, not bad luck.
enum DraftWriter {
    /// The most characters of the description a draft repeats.
    static let summaryLength = 200

    /// The completion's content: `{"drafts":[{"text":…},…]}` as a JSON text, which matches the
    /// `json_schema` our drafting module sends whether or not the request asked for one.
    static func content(for prompt: DraftPrompt) -> String {
        contentJSON(drafts(for: prompt))
    }

    static func contentJSON(_ texts: [String]) -> String {
        JSONText.object([("drafts", .array(texts.map { .object([("text", .string($0))]) }))]).text
    }

    /// `prompt.count` drafts: greeting spintax, the name variable, the summary, a closing line.
    /// Closings cycle every three drafts; from the fourth on a lead-in before the summary keeps
    /// every draft different (a client may drop duplicates).
    static func drafts(for prompt: DraftPrompt) -> [String] {
        let phrases = DraftPhrases.forLanguage(prompt.primaryLanguage)
        let summary = self.summary(prompt.description)
        return (0..<prompt.count).map { index in
            var text = "\(phrases.greeting) {{name|\(phrases.nameDefault)}}! "
            if !summary.isEmpty {
                let round = index / phrases.closings.count
                if round > 0 { text += phrases.leadIns[(round - 1) % phrases.leadIns.count] }
                text += summary + " "
            }
            return text + phrases.closings[index % phrases.closings.count]
        }
    }

    /// The description with every `{ } | \` removed (literal braces would need escaping in a
    /// template; dropping them keeps the draft valid), whitespace collapsed, cut to
    /// ``summaryLength`` characters, and ended as a sentence.
    static func summary(_ description: String) -> String {
        let forbidden: Set<Character> = ["{", "}", "|", "\\"]
        let words = description.filter { !forbidden.contains($0) }.split(whereSeparator: \.isWhitespace)
        var text = words.joined(separator: " ")
        if text.count > summaryLength {
            text = String(text.prefix(summaryLength))
            while text.last?.isWhitespace == true { text.removeLast() }
        }
        if let last = text.last, !".!?…。؟".contains(last) { text += "." }
        return text
    }
}
