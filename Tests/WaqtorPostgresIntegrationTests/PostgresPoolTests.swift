import Foundation
import Testing
import WaqtorPostgres
import WaqtorTestSupport

/// Against the real PostgreSQL of tools/setup.sh. A test that cannot connect fails.
@Suite("PostgresPool (real server)")
struct PostgresPoolTests {
    static func appPool(size: Int = 4, acquireTimeout: Duration = .seconds(10), name: String = "waqtor-tests") -> PostgresPool {
        PostgresPool(configuration: PostgresConfiguration(
            connectionString: TestEnvironment.databaseURL, poolSize: size, acquireTimeout: acquireTimeout, applicationName: name))
    }

    static func ownerPool(size: Int = 2) -> PostgresPool {
        PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: size))
    }

    @Test func bindsEveryValueTypeIncludingNullAndHostileText() async throws {
        let pool = Self.appPool(size: 1)
        let hostile = "it's a \"quote\"; DROP TABLE users; -- héllo 🌍 \\ $1"
        let date = Date(timeIntervalSince1970: 1_712_345_678.654321)
        let bytes: [UInt8] = [0, 1, 2, 0x27, 0x5c, 0xff, 0]
        let rows = try await pool.query(
            """
            SELECT $1::text AS t, $2::int8 AS i, $3::bool AS b, $4::float8 AS d, $5::bytea AS by,
                   $6::timestamptz AS ts, $7::uuid AS u, $8::text AS n, $9::int4 AS n2, length($1) AS len
            """,
            [.text(hostile), .int(-9_007_199_254_740_993), .bool(true), .double(3.141592653589793), .bytea(bytes),
             .timestamptz(date), .uuid("0b5e6c1a-7c52-4d0e-9a43-2f1f1a1e8e01"), nil, .null])
        let row = try #require(rows.first)
        #expect(row["t"].string == hostile)
        #expect(row["len"].int == hostile.count)
        #expect(row["i"].int64 == -9_007_199_254_740_993)
        #expect(row["b"].bool == true)
        #expect(row["d"].double == 3.141592653589793)
        #expect(row["by"].bytes == bytes)
        #expect(abs(try #require(row["ts"].date).timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
        #expect(row["u"].uuid == "0b5e6c1a-7c52-4d0e-9a43-2f1f1a1e8e01")
        #expect(row["n"].isNull && row["n"].string == nil)
        #expect(row["n2"].isNull && row["n2"].int64 == nil)
        #expect(row[1].int64 == -9_007_199_254_740_993)
        #expect(rows.columns.first == "t")
        await pool.shutdown()
    }

    @Test func twoHundredConcurrentQueriesThroughFourConnections() async throws {
        let name = TestEnvironment.uniqueName("conc")
        // What is checked is that all 200 are served through 4 sessions, not how fast: the last
        // waiter queues behind 199 others, which on a loaded machine (the whole suite in
        // parallel) took more than the usual 10 s acquire timeout.
        let pool = Self.appPool(size: 4, acquireTimeout: .seconds(120), name: name)
        let sums = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<200 {
                group.addTask { try await pool.query("SELECT $1::int8 + 1 AS v", [.int(i)]).first?["v"].int64 ?? -1 }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(sums.sorted() == (1...200).map(Int64.init))
        // The pool never opened more than 4 sessions.
        let sessions = try await pool.query("SELECT count(*) AS c FROM pg_stat_activity WHERE application_name = $1", [.text(name)])
        #expect((sessions.first?["c"].int ?? 99) <= 4)
        await pool.shutdown()
    }

    @Test func waiterTimesOutWhenThePoolIsExhausted() async throws {
        let pool = Self.appPool(size: 1, acquireTimeout: .milliseconds(200))
        let (holding, holdingContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        async let held: Int = pool.withTransaction { tx in
            _ = try await tx.query("SELECT 1")
            holdingContinuation.yield()
            for await _ in release { break }
            return 1
        }
        for await _ in holding { break }
        let clock = ContinuousClock()
        let start = clock.now
        await #expect {
            _ = try await pool.query("SELECT 1")
        } throws: { error in
            (error as? PostgresError)?.kind == .poolTimeout
        }
        #expect(clock.now - start >= .milliseconds(190))
        releaseContinuation.yield()
        #expect(try await held == 1)
        // The pool works again once the connection is back.
        #expect(try await pool.query("SELECT 2 AS v").first?["v"].int == 2)
        await pool.shutdown()
    }

    @Test func transactionRollsBackWhenTheBodyThrows() async throws {
        let pool = Self.ownerPool()
        let schema = TestEnvironment.uniqueName("tx")
        _ = try await pool.query("CREATE SCHEMA \(schema)")
        _ = try await pool.query("CREATE TABLE \(schema).items (id int PRIMARY KEY)")
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await pool.withTransaction { tx in
                _ = try await tx.query("INSERT INTO \(schema).items VALUES ($1)", [.int(1)])
                throw Boom()
            }
        }
        let committed = try await pool.withTransaction { tx in
            try await tx.query("INSERT INTO \(schema).items VALUES ($1), ($2)", [.int(2), .int(3)]).rowsAffected
        }
        #expect(committed == 2)
        let ids = try await pool.query("SELECT id FROM \(schema).items ORDER BY id").map { $0["id"].int }
        #expect(ids == [2, 3])
        _ = try await pool.query("DROP SCHEMA \(schema) CASCADE")
        await pool.shutdown()
    }

    @Test func tenantSettingIsTransactionLocalOnAPooledConnection() async throws {
        let pool = Self.appPool(size: 1)
        let (inside, pidA) = try await pool.withTransaction(tenantID: "tenant-a") { tx in
            let row = try await tx.query("SELECT current_setting('app.tenant_id', true) AS t, pg_backend_pid() AS pid").first
            return (row?["t"].string, row?["pid"].int)
        }
        #expect(inside == "tenant-a")
        let (next, pidB) = try await pool.withTransaction { tx in
            let row = try await tx.query("SELECT current_setting('app.tenant_id', true) AS t, pg_backend_pid() AS pid").first
            return (row?["t"].string, row?["pid"].int)
        }
        #expect(pidA == pidB, "the same (only) connection was reused")
        #expect(next == nil || next == "", "the previous tenant's setting must not leak: got \(next ?? "nil")")
        let other = try await pool.withTransaction(tenantID: "tenant-b") { tx in
            try await tx.query("SELECT current_setting('app.tenant_id', true) AS t").first?["t"].string
        }
        #expect(other == "tenant-b")
        await pool.shutdown()
    }

    @Test func queryErrorIsTypedAndTheConnectionStaysUsable() async throws {
        let pool = Self.appPool(size: 1)
        let pidBefore = try await pool.query("SELECT pg_backend_pid() AS pid").first?["pid"].int
        do {
            _ = try await pool.query("SELECT 1 / $1::int AS x", [.int(0)])
            Issue.record("division by zero did not throw")
        } catch {
            #expect(error.kind == .queryFailed)
            #expect(error.sqlState == "22012")
            #expect(error.description.contains("22012"))
        }
        do {
            _ = try await pool.query("SELEC oops")
            Issue.record("syntax error did not throw")
        } catch {
            #expect(error.sqlState == "42601")
        }
        let pidAfter = try await pool.query("SELECT pg_backend_pid() AS pid").first?["pid"].int
        #expect(pidBefore != nil && pidBefore == pidAfter)
        await pool.shutdown()
    }

    @Test func uniqueViolationIsRecognisedAndCaughtErrorInTransactionAborts() async throws {
        let pool = Self.ownerPool(size: 1)
        let schema = TestEnvironment.uniqueName("uv")
        _ = try await pool.query("CREATE SCHEMA \(schema)")
        _ = try await pool.query("CREATE TABLE \(schema).emails (email text UNIQUE)")
        _ = try await pool.query("INSERT INTO \(schema).emails VALUES ($1)", [.text("a@example.com")])
        do {
            _ = try await pool.query("INSERT INTO \(schema).emails VALUES ($1)", [.text("a@example.com")])
            Issue.record("duplicate insert did not throw")
        } catch {
            #expect(error.isUniqueViolation)
            #expect(!error.description.contains("a@example.com"))
        }
        // A body that swallows a failed statement cannot commit.
        await #expect {
            try await pool.withTransaction { tx in
                _ = try? await tx.query("INSERT INTO \(schema).emails VALUES ($1)", [.text("a@example.com")])
                return 0
            }
        } throws: { error in
            (error as? PostgresError)?.kind == .transactionAborted
        }
        #expect(try await pool.query("SELECT count(*) AS c FROM \(schema).emails").first?["c"].int == 1)
        _ = try await pool.query("DROP SCHEMA \(schema) CASCADE")
        await pool.shutdown()
    }

    /// A call cancelled while its transaction is open (deadline, CANCEL, dropped connection) must
    /// roll back, and the connection must not reach the next lessee still inside that transaction:
    /// the next caller's COMMIT would otherwise commit the cancelled call's writes.
    @Test func cancelledTransactionNeverCommitsAndTheNextLesseeGetsACleanSession() async throws {
        let pool = Self.ownerPool(size: 1)
        let schema = TestEnvironment.uniqueName("cancel")
        _ = try await pool.query("CREATE SCHEMA \(schema)")
        _ = try await pool.query("CREATE TABLE \(schema).rows (label text)")
        let tenant = "8c6f2a51-3d0e-4b7a-9f21-5e8d0c4b1a77"
        let (wrote, wroteContinuation) = AsyncStream.makeStream(of: Void.self)
        let call = Task {
            try await pool.withTransaction(tenantID: tenant) { tx in
                _ = try await tx.query("INSERT INTO \(schema).rows VALUES ('cancelled call')")
                wroteContinuation.yield()
                try await Task.sleep(for: .seconds(600))  // ends by cancellation only
                _ = try await tx.query("INSERT INTO \(schema).rows VALUES ('never reached')")
                return 0
            }
        }
        for await _ in wrote { break }
        call.cancel()
        let outcome = await call.result
        #expect(throws: (any Error).self) { try outcome.get() }

        // The pool has one connection: the next caller gets the same slot. Its transaction starts
        // clean (no transaction id yet, no tenant setting), and its COMMIT commits only its own row.
        let session = try await pool.withTransaction { tx in
            let session = try await tx.query(
                "SELECT current_setting('app.tenant_id', true) AS tenant, pg_current_xact_id_if_assigned() IS NULL AS fresh")
            _ = try await tx.query("INSERT INTO \(schema).rows VALUES ('next caller')")
            return (tenant: session.first?["tenant"].string, fresh: session.first?["fresh"].bool)
        }
        #expect((session.tenant ?? "").isEmpty, "no tenant setting left over")
        #expect(session.fresh == true, "not inside the cancelled call's transaction (which wrote, so has an id)")
        let other = Self.ownerPool(size: 1)
        let labels = try await other.query("SELECT label FROM \(schema).rows ORDER BY label").map { $0["label"].string ?? "" }
        #expect(labels == ["next caller"])
        _ = try await other.query("DROP SCHEMA \(schema) CASCADE")
        await other.shutdown()
        await pool.shutdown()
    }

    /// A lease cancelled while waiting, and a statement whose task was cancelled before it ran,
    /// report ``PostgresError/Kind/cancelled`` and leave the pool fully usable.
    @Test func cancelledCallsReportCancelledAndThePoolStaysUsable() async throws {
        let pool = Self.appPool(size: 1)
        let (holding, holdingContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await pool.withTransaction { tx in
                _ = try await tx.query("SELECT 1")
                holdingContinuation.yield()
                for await _ in release { break }
                return 1
            }
        }
        for await _ in holding { break }
        let waiter = Task { try await pool.query("SELECT 1") }
        waiter.cancel()
        await #expect { _ = try await waiter.value } throws: { error in (error as? PostgresError)?.kind == .cancelled }
        releaseContinuation.yield()
        #expect(try await holder.value == 1)
        #expect(try await pool.query("SELECT 2 AS v").first?["v"].int == 2)
        await pool.shutdown()
    }

    @Test func pingMeasuresARoundTrip() async throws {
        let pool = Self.appPool(size: 1)
        let duration = try await pool.ping()
        #expect(duration > .zero)
        await pool.shutdown()
    }

    @Test func badPasswordFailsWithoutLeakingIt() async throws {
        let pool = PostgresPool(configuration: PostgresConfiguration(
            connectionString: "postgresql://waqtor_app:not-the-password@127.0.0.1:54329/waqtor_test", poolSize: 1))
        do {
            _ = try await pool.query("SELECT 1")
            Issue.record("wrong password connected")
        } catch {
            #expect(error.kind == .connectionFailed)
            #expect(!error.description.contains("not-the-password"))
        }
        await pool.shutdown()
    }

    @Test func shutdownPoolRefusesWork() async throws {
        let pool = Self.appPool(size: 1)
        _ = try await pool.query("SELECT 1")
        await pool.shutdown()
        await #expect {
            _ = try await pool.query("SELECT 1")
        } throws: { error in
            (error as? PostgresError)?.kind == .closed
        }
    }
}
