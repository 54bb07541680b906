import Foundation
import WaqtorSecurity

/// HS256 JWTs for webhooks whose headers carry `jwt_key` (what Evolution API 2.3.6 does: the
/// header becomes `Authorization: Bearer <JWT>` over `{iat, exp: iat+600, app, action}`).
enum WebhookJWT {
    static func token(key: String, now: Date = Date()) -> String {
        let iat = Int(now.timeIntervalSince1970)
        let header = base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = base64URL(Array(#"{"iat":\#(iat),"exp":\#(iat + 600),"app":"evolution","action":"webhook"}"#.utf8))
        let signingInput = header + "." + payload
        return signingInput + "." + base64URL(Hashing.hmacSHA256(key: Array(key.utf8), message: Array(signingInput.utf8)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
