import Foundation

/// A private `redis-server` on a free loopback port, for tests that need a Redis to stop, crash
/// or restart (the shared shards must stay up for everyone else).
///
/// No persistence (`--save '' --appendonly no`): a restart comes back empty. Stop it in the test
/// (``stop()`` or ``kill()``); `deinit` kills a still-running server as a last resort.
///
/// ```swift
/// let redis = try await ThrowawayRedis.start()
/// // … use redis.address ("127.0.0.1:<port>") …
/// try await redis.kill()        // the shard goes down (SIGKILL: a crash)
/// try await redis.restart()     // back on the same port, empty
/// try await redis.stop()        // SIGTERM, then wait for the exit
/// ```
public final class ThrowawayRedis: @unchecked Sendable {
    // @unchecked Sendable invariant: `pid` is read and written only under `lock`.
    private let lock = NSLock()
    private var pid: pid_t = 0

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
    public var isRunning: Bool { lock.withLock { pid != 0 && Self.reap(pid) == nil } }

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
        try await stop()
        try await launch()
    }

    deinit {
        if pid != 0 {
            Foundation.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    private func launch() async throws {
        let arguments = [
            Self.serverPath(), "--port", String(port), "--bind", host, "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning", "--logfile", "",
        ]
        let pid = try Self.spawn(arguments)
        lock.withLock { self.pid = pid }
        let port = self.port
        let ready = await TestNetwork.waitUntil { !self.isRunning || TestNetwork.isAccepting(port: port) }
        guard ready, isRunning else {
            throw TestSupportError("redis-server did not start on port \(port) (is \(arguments[0]) installed?)")
        }
    }

    /// posix_spawn with an empty signal mask and default handlers: Foundation's `Process` would
    /// pass on the spawning thread's mask, in which SIGTERM may be blocked (redis then ignores it).
    private static func spawn(_ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw TestSupportError("cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// The exit status if `pid` has exited (reaping it), nil while it runs.
    private static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return nil }
        return status
    }

    private func terminate(signal: Int32) async throws {
        let pid = lock.withLock { self.pid }
        guard pid != 0 else { return }
        Foundation.kill(pid, signal)
        let exited = await TestNetwork.waitUntil(interval: .milliseconds(5)) { Self.reap(pid) != nil }
        guard exited else { throw TestSupportError("redis-server on port \(port) did not exit after signal \(signal)") }
        lock.withLock { self.pid = 0 }
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
