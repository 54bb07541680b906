import Foundation
import WaqtorCrypto

/// HS256 JWTs for webhooks whose headers carry `jwt_key` (what Evolution API 2.3.6 does: the
/// header becomes `Authorization: Bearer <JWT>` over `{iat, exp: iat+600, app, action}`).
enum WebhookJWT {
    static func token(key: String, now: Date = Date()) -> String {
        let iat = Int(now.timeIntervalSince1970)
        let header = base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = base64URL(Array(#"{"iat":\#(iat),"exp":\#(iat + 600),"app":"evolution","action":"webhook"}"#.utf8))
        let signingInput = header + "." + payload
        return signingInput + "." + base64URL(hmacSHA256(key: Array(key.utf8), message: Array(signingInput.utf8)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var block = key.count > 64 ? sha256(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        let inner = sha256(block.map { $0 ^ 0x36 } + message)
        return sha256(block.map { $0 ^ 0x5c } + inner)
    }

    static func sha256(_ message: [UInt8]) -> [UInt8] {
        SHA256.digest(message)
    }
}
