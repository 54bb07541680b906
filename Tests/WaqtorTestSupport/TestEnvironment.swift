import Foundation

/// Where the tests find the real servers that `tools/setup.sh` starts.
///
/// Each value comes from an environment variable, with a default that matches the local setup.
/// A test that cannot reach its server must fail, not skip: these are the addresses to reach.
public enum TestEnvironment {
    /// The application role's database URL (`WAQTOR_TEST_DATABASE_URL`): owns nothing, no BYPASSRLS.
    public static var databaseURL: String {
        value("WAQTOR_TEST_DATABASE_URL", default: "postgresql://waqtor_app:waqtor-app-dev@127.0.0.1:54329/waqtor_test")
    }

    /// The owner role's database URL (`WAQTOR_TEST_DATABASE_OWNER_URL`): runs migrations, may create schemas.
    public static var databaseOwnerURL: String {
        value("WAQTOR_TEST_DATABASE_OWNER_URL", default: "postgresql://waqtor_owner:waqtor-owner-dev@127.0.0.1:54329/waqtor_test")
    }

    /// The Redis shards as `host:port` strings, in shard order (`WAQTOR_TEST_REDIS_SHARDS`,
    /// comma-separated).
    public static var redisShards: [String] {
        value("WAQTOR_TEST_REDIS_SHARDS", default: "127.0.0.1:63790,127.0.0.1:63791")
            .split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// The Redis shards split into host and port.
    public static var redisShardAddresses: [(host: String, port: Int)] {
        redisShards.map { address in
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
                return (address, 6379)
            }
            return (String(address[..<colon]), port)
        }
    }

    /// A fresh, unique lowercase identifier with a prefix (e.g. a schema name per test):
    /// `prefix_<pid>_<random>`.
    public static func uniqueName(_ prefix: String) -> String {
        let random = UInt64.random(in: 0..<UInt64.max)
        return "\(prefix)_\(ProcessInfo.processInfo.processIdentifier)_\(String(random, radix: 36))"
    }

    private static func value(_ name: String, default defaultValue: String) -> String {
        if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
        return defaultValue
    }
}

/// Network helpers for tests.
public enum TestNetwork {
    /// A TCP port on 127.0.0.1 that was free a moment ago, for a server a test starts on a fixed
    /// port (a child process). Chosen at random below Linux's ephemeral range (32768-60999): a port
    /// the kernel hands out for port 0 may be given again at once to another test's client socket,
    /// which then takes it before the server binds (seen in full parallel runs). Falls back to a
    /// kernel-chosen port if 100 random ones are taken.
    public static func freeLocalPort() throws -> Int {
        for _ in 0..<100 {
            let candidate = Int.random(in: 20_000..<32_000)
            if try bindable(port: candidate) { return candidate }
        }
        return try boundPort(requesting: 0)
    }

    private static func bindable(port: Int) throws -> Bool {
        (try? boundPort(requesting: port)) != nil
    }

    /// Binds a socket to 127.0.0.1:`port` (0: the kernel picks), closes it, and returns the port.
    private static func boundPort(requesting port: Int) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestSupportError("bind() failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw TestSupportError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
    public static func isAccepting(port: Int, host: String = "127.0.0.1") -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it
    /// held. For conditions that have no event to await (a port starting to accept connections).
    public static func waitUntil(
        timeout: Duration = .seconds(60),
        interval: Duration = .milliseconds(20),
        _ condition: () -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: interval)
        }
        return condition()
    }
}

/// An error from a test helper, with a message that says what to fix.
public struct TestSupportError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
