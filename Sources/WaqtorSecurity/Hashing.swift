import Crypto
import Foundation

/// The project's one door to hashing, a thin facade over swift-crypto (`Crypto.SHA256`,
/// `HMAC<SHA256>`): no cryptography is written here, only the shapes our callers want (byte
/// arrays, lowercase hex). Keeping it in one module means one place depends on swift-crypto and
/// one place states which comparisons are constant-time.
///
/// What SHA-256 is for here: migration checksums, hashes of high-entropy random tokens and
/// webhook secrets before they are stored, webhook dedupe keys, Redis key names. Not for
/// passwords: those go through argon2id (WaqtorAuth).
public enum Hashing {
    /// SHA-256 of `bytes`: 32 bytes.
    public static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        Array(digest(bytes))
    }

    /// SHA-256 of `bytes` as 64 lowercase hex characters (the form migration checksums are
    /// recorded in, so it must not change).
    public static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        hex(digest(bytes))
    }

    /// Whether SHA-256 of `presented` equals `stored` (a digest kept in place of a secret), in
    /// constant time: swift-crypto's `Digest == DataProtocol` goes through its safe comparison,
    /// which touches every byte whatever differs. The presented value is hashed first, so neither
    /// its length nor its content shapes the time the comparison takes.
    public static func sha256(of presented: some Collection<UInt8>, matches stored: [UInt8]) -> Bool {
        digest(presented) == stored
    }

    /// Whether two secrets given as strings are equal, without an early exit. swift-crypto offers no
    /// public comparison of arbitrary bytes, so both are hashed and the digests compared:
    /// `Digest == Digest` is constant-time there, and two fixed-length digests leak neither the
    /// lengths nor the position of the first difference.
    public static func secretsEqual(_ a: String, _ b: String) -> Bool {
        digest(a.utf8) == digest(b.utf8)
    }

    /// HMAC-SHA256 (RFC 2104) of `message` under `key`: 32 bytes.
    public static func hmacSHA256(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        let key = SymmetricKey(data: Array(key))
        return Array(withBytes(message) { HMAC<SHA256>.authenticationCode(for: $0, using: key) })
    }

    /// Whether `mac` is the HMAC-SHA256 of `message` under `key`, compared in constant time by
    /// swift-crypto (`HMAC.isValidAuthenticationCode`).
    public static func isValidHMACSHA256(_ mac: some Collection<UInt8>, key: some Collection<UInt8>, message: some Collection<UInt8>) -> Bool {
        let key = SymmetricKey(data: Array(key))
        let mac = Array(mac)
        return withBytes(message) { HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: $0, using: key) }
    }

    /// Lowercase hex of any bytes (a digest, a MAC). Encoding, not cryptography.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func digest(_ bytes: some Collection<UInt8>) -> SHA256.Digest {
        withBytes(bytes) { SHA256.hash(data: $0) }
    }

    /// Hands swift-crypto the bytes without a copy when they are already contiguous (arrays,
    /// native strings' UTF-8), and through one copy otherwise.
    private static func withBytes<R>(_ bytes: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let result = bytes.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
        return Array(bytes).withUnsafeBytes(body)
    }
}
