import CArgon2
import NIOCore
import NIOPosix

/// Hashes and verifies passwords with argon2id (libargon2), off the event loops and off Swift's
/// cooperative pool: every call runs on a `NIOThreadPool` (argon2 is deliberately slow and
/// memory-hard: about 64 MiB and tens of milliseconds per call with the defaults).
///
/// The stored value is the PHC string argon2 encodes (`$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>`),
/// so the parameters and the 16-byte random salt travel with each hash; raising the parameters
/// later still verifies old hashes. Verification (`argon2id_verify`) compares in constant time.
public struct PasswordHasher: Sendable {
    /// argon2id cost parameters.
    public struct Parameters: Sendable, Hashable {
        /// Passes over memory (t).
        public var iterations: UInt32
        /// Memory in KiB (m).
        public var memoryKiB: UInt32
        /// Lanes (p).
        public var parallelism: UInt32
        /// Salt length in bytes.
        public var saltLength: Int
        /// Raw hash length in bytes.
        public var hashLength: Int

        public init(iterations: UInt32, memoryKiB: UInt32, parallelism: UInt32, saltLength: Int = 16, hashLength: Int = 32) {
            self.iterations = iterations
            self.memoryKiB = memoryKiB
            self.parallelism = parallelism
            self.saltLength = saltLength
            self.hashLength = hashLength
        }

        /// The production parameters: t=3, m=64 MiB, p=1, 16-byte salt, 32-byte hash.
        public static let standard = Parameters(iterations: 3, memoryKiB: 64 * 1024, parallelism: 1)
    }

    /// The parameters new hashes use.
    public let parameters: Parameters
    private let threadPool: NIOThreadPool

    /// Creates a hasher that runs on `threadPool` (by default NIO's shared blocking pool).
    public init(parameters: Parameters = .standard, threadPool: NIOThreadPool = .singleton) {
        self.parameters = parameters
        self.threadPool = threadPool
    }

    /// Hashes a password with a fresh random salt; returns the encoded PHC string.
    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        let result: Result<String, PasswordHasherError> = try await threadPool.runIfActive {
            Self.hashBlocking(password, parameters: parameters)
        }
        return try result.get()
    }

    /// Whether `password` matches `encoded` (constant-time comparison). A malformed `encoded`
    /// value is simply not a match.
    public func verify(_ password: String, against encoded: String) async throws -> Bool {
        try await threadPool.runIfActive {
            Self.verifyBlocking(password, against: encoded)
        }
    }

    /// The blocking hash; call only from a thread that may block.
    public static func hashBlocking(_ password: String, parameters: Parameters) -> Result<String, PasswordHasherError> {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<parameters.saltLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let passwordBytes = Array(password.utf8)
        let length = argon2_encodedlen(parameters.iterations, parameters.memoryKiB, parameters.parallelism,
                                       UInt32(salt.count), UInt32(parameters.hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length + 1)
        let code = passwordBytes.withUnsafeBytes { pwd in
            salt.withUnsafeBytes { saltBytes in
                argon2id_hash_encoded(parameters.iterations, parameters.memoryKiB, parameters.parallelism,
                                      pwd.baseAddress, pwd.count, saltBytes.baseAddress, saltBytes.count,
                                      parameters.hashLength, &encoded, encoded.count)
            }
        }
        guard code == ARGON2_OK.rawValue else {
            return .failure(PasswordHasherError(code: code))
        }
        return .success(String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The blocking verification; call only from a thread that may block.
    public static func verifyBlocking(_ password: String, against encoded: String) -> Bool {
        guard encoded.hasPrefix("$argon2id$") else { return false }
        let passwordBytes = Array(password.utf8)
        let code = passwordBytes.withUnsafeBytes { pwd in
            argon2id_verify(encoded, pwd.baseAddress, pwd.count)
        }
        return code == ARGON2_OK.rawValue
    }
}

/// libargon2 refused to hash (e.g. out of memory). The description names the library's error
/// code only, never the password.
public struct PasswordHasherError: Error, Sendable, CustomStringConvertible {
    /// The `argon2_error_codes` value.
    public let code: Int32

    public var description: String {
        let message = argon2_error_message(code).map { String(cString: $0) } ?? "unknown error"
        return "argon2 failed (\(code)): \(message)"
    }
}
