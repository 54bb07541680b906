import Testing
import WaqtorSecurity

/// Known-answer vectors at the facade: what swift-crypto computes for us must be the standard
/// functions, byte for byte, because stored token hashes, webhook secret hashes and migration
/// checksums were written by the earlier implementation and must still match.
@Suite("Hashing")
struct HashingTests {
    /// FIPS 180-2 appendix B (and the empty string).
    @Test func sha256KnownAnswers() {
        #expect(Hashing.sha256Hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hashing.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hashing.sha256Hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hashing.sha256Hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(Hashing.sha256Hex(Array(String(repeating: "a", count: 1000).utf8))
            == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        let abc = Hashing.sha256(Array("abc".utf8))
        #expect(abc.count == 32 && Hashing.hex(abc) == Hashing.sha256Hex(Array("abc".utf8)))
    }

    /// Contiguous and non-contiguous inputs hash the same bytes.
    @Test func sha256OfAnyCollection() {
        let text = "wqs_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
        #expect(Hashing.sha256(text.utf8) == Hashing.sha256(Array(text.utf8)))
        #expect(Hashing.sha256(Array(text.utf8).reversed().reversed()) == Hashing.sha256(Array(text.utf8)))
    }

    /// RFC 4231 test cases 1, 2 and 6 (6: a key longer than the block, hashed first).
    @Test func hmacSHA256KnownAnswers() {
        let case1 = Hashing.hmacSHA256(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
        #expect(Hashing.hex(case1) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let case2 = Hashing.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hashing.hex(case2) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let case6 = Hashing.hmacSHA256(key: [UInt8](repeating: 0xaa, count: 131),
                                       message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        #expect(Hashing.hex(case6) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func hmacVerification() {
        let key = Array("Jefe".utf8), message = Array("what do ya want for nothing?".utf8)
        let mac = Hashing.hmacSHA256(key: key, message: message)
        #expect(Hashing.isValidHMACSHA256(mac, key: key, message: message))
        var flipped = mac
        flipped[31] ^= 1
        #expect(!Hashing.isValidHMACSHA256(flipped, key: key, message: message))
        #expect(!Hashing.isValidHMACSHA256(mac.dropLast(), key: key, message: message))
        #expect(!Hashing.isValidHMACSHA256(mac, key: Array("jefe".utf8), message: message))
    }

    @Test func storedDigestComparison() {
        let stored = Hashing.sha256(Array("whsec-instance-secret".utf8))
        #expect(Hashing.sha256(of: Array("whsec-instance-secret".utf8), matches: stored))
        #expect(!Hashing.sha256(of: Array("whsec-instance-secreT".utf8), matches: stored))
        #expect(!Hashing.sha256(of: Array("".utf8), matches: stored))
        // A stored value of the wrong length never matches (rather than comparing a prefix).
        #expect(!Hashing.sha256(of: Array("whsec-instance-secret".utf8), matches: Array(stored.prefix(16))))
        #expect(!Hashing.sha256(of: Array("".utf8), matches: []))
    }

    @Test func secretStringComparison() {
        #expect(Hashing.secretsEqual("sim-global-key", "sim-global-key"))
        #expect(!Hashing.secretsEqual("sim-global-key", "sim-global-kez"))
        #expect(!Hashing.secretsEqual("sim-global-key", "sim-global-key "))
        #expect(!Hashing.secretsEqual("", "x") && Hashing.secretsEqual("", ""))
    }

    @Test func hexIsLowercaseTwoDigitsPerByte() {
        #expect(Hashing.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Hashing.hex([]) == "")
    }
}
