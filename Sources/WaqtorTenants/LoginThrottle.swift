import WaqtorCore
import WaqtorRedis
import WaqtorSecurity

/// Failed logins per email, counted in Redis so that the limit holds across every server.
public struct LoginThrottle: Sendable {
    let redis: RedisShards
    let maxFailures: Int
    let window: Duration

    public init(redis: RedisShards, maxFailures: Int, window: Duration) {
        self.redis = redis
        self.maxFailures = maxFailures
        self.window = window
    }

    /// The key holds no email in clear: a SHA-256 of the normalised address.
    private func key(_ email: String) -> String {
        "auth:login-failures:" + Hashing.sha256Hex(Array(email.lowercased().utf8))
    }

    /// A ``DomainFailure`` (limit reached, with the wait) once `maxFailures` failures are counted.
    public func check(email: String) async throws {
        let key = key(email)
        let count = try await redis.command(["GET", .string(key)], routingKey: key).integer.map(Int.init) ?? 0
        guard count >= maxFailures else { return }
        let ttl = try await redis.command(["PTTL", .string(key)], routingKey: key).integer.map(Int.init) ?? 0
        let retryAfter = max(ttl, 1000)
        throw DomainFailure(
            .limitReached, "too many failed logins for this email; try again in \(Int((Double(retryAfter) / 1000).rounded(.up))) s",
            retryAfterMilliseconds: retryAfter)
    }

    public func recordFailure(email: String) async throws {
        let key = key(email)
        let count = try await redis.command(["INCR", .string(key)], routingKey: key).integer.map(Int.init) ?? 1
        if count == 1 {
            let millis = window.milliseconds
            _ = try await redis.command(["PEXPIRE", .string(key), .string(String(millis))], routingKey: key)
        }
    }

    public func reset(email: String) async throws {
        let key = key(email)
        _ = try await redis.command(["DEL", .string(key)], routingKey: key)
    }
}

