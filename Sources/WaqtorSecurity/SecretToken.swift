import WaqtorSecurity
import Foundation

/// A random bearer secret (session token or API key): 32 bytes from the system's CSPRNG, encoded
/// base64url without padding, behind a kind prefix (`wqs_` sessions, `wqk_` API keys).
///
/// Only ``hash`` (SHA-256 of the whole token's UTF-8 bytes) is stored; the token itself is shown
/// once, to whoever created it. A 256-bit random value needs no slow hash: guessing it is
/// hopeless, and a stolen hash cannot be turned back into a usable token.
public struct SecretToken: Sendable, Hashable, CustomStringConvertible {
    /// What a token is for.
    public enum Kind: Sendable, Hashable {
        case session
        case apiKey

        /// The prefix every token of this kind starts with.
        public var prefix: String {
            switch self {
            case .session: "wqs_"
            case .apiKey: "wqk_"
            }
        }
    }

    /// The secret, as given to its owner (prefix + 43 base64url characters).
    public let value: String
    /// The kind it was generated as.
    public let kind: Kind

    /// A fresh random token.
    public static func generate(_ kind: Kind) -> SecretToken {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return SecretToken(value: kind.prefix + base64URL(bytes), kind: kind)
    }

    /// The stored form of a presented token: SHA-256 of its UTF-8 bytes.
    public static func hash(of presented: String) -> [UInt8] {
        Hashing.sha256(Array(presented.utf8))
    }

    /// The kind a presented token claims by its prefix, or nil.
    public static func kind(of presented: String) -> Kind? {
        if presented.hasPrefix(Kind.session.prefix) { return .session }
        if presented.hasPrefix(Kind.apiKey.prefix) { return .apiKey }
        return nil
    }

    /// SHA-256 of ``value``: what the database stores.
    public var hash: [UInt8] { Self.hash(of: value) }

    /// The first 12 characters (prefix and 8 random ones), safe to list so a person can tell
    /// keys apart.
    public var displayPrefix: String { String(value.prefix(12)) }

    /// Redacted: a token never appears in logs by accident.
    public var description: String { "\(displayPrefix)…" }

    /// base64url (RFC 4648 §5) without padding.
    public static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
