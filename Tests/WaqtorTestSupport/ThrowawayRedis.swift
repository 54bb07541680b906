import Foundation

/// A private `redis-server` on a free loopback port, for tests that need a Redis to stop, crash
/// or restart (the shared shards must stay up for everyone else).
///
/// No persistence (`--save '' --appendonly no`): a restart comes back empty. Stop it in the test
/// (``stop()`` or ``kill()``); `deinit` kills a still-running server as a last resort.
///
/// ```swift
/// let redis = try await ThrowawayRedis.start()
/// // … use "127.0.0.1:\(redis.port)" …
/// try await redis.kill()        // the shard goes down
/// try await redis.restart()     // back on the same port
/// try await redis.stop()
/// ```
public final class ThrowawayRedis: @unchecked Sendable {
    // @unchecked Sendable invariant: `process` is only replaced under `lock`, and Process itself
    // is thread-safe for terminate/processIdentifier/isRunning.
    private let lock = NSLock()
    private var process: Process?

    /// The loopback port the server listens on (kept across ``restart()``).
    public let port: Int
    /// `127.0.0.1`.
    public let host = "127.0.0.1"
    /// `host:port`.
    public var address: String { "\(host):\(port)" }

    private init(port: Int) { self.port = port }

    /// Starts a server on a free port and waits until it accepts connections.
    ///
    /// The binary is `$WAQTOR_REDIS_SERVER`, else `redis-server` from `PATH` (or /usr/bin).
    public static func start() async throws -> ThrowawayRedis {
        let redis = ThrowawayRedis(port: try TestNetwork.freeLocalPort())
        try await redis.launch()
        return redis
    }

    /// Whether the server process is running.
    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// Stops the server with SIGTERM and waits for it to exit.
    public func stop() async throws {
        try await terminate(signal: SIGTERM)
    }

    /// Kills the server with SIGKILL (a crash: no goodbye to clients) and waits for it to exit.
    public func kill() async throws {
        try await terminate(signal: SIGKILL)
    }

    /// Starts the server again on the same port (empty: no persistence) and waits until ready.
    public func restart() async throws {
        if isRunning { try await stop() }
        try await launch()
    }

    deinit {
        if let process, process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
    }

    private func launch() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.serverPath())
        process.arguments = [
            "--port", String(port), "--bind", host, "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lock.withLock { self.process = process }
        let port = self.port
        let ready = await TestNetwork.waitUntil { !process.isRunning || TestNetwork.isAccepting(port: port) }
        guard ready, process.isRunning else {
            throw TestSupportError("redis-server did not start on port \(port) (exit status \(process.isRunning ? "-" : String(process.terminationStatus)))")
        }
    }

    private func terminate(signal: Int32) async throws {
        guard let process = lock.withLock({ self.process }), process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        let exited = await TestNetwork.waitUntil(interval: .milliseconds(10)) { !process.isRunning }
        guard exited else { throw TestSupportError("redis-server on port \(port) did not exit after signal \(signal)") }
        let port = self.port
        _ = await TestNetwork.waitUntil { !TestNetwork.isAccepting(port: port) }
    }

    private static func serverPath() -> String {
        if let path = ProcessInfo.processInfo.environment["WAQTOR_REDIS_SERVER"], !path.isEmpty { return path }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/redis-server"
    }
}
