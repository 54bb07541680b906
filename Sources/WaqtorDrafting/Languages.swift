/// The languages drafts can be asked in: ISO 639-1 codes with their English names (the model is
/// told the name as well as the tag). A tag is a language, an optional script and an optional
/// region: `pt`, `pt-BR`, `es-419`, `zh-Hant-TW`.
public enum DraftLanguages {
    /// ISO 639-1 code → English name.
    public static let names: [String: String] = [
        "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "az": "Azerbaijani", "be": "Belarusian", "bg": "Bulgarian",
        "bn": "Bengali", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German",
        "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish",
        "fil": "Filipino", "fr": "French", "ga": "Irish", "gl": "Galician", "gu": "Gujarati", "ha": "Hausa", "he": "Hebrew",
        "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "ig": "Igbo", "is": "Icelandic",
        "it": "Italian", "ja": "Japanese", "jv": "Javanese", "ka": "Georgian", "kk": "Kazakh", "km": "Khmer", "kn": "Kannada",
        "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz", "lo": "Lao", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian",
        "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese", "ne": "Nepali",
        "nl": "Dutch", "no": "Norwegian", "nb": "Norwegian Bokmål", "nn": "Norwegian Nynorsk", "pa": "Punjabi", "pl": "Polish",
        "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "rw": "Kinyarwanda", "si": "Sinhala",
        "sk": "Slovak", "sl": "Slovenian", "so": "Somali", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish", "sw": "Swahili",
        "ta": "Tamil", "te": "Telugu", "tg": "Tajik", "th": "Thai", "tk": "Turkmen", "tl": "Tagalog", "tr": "Turkish",
        "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese", "xh": "Xhosa", "yo": "Yoruba", "zh": "Chinese",
        "zu": "Zulu",
    ]

    /// A checked tag, normalised (`pt-br` → `pt-BR`, `zh-hant` → `zh-Hant`), and its description for
    /// the model ("Portuguese (pt-BR)"); nil when the tag is not a known language with an optional
    /// script (4 letters) and region (2 letters or 3 digits).
    public static func normalise(_ tag: String) -> (tag: String, name: String)? {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter }),
              let name = names[first.lowercased()], parts.count <= 3
        else { return nil }
        var normalised = [first.lowercased()]
        var sawScript = false, sawRegion = false
        for part in parts.dropFirst() {
            if !sawScript && !sawRegion && part.count == 4 && part.allSatisfy({ $0.isASCII && $0.isLetter }) {
                normalised.append(part.prefix(1).uppercased() + part.dropFirst().lowercased())
                sawScript = true
            } else if !sawRegion && part.count == 2 && part.allSatisfy({ $0.isASCII && $0.isLetter }) {
                normalised.append(part.uppercased())
                sawRegion = true
            } else if !sawRegion && part.count == 3 && part.allSatisfy({ $0.isASCII && $0.isNumber }) {
                normalised.append(part)
                sawRegion = true
            } else {
                return nil
            }
        }
        let joined = normalised.joined(separator: "-")
        return (joined, "\(name) (\(joined))")
    }
}
