/// What our drafting module asks for, read from its user message:
///
/// ```
/// Number of drafts: 3
/// Language: pt-BR (Portuguese)
/// Tone: friendly
/// Campaign description (between the markers):
/// <<<DESCRIPTION
/// …
/// DESCRIPTION>>>
/// ```
///
/// Read leniently (missing lines take defaults, the markers may be absent) so a change of wording
/// in the prompt degrades the drafts instead of failing every test that drafts.
struct DraftPrompt: Equatable {
    /// 1…10; 3 when absent or unreadable.
    var count = 3
    /// The first word after `Language:` (`pt-BR`); `en` when absent.
    var language = "en"
    /// After `Tone:`; may be empty. Recorded only: drafts do not vary by tone.
    var tone = ""
    /// Between the markers, or the whole text when they are missing.
    var description: String

    /// The primary language subtag, lowercased (`pt` for `pt-BR`).
    var primaryLanguage: String {
        String(language.split(whereSeparator: { $0 == "-" || $0 == "_" }).first ?? "en").lowercased()
    }

    init(parsing text: String) {
        // `isNewline` also splits "\r\n", which Swift holds as one Character.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        let header: ArraySlice<String>
        if let start = lines.firstIndex(where: { Self.trimmed($0) == "<<<DESCRIPTION" }) {
            let end = lines[(start + 1)...].firstIndex { Self.trimmed($0) == "DESCRIPTION>>>" } ?? lines.endIndex
            header = lines[..<start]
            description = lines[(start + 1)..<end].joined(separator: "\n")
        } else {
            header = lines[...]
            description = text
        }
        for line in header {
            let line = Self.trimmed(line)
            if let value = Self.value(of: "number of drafts:", in: line) {
                let digits = value.prefix { $0.isASCII && $0.isNumber }
                if let number = Int(digits) { count = min(10, max(1, number)) }
            } else if let value = Self.value(of: "language:", in: line) {
                if let word = value.split(whereSeparator: \.isWhitespace).first { language = String(word) }
            } else if let value = Self.value(of: "tone:", in: line) {
                tone = value
            }
        }
    }

    /// The rest of the line after a case-insensitive label, trimmed; nil when the line has another label.
    private static func value(of label: String, in line: String) -> String? {
        guard line.lowercased().hasPrefix(label) else { return nil }
        return trimmed(String(line.dropFirst(label.count)))
    }

    private static func trimmed(_ text: String) -> String {
        String(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
