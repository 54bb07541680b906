import Foundation

/// A checked DraftTemplates request: every field within its documented bounds.
public struct DraftInput: Sendable, Hashable {
    /// Most characters (as a person counts them: Swift `Character`s) of a description.
    public static let maxDescriptionLength = 2000
    /// Most characters of a tone.
    public static let maxToneLength = 40
    /// Variant counts allowed; 0 asks for ``defaultVariantCount``.
    public static let variantCounts = 1...5
    public static let defaultVariantCount = 3

    /// The tenant's description of the campaign: the only user text sent to the provider.
    public let description: String
    /// The normalised language tag and its name for the model; nil: the description's language.
    public let language: (tag: String, name: String)?
    /// Empty: neutral.
    public let tone: String
    public let variantCount: Int
    /// The model to ask first (allowed by the configuration).
    public let model: String

    /// Checks the fields (INVALID_ARGUMENT naming the field otherwise) against `configuration`'s
    /// allow-list of models.
    public init(description: String, language: String, tone: String, variantCount: Int, model: String,
                configuration: DraftingConfiguration) throws(DraftingError) {
        let description = description.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !description.isEmpty else {
            throw .invalid("campaign_description", "describe the campaign (what it offers, to whom, any date, price or link to mention); it is empty")
        }
        guard description.count <= Self.maxDescriptionLength else {
            throw .invalid("campaign_description", "the description has \(description.count) characters and at most \(Self.maxDescriptionLength) are allowed; shorten it")
        }
        self.description = description
        let language = language.trimmingCharacters(in: .whitespaces)
        if language.isEmpty {
            self.language = nil
        } else if let known = DraftLanguages.normalise(language) {
            self.language = known
        } else {
            throw .invalid("language", "'\(language.prefix(40))' is not a known language tag; use an ISO 639-1 language with an optional region, e.g. en, pt-BR, es-419, ar (docs/AI.md lists them)")
        }
        let tone = tone.trimmingCharacters(in: .whitespaces)
        guard tone.count <= Self.maxToneLength, tone.allSatisfy({ $0.isLetter || $0 == " " || $0 == "-" }) else {
            throw .invalid("tone", "a tone is up to \(Self.maxToneLength) letters, spaces or hyphens, e.g. friendly, formal, playful")
        }
        self.tone = tone
        let count = variantCount == 0 ? Self.defaultVariantCount : variantCount
        guard Self.variantCounts.contains(count) else {
            throw .invalid("variant_count", "\(variantCount) is out of range; ask for \(Self.variantCounts.lowerBound) to \(Self.variantCounts.upperBound) variants (0 means \(Self.defaultVariantCount))")
        }
        self.variantCount = count
        let model = model.trimmingCharacters(in: .whitespaces)
        if model.isEmpty {
            self.model = configuration.defaultModel
        } else if configuration.models.contains(model) {
            self.model = model
        } else {
            throw .invalid("model", "'\(model.prefix(80))' is not allowed on this server; allowed: \(configuration.models.joined(separator: ", "))")
        }
    }

    public static func == (a: DraftInput, b: DraftInput) -> Bool {
        a.description == b.description && a.language?.tag == b.language?.tag && a.tone == b.tone && a.variantCount == b.variantCount && a.model == b.model
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(description)
        hasher.combine(language?.tag)
        hasher.combine(tone)
        hasher.combine(variantCount)
        hasher.combine(model)
    }
}

/// The server's drafting settings (`ai.*`).
public struct DraftingConfiguration: Sendable, Hashable {
    /// The allow-list, the default first.
    public var models: [String]
    /// Used when a request names no model.
    public var defaultModel: String
    /// Tried by OpenRouter when the requested model is unavailable (nil: none).
    public var fallbackModel: String?
    public var temperature: Double
    /// The completion's token limit (drafts are short; this bounds the cost of a runaway answer).
    public var maxTokens: Int

    public init(models: [String] = ["google/gemini-2.5-flash", "qwen/qwen3-235b-a22b-2507"], defaultModel: String = "google/gemini-2.5-flash",
                fallbackModel: String? = "qwen/qwen3-235b-a22b-2507", temperature: Double = 0.8, maxTokens: Int = 2000) {
        self.models = models
        self.defaultModel = defaultModel
        self.fallbackModel = fallbackModel
        self.temperature = temperature
        self.maxTokens = maxTokens
    }
}
