import WaqtorSecurity
import Foundation
import Testing

@Suite("SecretToken")
struct SecretTokenTests {
    @Test func tokensAreRandomPrefixedBase64URLAndHashed() {
        let a = SecretToken.generate(.session)
        let b = SecretToken.generate(.session)
        let k = SecretToken.generate(.apiKey)
        #expect(a.value.hasPrefix("wqs_") && k.value.hasPrefix("wqk_"))
        #expect(a.value.count == 4 + 43)
        #expect(a != b)
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(a.value.dropFirst(4).allSatisfy { alphabet.contains($0) })
        #expect(a.hash == Hashing.sha256(Array(a.value.utf8)))
        #expect(a.hash == SecretToken.hash(of: a.value) && a.hash != b.hash)
        #expect(SecretToken.kind(of: a.value) == .session && SecretToken.kind(of: k.value) == .apiKey)
        #expect(SecretToken.kind(of: "Bearer x") == nil)
        #expect(a.displayPrefix.count == 12 && a.value.hasPrefix(a.displayPrefix))
        #expect(!"\(a)".contains(a.value))
        #expect(SecretToken.base64URL([0xfb, 0xff, 0xfe]) == "-__-")
        #expect(Set((0..<1000).map { _ in SecretToken.generate(.apiKey).value }).count == 1000)
    }
}

@Suite("PasswordHasher")
struct PasswordHasherTests {
    @Test func standardHashIsArgon2idSaltedAndVerifies() async throws {
        let hasher = PasswordHasher()
        let password = "correct horse battery staple"
        let first = try await hasher.hash(password)
        let second = try await hasher.hash(password)
        #expect(first.hasPrefix("$argon2id$v=19$m=65536,t=3,p=1$"))
        #expect(first != password && !first.contains(password))
        #expect(first != second, "a fresh salt per hash")
        #expect(try await hasher.verify(password, against: first))
        #expect(try await hasher.verify(password, against: second))
        #expect(try await !hasher.verify("correct horse battery stapl", against: first))
        #expect(try await !hasher.verify("", against: first))
        #expect(try await !hasher.verify(password, against: "not a hash"))
        #expect(try await !hasher.verify(password, against: password))
        #expect(try await !hasher.verify(password, against: "$argon2id$v=19$m=65536,t=3,p=1$garbage$garbage"))
    }

    @Test func unicodeAndCheapParameters() async throws {
        let hasher = PasswordHasher(parameters: .init(iterations: 1, memoryKiB: 1024, parallelism: 1))
        let hash = try await hasher.hash("pässwörd 🔑")
        #expect(hash.hasPrefix("$argon2id$v=19$m=1024,t=1,p=1$"))
        #expect(try await hasher.verify("pässwörd 🔑", against: hash))
        #expect(try await !hasher.verify("passwörd 🔑", against: hash))
        // A hash made with other parameters still verifies (they travel in the string).
        #expect(try await PasswordHasher().verify("pässwörd 🔑", against: hash))
    }
}
