import Foundation
import NIOConcurrencyHelpers
import Testing
import WaqtorProto
import WaqtorRPC
import WaqtorPostgres
import WaqtorTestSupport

/// A `waqtor-server serve` child process with its own ports, whose JSON log lines can be awaited.
final class ServerProcess: Sendable {
    let rpcPort: Int
    let webhookPort: Int
    let gatewayPort: Int
    /// The embedded OpenRouter stand-in's port (`ai.url = embedded`).
    let aiPort: Int
    /// The admin listener's port (every role).
    let adminPort: Int
    private let process: ChildProcess
    private let exited = Signal()
    private let log = NIOLockedValueBox<(text: String, waiters: [(needle: String, signal: Signal)])>(("", []))

    /// - Parameter limits: shell `ulimit` options (e.g. `-Sn 1024`) set before the server starts
    ///   (through `/bin/sh`, which then execs it: the process is still the server).
    init(role: String, rpcPort: Int? = nil, extraEnvironment: [String: String] = [:], limits: String? = nil) throws {
        self.rpcPort = try rpcPort ?? TestNetwork.freeLocalPort()
        webhookPort = try TestNetwork.freeLocalPort()
        gatewayPort = try TestNetwork.freeLocalPort()
        aiPort = try TestNetwork.freeLocalPort()
        adminPort = try TestNetwork.freeLocalPort()
        process = ChildProcess()
        if let limits {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit \(limits) && exec \"$0\" \"$@\"", try serverExecutable().path, "serve", "--role", role]
        } else {
            process.executableURL = try serverExecutable()
            process.arguments = ["serve", "--role", role]
        }
        var environment = ProcessInfo.processInfo.environment
        environment["WAQTOR_RPC_PORT"] = "\(self.rpcPort)"
        environment["WAQTOR_WEBHOOK_PORT"] = "\(webhookPort)"
        environment["WAQTOR_GATEWAY_URL"] = "embedded"
        environment["WAQTOR_GATEWAY_EMBEDDED_PORT"] = "\(gatewayPort)"
        environment["WAQTOR_AI_URL"] = "embedded"
        environment["WAQTOR_AI_EMBEDDED_PORT"] = "\(aiPort)"
        environment["WAQTOR_ADMIN_PORT"] = "\(adminPort)"
        environment["WAQTOR_DATABASE_URL"] = TestEnvironment.databaseURL
        environment["WAQTOR_DATABASE_MIGRATION_URL"] = TestEnvironment.databaseOwnerURL
        environment["WAQTOR_REDIS_SHARDS"] = TestEnvironment.redisShards.joined(separator: ",")
        environment["WAQTOR_LOG_FORMAT"] = "json"
        // Its send queue serves no tenant of the tests running beside it (unless a test says whom).
        environment["WAQTOR_SEND_TENANTS"] = UUID().uuidString.lowercased()
        // Nor does it project other tests' chat events or fetch their media.
        environment["WAQTOR_CHAT_TENANTS"] = UUID().uuidString.lowercased()
        // Nor does its scheduler start other tests' campaigns (they run schedulers of their own).
        environment["WAQTOR_CAMPAIGN_SCHEDULER_INTERVAL_MS"] = "3600000"
        for (key, value) in extraEnvironment { environment[key] = value }
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        errors.fileHandleForReading.readabilityHandler = { [log] handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            let ready = log.withLockedValue { log -> [Signal] in
                log.text += chunk
                let text = log.text
                let ready = log.waiters.filter { text.contains($0.needle) }.map(\.signal)
                log.waiters.removeAll { text.contains($0.needle) }
                return ready
            }
            for signal in ready { signal.fire() }
        }
        let exited = self.exited
        process.terminationHandler = { [log] _ in
            // A process that ended wakes every log waiter: what it did not print, it never will.
            let waiting = log.withLockedValue { log -> [Signal] in
                defer { log.waiters = [] }
                return log.waiters.map(\.signal)
            }
            for signal in waiting { signal.fire() }
            exited.fire()
        }
        try process.run()
    }

    deinit { if process.isRunning { process.terminate() } }

    /// Returns whether a log line with `"message":"<message>"` was printed, once it was or the
    /// process has ended.
    @discardableResult
    func waitForLog(message: String) async -> Bool {
        let needle = "\"message\":\"\(message)\""
        let signal = Signal()
        let waiting = log.withLockedValue { log -> Bool in
            if log.text.contains(needle) || exited.isFired { return false }
            log.waiters.append((needle, signal))
            return true
        }
        if waiting { await signal.wait() }
        return logText.contains(needle)
    }

    var logText: String { log.withLockedValue { $0.text } }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    var pid: Int32 { process.processIdentifier }

    /// The TCP ports the process listens on: its socket descriptors (`/proc/<pid>/fd`) matched with
    /// the kernel's LISTEN entries (`/proc/net/tcp`, `tcp6`). Exact, unlike probing a port with a
    /// connection, which can meet another process's socket or connect to itself.
    func listeningPorts() throws -> Set<Int> {
        let pid = process.processIdentifier
        func socketInodes() throws -> Set<String> {
            var inodes: Set<String> = []
            for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(entry)"),
                      target.hasPrefix("socket:[") else { continue }
                inodes.insert(String(target.dropFirst("socket:[".count).dropLast()))
            }
            return inodes
        }
        let before = try socketInodes()
        // Only sockets of the process seen before and after reading the tables: an inode the
        // process closed meanwhile (its Redis, PostgreSQL or HTTP connections come and go) may have
        // been reused by another process's listener.
        var found: [(port: Int, inode: String)] = []
        for table in ["/proc/\(pid)/net/tcp", "/proc/\(pid)/net/tcp6"] {
            // Read to the end: these files report size 0, and a read sized by it stops at one page.
            guard let handle = FileHandle(forReadingAtPath: table) else { continue }
            let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            try? handle.close()
            for line in text.split(separator: "\n").dropFirst() {
                let columns = line.split(separator: " ")
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                guard columns.count > 9, columns[3] == "0A", before.contains(String(columns[9])),
                      let portHex = columns[1].split(separator: ":").last, let port = Int(portHex, radix: 16) else { continue }
                found.append((port, String(columns[9])))
            }
        }
        let after = try socketInodes()
        return Set(found.filter { after.contains($0.inode) }.map(\.port))
    }

    /// Waits for the process to exit and returns its status; nil when it was still running after
    /// `patience` (then it is killed, so that a broken shutdown fails the test instead of hanging it).
    func waitForExit(patience: Duration = .seconds(60)) async -> Int32? {
        let exited = self.exited
        let inTime = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await exited.wait(); return true }
            group.addTask { try? await Task.sleep(for: patience); return false }
            let first = await group.next()!
            if !first { kill(process.processIdentifier, SIGKILL) }
            group.cancelAll()  // ends the timer; a killed process still reports its exit
            await group.waitForAll()
            return first
        }
        return inTime ? process.terminationStatus : nil
    }
}

@Suite("Roles and the server's lifecycle (waqtor-server processes)")
struct RoleTests {
    @Test("api serves RPC, webhooks, the embedded gateway and AI stand-in; a worker opens only the admin listener; all does both; SIGTERM stops each cleanly",
          arguments: ["api", "worker", "all"])
    func whatEachRoleListensOn(role: String) async throws {
        let server = try ServerProcess(role: role)
        try #require(await server.waitForLog(message: "waqtor-server ready"), "\(server.logText)")
        let servesAPI = role != "worker"
        let listening = try server.listeningPorts()
        if servesAPI {
            #expect(listening == [server.rpcPort, server.webhookPort, server.gatewayPort, server.aiPort, server.adminPort],
                    "RPC, webhook, embedded gateway, embedded AI stand-in and admin ports")
        } else {
            #expect(listening == [server.adminPort], "a worker opens only the admin listener (its metrics)")
        }
        #expect(server.logText.contains("\"role\":\"\(role)\""))
        if servesAPI {
            let client = RPCClient(host: "127.0.0.1", port: server.rpcPort)
            let health = Waqtor_V1_HealthServiceClient(client: client)
            var ping = Waqtor_V1_PingRequest()
            ping.payload = Array(role.utf8)
            #expect(try await health.ping(ping).payload == Array(role.utf8))
            await client.close()
        }
        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)
        #expect(server.logText.contains("\"message\":\"shutting down\""))
        #expect(server.logText.contains("\"message\":\"stopped\""))
    }

    /// A part that cannot start (its port is taken) ends the whole server with an error, instead
    /// of leaving it half up: the ready line, waiting for that part, must not hold the group.
    @Test("a server whose RPC port is taken exits with status 1 and never says it is ready")
    func portTakenEndsTheServer() async throws {
        var configuration = RPCServerConfiguration(port: 0)
        configuration.host = "127.0.0.1"
        let squatter = RPCServer(configuration: configuration, router: RPCRouter(), logger: quietLogger)
        try await squatter.start()
        let server = try ServerProcess(role: "api", rpcPort: try #require(squatter.localPort))
        #expect(await server.waitForLog(message: "waqtor-server ready") == false)
        #expect(await server.waitForExit() == 1)
        #expect(server.logText.contains("\"message\":\"server failed\""))
        await squatter.shutdown()
    }

    /// A server started with a soft limit of 1024 open files raises it to its hard limit and says
    /// so; one whose hard limit is 1024 too stays there and warns that its listeners may accept
    /// more connections than that.
    @Test("the server raises its soft limit of open files to the hard one, and warns when that is below its listeners' maximum")
    func openFilesLimit() async throws {
        let hard = try #require(OpenFilesLimitProbe.hardLimit(), "the test process's RLIMIT_NOFILE")
        try #require(hard > 1024, "this test needs a hard limit of open files above 1024 (it is \(hard))")
        let raised = try ServerProcess(role: "worker", limits: "-Sn 1024")
        try #require(await raised.waitForLog(message: "waqtor-server ready"), "\(raised.logText)")
        let line = try #require(raised.logText.split(separator: "\n").first { $0.contains("\"message\":\"open files limit\"") })
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let metadata = fields["metadata"] as? [String: Any] ?? fields
        #expect(metadata["soft_at_start"] as? String == "1024", "\(line)")
        #expect(metadata["soft"] as? String == "\(hard)", "\(line)")
        #expect(try OpenFilesLimitProbe.softLimit(pid: raised.pid) == hard, "what /proc says of the running server")
        #expect(!raised.logText.contains("the limit of open files is below"))
        raised.signal(SIGTERM)
        #expect(await raised.waitForExit() == 0)

        let capped = try ServerProcess(role: "api", limits: "-n 1024")
        try #require(await capped.waitForLog(message: "waqtor-server ready"), "\(capped.logText)")
        #expect(try OpenFilesLimitProbe.softLimit(pid: capped.pid) == 1024)
        #expect(capped.logText.contains("the limit of open files is below rpc.max_connections + webhook.max_connections"), "\(capped.logText)")
        capped.signal(SIGTERM)
        #expect(await capped.waitForExit() == 0)
    }

    /// The first SIGTERM drains: a call in flight is waited for (here for up to an hour, since it
    /// waits on a row lock). The second one ends the process at once: the call gets no answer.
    @Test("a second signal ends the server at once, without waiting for calls in flight")
    func secondSignalEndsAtOnce() async throws {
        let server = try ServerProcess(role: "api", extraEnvironment: ["WAQTOR_RPC_SHUTDOWN_GRACE_MS": "3600000"])
        try #require(await server.waitForLog(message: "waqtor-server ready"), "\(server.logText)")
        let client = RPCClient(host: "127.0.0.1", port: server.rpcPort)
        let tenants = Waqtor_V1_TenantServiceClient(client: client)
        let account = try await signUp(tenants)

        // Hold the tenant's row, so that UpdateProfile waits inside the database.
        let owner = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: 2))
        let (locked, lockedContinuation) = AsyncStream.makeStream(of: Int.self)
        let (unlock, unlockContinuation) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await owner.withTransaction { tx in
                _ = try await tx.query("SELECT id FROM tenants WHERE id = $1::uuid FOR UPDATE", [.uuid(account.tenant.id)])
                lockedContinuation.yield(try await tx.query("SELECT pg_backend_pid() AS pid").first?["pid"].int ?? 0)
                for await _ in unlock { break }
            }
        }
        var holderPID = 0
        for await pid in locked { holderPID = pid; break }
        var update = Waqtor_V1_UpdateProfileRequest()
        update.name = "Renamed during shutdown"
        let call = Task { await rpcError { _ = try await tenants.updateProfile(update, options: account.auth) } }
        // The call is in flight once a statement waits for the lock this test holds (polled: no
        // event tells us).
        var waiting = false
        let giveUp = ContinuousClock.now + .seconds(30)
        while !waiting, ContinuousClock.now < giveUp {
            let rows = try await owner.query(
                "SELECT count(*) AS c FROM pg_stat_activity WHERE $1::int4 = ANY(pg_blocking_pids(pid))", [.int(holderPID)])
            waiting = (rows.first?["c"].int ?? 0) > 0
            if !waiting { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(waiting, "the call never reached the database")

        server.signal(SIGTERM)
        #expect(await server.waitForLog(message: "rpc server draining"))
        server.signal(SIGTERM)
        let status = await server.waitForExit()
        #expect(status == 0)
        let error = await call.value
        #expect(error?.code == .unavailable, "the call in flight was cut off: \(String(describing: error))")

        unlockContinuation.yield()
        try await holder.value
        await owner.shutdown()
        await client.close()
    }
}

/// RLIMIT_NOFILE of this process, and the soft one of another read from `/proc/<pid>/limits`.
enum OpenFilesLimitProbe {
    static func hardLimit() -> UInt64? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_max != rlim_t.max else { return nil }
        return UInt64(limit.rlim_max)
    }

    static func softLimit(pid: Int32) throws -> UInt64? {
        let text = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") }) else { return nil }
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.flatMap { UInt64($0) }
    }
}
