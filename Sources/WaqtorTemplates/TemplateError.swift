import WaqtorCore

/// Why a template cannot be parsed, accepted or rendered: where (when there is a place), what, and
/// what to do about it. An `invalidInput` domain error: the same template fails the same way.
public struct TemplateError: DomainError, Hashable {
    public enum Kind: Sendable, Hashable {
        // Parsing.
        /// The source is over `TemplateLimits.maxSourceBytes` bytes of UTF-8.
        case templateTooLong(bytes: Int, limit: Int)
        /// A `{` whose group never closes.
        case unclosedSpintax
        /// A `{{` whose variable does not close with `}}` on the same line.
        case unclosedVariable
        /// A `}` that closes nothing.
        case strayClosingBrace
        /// A spintax group with an empty alternative (`{a||b}`, `{|a}`, `{a|}`) or no text at all (`{}`).
        case emptyAlternative
        /// A spintax group with one alternative (`{a}`).
        case singleAlternative
        /// `{{}}` or `{{ |x}}`.
        case emptyVariableName
        /// A name outside `[A-Za-z_][A-Za-z0-9_.-]*` or over `TemplateLimits.maxVariableNameLength`.
        case badVariableName(String)
        /// An unescaped `{` or `|` inside a variable's default.
        case badDefault
        /// Spintax nested deeper than `TemplateLimits.maxNestingDepth`.
        case nestingTooDeep(limit: Int)
        // Validation.
        /// A variable no contact has, without a default.
        case unknownVariable(String)
        /// A template with no text and no variables.
        case emptyTemplate
        /// Even the shortest rendering is over the limit.
        case tooLong(shortest: Int, limit: Int)
        // Rendering.
        /// The contact has no value (or an empty one) for a variable without a default.
        case missingValue(String)
        /// The rendered text is over the limit.
        case renderedTooLong(length: Int, limit: Int)
        /// The rendered text is empty or only whitespace.
        case renderedEmpty

        /// A stable machine-readable name (answered in `details["template_error"]`).
        public var code: String {
            switch self {
            case .templateTooLong: "template_too_long"
            case .unclosedSpintax: "unclosed_spintax"
            case .unclosedVariable: "unclosed_variable"
            case .strayClosingBrace: "stray_closing_brace"
            case .emptyAlternative: "empty_alternative"
            case .singleAlternative: "single_alternative"
            case .emptyVariableName: "empty_variable_name"
            case .badVariableName: "bad_variable_name"
            case .badDefault: "bad_default"
            case .nestingTooDeep: "nesting_too_deep"
            case .unknownVariable: "unknown_variable"
            case .emptyTemplate: "empty_template"
            case .tooLong: "too_long"
            case .missingValue: "missing_value"
            case .renderedTooLong: "rendered_too_long"
            case .renderedEmpty: "rendered_empty"
            }
        }
    }

    public let kind: Kind
    /// Where in the source; `nil` for errors about the whole text (its length, an empty rendering).
    public let position: TemplatePosition?
    /// For a person: where, what, what to do. E.g. "{{city}} at line 1, column 7: no contact has the
    /// attribute city and it has no default; add a default with {{city|...}} or add the attribute".
    public let message: String

    public init(_ kind: Kind, at position: TemplatePosition?, message: String) {
        self.kind = kind
        self.position = position
        self.message = message
    }

    public var category: DomainErrorCategory { .invalidInput }

    /// `template_error` (the kind's code) and, with a position, `line`, `column` and `offset`; with a
    /// variable, `variable`.
    public var details: [String: String] {
        var details = ["template_error": kind.code]
        if let position {
            details["line"] = String(position.line)
            details["column"] = String(position.column)
            details["offset"] = String(position.offset)
        }
        switch kind {
        case .unknownVariable(let name), .missingValue(let name): details["variable"] = name
        default: break
        }
        return details
    }
}
