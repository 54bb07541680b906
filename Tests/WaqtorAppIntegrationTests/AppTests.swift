import NIOCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import WaqtorApp
@testable import WaqtorAPI
@testable import WaqtorWebhooks
import WaqtorInstances
import WaqtorTenants
import WaqtorCore
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport
import WaqtorHTTP

func testConfiguration(shards: [String] = TestEnvironment.redisShards) -> WaqtorConfiguration {
    var configuration = WaqtorConfiguration()
    configuration.rpcPort = 0
    configuration.webhookPort = 0
    configuration.databaseURL = TestEnvironment.databaseURL
    configuration.databaseMigrationURL = TestEnvironment.databaseOwnerURL
    configuration.redisShards = shards
    configuration.healthCheckTimeout = .seconds(3)
    configuration.rpcShutdownGrace = .seconds(5)
    // No embedded gateway (its fixed port would clash between parallel tests); tests that need
    // one start a simulator of their own and point gateway.url at it.
    configuration.gatewayURL = "http://127.0.0.1:9"
    // The admin listener on a free port (its default one would clash between parallel tests).
    configuration.adminPort = 0
    // Likewise no embedded AI stand-in: tests of drafting start their own.
    configuration.aiURL = "http://127.0.0.1:9/api/v1"
    configuration.webhookPublicURL = ""
    return configuration
}

var quietLogger: Logger {
    var logger = Logger(label: "waqtor.test")
    logger.logLevel = .error
    return logger
}

/// Starts the application in-process on a free port, runs `body` with a client, and stops it.
func withApplication<T>(
    _ configuration: WaqtorConfiguration = testConfiguration(), logger: Logger = quietLogger,
    clock: any WaqtorClock = SystemClock(),
    _ body: (WaqtorApplication, RPCClient) async throws -> T
) async throws -> T {
    let app = try WaqtorApplication(configuration: configuration, logger: logger, clock: clock)
    try await app.start()
    let client = RPCClient(host: "127.0.0.1", port: try #require(app.rpcPort))
    do {
        let result = try await body(app, client)
        await client.close()
        await app.shutdown()
        return result
    } catch {
        await client.close()
        await app.shutdown()
        throw error
    }
}

@Suite("Server application")
struct ApplicationTests {
    @Test("readiness reports PostgreSQL and both real Redis shards as ready")
    func readinessAllUp() async throws {
        try await withApplication { _, client in
            let health = Waqtor_V1_HealthServiceClient(client: client)
            let readiness = try await health.readiness(Waqtor_V1_ReadinessRequest())
            #expect(readiness.ready)
            // The gateway (none at 127.0.0.1:9 here) is reported last, and is not required.
            #expect(readiness.components.map(\.name) == ["postgres", "redis-shard-0", "redis-shard-1", "gateway"])
            let required = readiness.components.filter { $0.name != "gateway" }
            #expect(required.allSatisfy { $0.ready && $0.latencyMicros > 0 })
            #expect(required.allSatisfy { $0.detail.isEmpty }, "no addresses in the public answer")
        }
        // The admin listener has the details.
        try await withApplication { app, _ in
            let (status, body) = try await adminGet(app, "/health/ready")
            #expect(status == 200)
            let components = try #require(body["components"] as? [[String: Any]])
            #expect(components.map { $0["name"] as? String } == ["postgres", "redis-shard-0", "redis-shard-1", "gateway"])
            #expect(components[1]["detail"] as? String == TestEnvironment.redisShards[0])
        }
    }

    @Test("readiness names the shard that is down, and the others stay ready")
    func readinessShardDown() async throws {
        let doomed = try await ThrowawayRedis.start()
        let shards = [TestEnvironment.redisShards[0], doomed.address]
        try await withApplication(testConfiguration(shards: shards)) { app, client in
            let health = Waqtor_V1_HealthServiceClient(client: client)
            #expect(try await health.readiness(Waqtor_V1_ReadinessRequest()).ready)
            try await doomed.kill()
            let readiness = try await health.readiness(Waqtor_V1_ReadinessRequest())
            #expect(!readiness.ready)
            let byName = Dictionary(uniqueKeysWithValues: readiness.components.map { ($0.name, $0) })
            #expect(byName["postgres"]?.ready == true)
            #expect(byName["redis-shard-0"]?.ready == true)
            let down = try #require(byName["redis-shard-1"])
            #expect(!down.ready)
            #expect(!down.detail.contains(doomed.address), "no address in the public answer")
            let (status, body) = try await adminGet(app, "/health/ready")
            #expect(status == 503 && body["ready"] as? Bool == false)
            let detail = try #require((body["components"] as? [[String: Any]])?.first { $0["name"] as? String == "redis-shard-1" }?["detail"] as? String)
            #expect(detail.contains("shard 1") && detail.contains(doomed.address))
        }
    }

    @Test("readiness reports PostgreSQL down with a clear detail")
    func readinessPostgresDown() async throws {
        var configuration = testConfiguration()
        let port = try TestNetwork.freeLocalPort()
        configuration.databaseURL = "postgresql://waqtor_app:x@127.0.0.1:\(port)/waqtor_test"
        configuration.databaseMigrate = false
        try await withApplication(configuration) { app, client in
            let readiness = try await Waqtor_V1_HealthServiceClient(client: client).readiness(Waqtor_V1_ReadinessRequest())
            #expect(!readiness.ready)
            let postgres = try #require(readiness.components.first { $0.name == "postgres" })
            #expect(!postgres.ready)
            #expect(!postgres.detail.contains("waqtor_app:x"), "no credentials in the detail")
            let (_, body) = try await adminGet(app, "/health/ready")
            let detail = try #require((body["components"] as? [[String: Any]])?.first { $0["name"] as? String == "postgres" }?["detail"] as? String)
            #expect(!detail.isEmpty && !detail.contains("waqtor_app:x"), "a clear detail, without credentials")
        }
    }

    @Test("ping echoes the payload with the server's time")
    func ping() async throws {
        try await withApplication { _, client in
            var request = Waqtor_V1_PingRequest()
            request.payload = Array("hello ✓".utf8)
            let before = Date()
            let response = try await Waqtor_V1_HealthServiceClient(client: client).ping(request)
            #expect(response.payload == request.payload)
            let serverTime = try #require(response.serverTime).date
            #expect(abs(serverTime.timeIntervalSince(before)) < 60)
        }
    }

    @Test("a malformed request message gives INVALID_ARGUMENT from the real service")
    func malformedMessage() async throws {
        try await withApplication { _, client in
            // Field 1 (bytes) announcing 127 bytes that never come.
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "waqtor.v1.HealthService/Ping", request: RawMessage(bytes: .init(bytes: [0x0A, 0x7F, 1])), responseType: Waqtor_V1_PingResponse.self)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("waqtor.v1.PingRequest") == true)
            let unknown = await #expect(throws: RPCError.self) {
                _ = try await client.unary(method: "waqtor.v1.NoSuchService/Ping", request: Waqtor_V1_PingRequest(), responseType: Waqtor_V1_PingResponse.self)
            }
            #expect(unknown?.code == .unimplemented)
        }
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults < file < environment < --set, keys validated with their source named")
    func precedence() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("waqtor-config-\(UUID().uuidString).json")
        try Data(#"{"rpc": {"port": 7001, "host": "0.0.0.0"}, "redis.shards": ["h:1", "h:2", "h:3"], "database": {"migrate": false}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let fromFile = try ConfigurationLoader.load(file: file.path, environment: [:])
        #expect(fromFile.rpcPort == 7001)
        #expect(fromFile.rpcHost == "0.0.0.0")
        #expect(fromFile.redisShards == ["h:1", "h:2", "h:3"])
        #expect(fromFile.databaseMigrate == false)

        let withEnv = try ConfigurationLoader.load(file: file.path, environment: ["WAQTOR_RPC_PORT": "7002", "WAQTOR_LOG_FORMAT": "text"])
        #expect(withEnv.rpcPort == 7002)
        #expect(withEnv.logFormat == .text)

        let withFlag = try ConfigurationLoader.load(file: file.path, environment: ["WAQTOR_RPC_PORT": "7002"], overrides: ["rpc.port=7003"])
        #expect(withFlag.rpcPort == 7003)
        #expect(withFlag.rpcHost == "0.0.0.0")
    }

    @Test("bad values and unknown keys are refused with a message naming the key and source")
    func errors() {
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(environment: ["WAQTOR_RPC_PORT": "70000"]) }
        do {
            _ = try ConfigurationLoader.load(environment: ["WAQTOR_RPC_PORT": "seven"])
            Issue.record("accepted a non-numeric port")
        } catch {
            #expect(error.description.contains("rpc.port"))
            #expect(error.description.contains("WAQTOR_RPC_PORT"))
        }
        do {
            _ = try ConfigurationLoader.load(environment: [:], overrides: ["rpc.prot=1"])
            Issue.record("accepted an unknown key")
        } catch {
            #expect(error.description.contains("rpc.prot"))
        }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(environment: [:], overrides: ["redis.shards=nohostport"]) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(environment: [:], overrides: ["role=boss"]) }
    }

    @Test("the printed configuration hides passwords")
    func redaction() throws {
        let configuration = try ConfigurationLoader.load(environment: ["WAQTOR_DATABASE_URL": "postgresql://u:s3cret@h:1/db"])
        let text = ConfigurationDescription.lines(configuration).joined(separator: "\n")
        #expect(!text.contains("s3cret"))
        #expect(text.contains("postgresql://u:***@h:1/db"))
    }
}

/// GET on the application's admin listener: the status and the body parsed as a JSON object (an
/// empty one when it is not JSON).
func adminGet(_ app: WaqtorApplication, _ path: String) async throws -> (status: Int, json: [String: Any]) {
    let (status, text) = try await adminGetText(app, path)
    let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    return (status, json)
}

/// GET on the application's admin listener: the status and the body as text.
func adminGetText(_ app: WaqtorApplication, _ path: String) async throws -> (status: Int, text: String) {
    let http = HTTPClient()
    defer { Task { await http.shutdown() } }
    let port = try #require(app.adminServer.localPort)
    let response = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(port)\(path)", timeout: .seconds(10)))
    return (response.status, response.bodyString)
}

/// The `waqtor-server` executable built beside the test bundle.
func serverExecutable() throws -> URL {
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
        let url = candidate.appendingPathComponent("waqtor-server")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw TestSupportError("waqtor-server not found next to \(CommandLine.arguments[0]); build it with `swift build --build-tests`")
}

@Suite("waqtor-server process")
struct ServerProcessTests {
    @Test("on SIGTERM, calls in flight complete, new calls get UNAVAILABLE, and the process exits 0")
    func sigterm() async throws {
        let port = try TestNetwork.freeLocalPort()
        let process = ChildProcess()
        process.executableURL = try serverExecutable()
        process.arguments = ["serve"]
        var environment = ProcessInfo.processInfo.environment
        environment["WAQTOR_RPC_PORT"] = "\(port)"
        environment["WAQTOR_DATABASE_URL"] = TestEnvironment.databaseURL
        environment["WAQTOR_DATABASE_MIGRATION_URL"] = TestEnvironment.databaseOwnerURL
        environment["WAQTOR_REDIS_SHARDS"] = TestEnvironment.redisShards.joined(separator: ",")
        environment["WAQTOR_LOG_FORMAT"] = "json"
        environment["WAQTOR_WEBHOOK_PORT"] = "\(try TestNetwork.freeLocalPort())"
        environment["WAQTOR_GATEWAY_EMBEDDED_PORT"] = "\(try TestNetwork.freeLocalPort())"
        environment["WAQTOR_ADMIN_PORT"] = "0"
        // Its send queue, chat projector and media fetcher serve no tenant of the tests running
        // beside it (its embedded gateway knows none of their numbers).
        environment["WAQTOR_SEND_TENANTS"] = UUID().uuidString.lowercased()
        environment["WAQTOR_SEND_KEY_PREFIX"] = "wqt-\(UUID().uuidString.prefix(8))"
        environment["WAQTOR_CHAT_TENANTS"] = UUID().uuidString.lowercased()
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        let exited = Signal()
        process.terminationHandler = { _ in exited.fire() }
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        #expect(await TestNetwork.waitUntil(timeout: .seconds(30)) { TestNetwork.isAccepting(port: port) }, "the server did not start listening")

        let okCalls = NIOLockedValueBox(0)
        let otherErrors = NIOLockedValueBox<[String]>([])
        let someCallsDone = Signal()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    let client = RPCClient(host: "127.0.0.1", port: port)
                    let health = Waqtor_V1_HealthServiceClient(client: client)
                    defer { Task { await client.close() } }
                    while true {
                        do {
                            var request = Waqtor_V1_PingRequest()
                            request.payload = Array("w\(worker)".utf8)
                            let response = try await health.ping(request)
                            guard response.payload == request.payload else {
                                otherErrors.withLockedValue { $0.append("wrong payload") }
                                return
                            }
                            if okCalls.withLockedValue({ $0 += 1; return $0 }) == 200 { someCallsDone.fire() }
                        } catch {
                            if (error as? RPCError)?.code != .unavailable { otherErrors.withLockedValue { $0.append("\(error)") } }
                            return
                        }
                    }
                }
            }
            await someCallsDone.wait()
            // One signal: a second one would end the server at once instead of draining.
            kill(process.processIdentifier, SIGTERM)
            try await group.waitForAll()
        }
        await exited.wait()
        #expect(process.terminationStatus == 0)
        #expect(otherErrors.withLockedValue { $0 }.isEmpty, "calls failed with something other than UNAVAILABLE")
        #expect(okCalls.withLockedValue { $0 } >= 200)
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("\"message\":\"shutting down\""))
        #expect(log.contains("\"message\":\"stopped\""))
        #expect(!TestNetwork.isAccepting(port: port))
    }
}

