import Foundation
import WaqtorOpenRouter
import WaqtorTemplates

/// One checked draft.
public struct Draft: Sendable, Hashable {
    /// The template text, as the model wrote it (whitespace around it trimmed).
    public var text: String
    /// The variable names it uses, lowercase, in order of first use.
    public var variables: [String]

    public init(text: String, variables: [String]) {
        self.text = text
        self.variables = variables
    }
}

/// Reads the model's answer and keeps the drafts that the campaign template parser accepts.
public enum DraftChecker {
    /// Variables a draft may use without a default: the contact fields every contact has a slot
    /// for (a campaign accepts them whatever its audience).
    public static let builtInVariables: Set<String> = ["name", "phone_number"]
    /// The longest draft kept (WhatsApp's text limit; the prompt asks for far less).
    public static let maxLength = TemplateLimits.textBody

    /// The outcome of one answer.
    public struct Outcome: Sendable, Hashable {
        /// Drafts that passed, in the model's order, without duplicates.
        public var drafts: [Draft]
        /// Why the others (or the whole answer) were refused, for the logs and the final error.
        public var problems: [String]
    }

    /// Checks an answer's content: JSON `{"drafts":[{"text":…}]}` (a code fence around it is
    /// tolerated), each text parsed as a template, its variables built-in or with a default, not
    /// empty, at most ``maxLength`` characters in its shortest form. A truncated answer
    /// (`finish_reason` `length`) is refused whole.
    public static func check(content: String, finishReason: String) -> Outcome {
        if finishReason == "length" {
            return Outcome(drafts: [], problems: ["the answer was cut off at the token limit"])
        }
        if finishReason == "content_filter" {
            return Outcome(drafts: [], problems: ["the provider's content filter stopped the answer"])
        }
        guard let json = JSONValue.parse(stripFence(content)), let entries = json["drafts"]?.array else {
            return Outcome(drafts: [], problems: ["the answer is not the JSON asked for"])
        }
        var drafts: [Draft] = []
        var problems: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let raw = entry["text"]?.string ?? entry.string else {
                problems.append("draft \(index + 1) has no text")
                continue
            }
            let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            do {
                let template = try Template.parse(text)
                try template.validate(knownVariables: builtInVariables, maxLength: maxLength)
                var seen = Set<String>()
                let variables = template.occurrences.map(\.name).filter { seen.insert($0).inserted }
                if !drafts.contains(where: { $0.text == text }) { drafts.append(Draft(text: text, variables: variables)) }
            } catch {
                problems.append("draft \(index + 1): \(error.message)")
            }
        }
        if entries.isEmpty { problems.append("the answer holds no drafts") }
        return Outcome(drafts: drafts, problems: problems)
    }

    /// The JSON inside a Markdown code fence, if the model wrapped it in one.
    static func stripFence(_ content: String) -> String {
        var text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("```") else { return text }
        text = String(text.drop(while: { $0 != "\n" }))
        if text.hasSuffix("```") { text = String(text.dropLast(3)) }
        return text
    }
}
