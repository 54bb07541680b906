import Foundation

/// An opaque keyset page token: the sort key of the last item a page held, and the token's kind
/// (so that a token of one listing is refused by another). Encoded as base64url of
/// `kind \u{1F} field \u{1F} field ...`; callers never see the inside.
public struct PageCursor: Sendable, Hashable {
    public var kind: String
    public var fields: [String]

    public init(kind: String, fields: [String]) {
        self.kind = kind
        self.fields = fields
    }

    static let separator: Character = "\u{1F}"

    /// The token to hand to callers.
    public var token: String {
        let text = ([kind] + fields).joined(separator: String(Self.separator))
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads a token made by ``token`` for a listing of `kind` with `count` fields; nil when it
    /// was not (a token of another listing, edited, or truncated).
    public init?(token: String, kind: String, count: Int) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: Self.separator, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == count + 1, parts[0] == kind else { return nil }
        self.kind = kind
        self.fields = Array(parts.dropFirst())
    }
}
