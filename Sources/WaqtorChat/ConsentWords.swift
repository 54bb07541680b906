import Foundation

/// The words that opt a contact out of campaigns, or back in, when they are the whole of an inbound
/// text (docs/CHAT.md, "Opt-out words"). Compared normalised: case, accents and Arabic vowel marks
/// ignored, spaces and punctuation around the word ignored, inner spaces collapsed.
public struct ConsentWords: Sendable, Hashable {
    public var optOut: Set<String>
    public var optIn: Set<String>

    /// The defaults, in the languages the product serves (English, Portuguese, Spanish, Arabic).
    public static let defaultOptOut = [
        "STOP", "STOP ALL", "UNSUBSCRIBE", "OPT OUT", "OPTOUT", "CANCEL", "QUIT", "END",
        "PARAR", "PARE", "SAIR", "CANCELAR", "DESCADASTRAR", "DESINSCREVER",
        "BAJA", "DAR DE BAJA", "ALTO", "DETENER",
        "إلغاء", "الغاء", "إيقاف", "ايقاف", "توقف", "إلغاء الاشتراك",
    ]
    public static let defaultOptIn = [
        "START", "UNSTOP", "SUBSCRIBE", "OPT IN", "OPTIN",
        "VOLTAR", "ASSINAR", "INSCREVER",
        "ALTA", "SUSCRIBIR", "REANUDAR",
        "اشتراك", "ابدأ",
    ]

    /// The words in force: the account's lists, or the defaults where it has none (nil).
    public init(optOut: [String]?, optIn: [String]?) {
        self.optOut = Set((optOut ?? Self.defaultOptOut).map(Self.normalise).filter { !$0.isEmpty })
        self.optIn = Set((optIn ?? Self.defaultOptIn).map(Self.normalise).filter { !$0.isEmpty })
    }

    public static let defaults = ConsentWords(optOut: nil, optIn: nil)

    /// What an inbound text asks for.
    public enum Intent: Sendable, Hashable { case optOut, optIn }

    /// The intent of a text, if it is one of the words (an opt-out word wins a tie).
    public func intent(of text: String) -> Intent? {
        guard text.count <= 64 else { return nil }
        let word = Self.normalise(text)
        if optOut.contains(word) { return .optOut }
        if optIn.contains(word) { return .optIn }
        return nil
    }

    /// Case and accents folded, Arabic marks (harakat, tatweel) dropped, punctuation and spaces
    /// around removed, inner spaces collapsed.
    public static func normalise(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
        var scalars = String.UnicodeScalarView()
        for scalar in folded.unicodeScalars {
            // Arabic harakat U+064B–U+065F, superscript alef U+0670, tatweel U+0640.
            if (0x064B...0x065F).contains(scalar.value) || scalar.value == 0x0670 || scalar.value == 0x0640 { continue }
            scalars.append(scalar)
        }
        let trimmed = String(scalars).trimmingCharacters(in: CharacterSet.whitespacesAndNewlines.union(.punctuationCharacters).union(.symbols))
        return trimmed.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Checks a list an account sets: at most 50 words, each 1 to 40 characters after
    /// normalising. Returns the problem, or nil.
    public static func problem(in words: [String], field: String) -> String? {
        if words.count > 50 { return "\(field) may hold at most 50 words (it has \(words.count))" }
        for word in words {
            let normalised = normalise(word)
            if normalised.isEmpty { return "\(field) has an empty word (\"\(word)\"): remove it" }
            if normalised.count > 40 { return "\(field): \"\(word.prefix(20))…\" is longer than 40 characters" }
        }
        return nil
    }
}
