import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import WaqtorApp
@testable import WaqtorAPI
@testable import WaqtorWebhooks
import WaqtorInstances
import WaqtorTenants
import WaqtorCore
import WaqtorProto
import WaqtorRPC
import WaqtorPostgres
import WaqtorTestSupport

@Suite("Outages and cancellation reach the caller with the right status")
struct OutageStatusTests {
    @Test("a Redis shard that cannot be reached is UNAVAILABLE with retry-after-ms, naming the shard")
    func redisShardDownIsUnavailable() async throws {
        let doomed = try await ThrowawayRedis.start()
        try await withApplication(testConfiguration(shards: [doomed.address])) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            try await doomed.kill()
            var login = Waqtor_V1_LoginRequest()
            login.email = TestEnvironment.uniqueName("nobody") + "@example.com"
            login.password = "correct horse battery"
            do {
                _ = try await tenants.login(login)
                Issue.record("login answered although its Redis shard is down")
            } catch let error as RPCError {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("Redis shard 0"))
                let retryAfter = try #require(error.metadata[Metadata.Keys.retryAfterMilliseconds].flatMap { Int($0) })
                #expect(retryAfter > 0)
            }
        }
    }

    /// What a PostgreSQL restart does to a running server: its pooled connection is ended by the
    /// server. The call that meets the dead connection is UNAVAILABLE with a retry hint (it was
    /// INTERNAL), and the next call succeeds on a new connection.
    @Test("a database connection ended under the server is UNAVAILABLE with retry-after-ms, then the next call works")
    func databaseConnectionEndedIsUnavailableThenRecovers() async throws {
        var configuration = testConfiguration()
        configuration.databasePoolSize = 1
        try await withApplication(configuration) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            _ = try await tenants.getUsage(Waqtor_V1_GetUsageRequest(), options: account.auth)
            let pid = try #require(try await app.postgres.query("SELECT pg_backend_pid() AS pid").first?["pid"].int)
            let admin = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseURL, poolSize: 1))
            let ended = try await admin.query("SELECT pg_terminate_backend($1::int4) AS ended", [.int(pid)]).first?["ended"].bool
            await admin.shutdown()
            #expect(ended == true)

            do {
                _ = try await tenants.getUsage(Waqtor_V1_GetUsageRequest(), options: account.auth)
                Issue.record("a call on the ended connection answered OK")
            } catch let error as RPCError {
                #expect(error.code == .unavailable, "got \(error)")
                #expect(error.metadata[Metadata.Keys.retryAfterMilliseconds].flatMap { Int($0) } ?? 0 > 0)
            }
            _ = try await tenants.getUsage(Waqtor_V1_GetUsageRequest(), options: account.auth)
        }
    }

    /// A call whose deadline passes while its handler waits inside the database driver: the
    /// handler's own error (the cancelled database work) is CANCELLED (DEADLINE_EXCEEDED once the
    /// deadline has passed) and logged at debug, not INTERNAL "handler failed" at error level.
    @Test("a call cancelled inside the database driver ends as DEADLINE_EXCEEDED or CANCELLED, logged at debug, not as a failure")
    func cancelledInsideTheDriverIsNotAFailure() async throws {
        let logs = CapturedLogs()
        let app = try WaqtorApplication(configuration: testConfiguration(), logger: logs.logger)
        try await app.start()
        let client = RPCClient(host: "127.0.0.1", port: try #require(app.rpcPort))
        let tenants = Waqtor_V1_TenantServiceClient(client: client)
        let account = try await signUp(tenants)

        // Hold a lock on the tenant's row, so that UpdateProfile's write waits inside libpq.
        let owner = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: 1))
        let (locked, lockedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (unlock, unlockContinuation) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await owner.withTransaction { tx in
                _ = try await tx.query("SELECT id FROM tenants WHERE id = $1::uuid FOR UPDATE", [.uuid(account.tenant.id)])
                lockedContinuation.yield()
                for await _ in unlock { break }
            }
        }
        for await _ in locked { break }

        var update = Waqtor_V1_UpdateProfileRequest()
        update.name = "Renamed while locked"
        var options = account.auth
        options.timeout = .milliseconds(300)
        let finishedBefore = logs.records.filter { $0.message == "call finished" }.count
        let code = await rpcCode { _ = try await tenants.updateProfile(update, options: options) }
        #expect(code == .deadlineExceeded)

        unlockContinuation.yield()
        try await holder.value
        await owner.shutdown()
        // The handler ends once its statement returns ("call finished", at debug, ends every call).
        try await awaitCondition("the cancelled call's handler ended") {
            logs.records.filter { $0.message == "call finished" }.count > finishedBefore
        }
        // Its ending is never a failure (before the fix it was logged at error level as one).
        #expect(!logs.records.contains { $0.message == "handler failed" })
        // When the cancellation reached the handler's next database step, it ended early, logged at
        // debug: DEADLINE_EXCEEDED when the server's deadline timer ended the call, CANCELLED when
        // the client's own timeout (which starts first) sent CANCEL before it. (When the statement
        // that waited on the lock was the handler's last step, the handler simply finished.)
        if let ended = logs.records.first(where: { $0.message == "call ended early" }) {
            #expect(ended.level == .debug)
            #expect(["DEADLINE_EXCEEDED", "CANCELLED"].contains(ended.metadata["status"] ?? ""), "\(ended.metadata)")
        }

        await client.close()
        await app.shutdown()
    }
}
