/// Decimal numbers kept as text (money, the AI provider's charges), so that no binary floating
/// point rounds them on the way to PostgreSQL's `numeric` and back.
public enum DecimalText {
    /// The number without trailing fractional zeros: "0.0000057500" → "0.00000575",
    /// "1.50" → "1.5", "0.0000" → "0"; text without a point is returned as it is.
    public static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var text = text
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text.isEmpty || text == "-0" ? "0" : text
    }
}
