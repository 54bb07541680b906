import WaqtorSchema
import Foundation
import Testing
import WaqtorPostgres
import WaqtorTestSupport

@Suite("Migrator (real server, owner role)")
struct MigratorTests {
    static let owner = PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: 1)

    static func dropSchema(_ schema: String) async throws {
        let pool = PostgresPool(configuration: owner)
        _ = try await pool.query("DROP SCHEMA IF EXISTS \(schema) CASCADE")
        await pool.shutdown()
    }

    static let sampleMigrations = [
        Migration(version: 1, name: "create_counter", sql: "CREATE TABLE applied_log (version int NOT NULL); SELECT pg_sleep(0.1);"),
        Migration(version: 2, name: "log_two", sql: "INSERT INTO applied_log VALUES (2);"),
        Migration(version: 3, name: "log_three", sql: "INSERT INTO applied_log VALUES (3); CREATE TABLE later (id int);"),
    ]

    @Test func twoConcurrentMigratorsApplyEachMigrationOnce() async throws {
        let schema = TestEnvironment.uniqueName("mig")
        let a = try Migrator(configuration: Self.owner, migrations: Self.sampleMigrations, schema: schema)
        let b = try Migrator(configuration: Self.owner, migrations: Self.sampleMigrations, schema: schema)
        async let reportA = a.migrate()
        async let reportB = b.migrate()
        let (ra, rb) = try await (reportA, reportB)
        let appliedVersions = (ra.applied + rb.applied).map(\.version).sorted()
        #expect(appliedVersions == [1, 2, 3], "each migration applied by exactly one migrator")
        #expect(ra.applied.isEmpty || rb.applied.isEmpty, "the lock serialises whole runs")

        let pool = PostgresPool(configuration: Self.owner)
        let log = try await pool.query("SELECT version FROM \(schema).applied_log ORDER BY version").map { $0["version"].int }
        #expect(log == [2, 3])
        let records = try await pool.query("SELECT version, name, checksum, applied_at FROM \(schema).schema_migrations ORDER BY version")
        #expect(records.map { $0["version"].int } == [1, 2, 3])
        #expect(records.map { $0["checksum"].string } == Self.sampleMigrations.map(\.checksum))
        #expect(records.allSatisfy { $0["applied_at"].date != nil })
        await pool.shutdown()

        // A third run has nothing to do.
        let again = try await a.migrate()
        #expect(again.applied.isEmpty && again.alreadyApplied.count == 3)
        try await Self.dropSchema(schema)
    }

    @Test func changedChecksumIsRefused() async throws {
        let schema = TestEnvironment.uniqueName("mig")
        try await Migrator(configuration: Self.owner, migrations: Array(Self.sampleMigrations.prefix(2)), schema: schema).migrate()
        var edited = Self.sampleMigrations
        edited[1] = Migration(version: 2, name: "log_two", sql: "INSERT INTO applied_log VALUES (22);")
        do {
            try await Migrator(configuration: Self.owner, migrations: edited, schema: schema).migrate()
            Issue.record("an edited migration was accepted")
        } catch {
            #expect(error.kind == .checksumMismatch)
            #expect(error.version == 2)
        }
        // Nothing after the mismatch was applied.
        let pool = PostgresPool(configuration: Self.owner)
        #expect(try await pool.query("SELECT count(*) AS c FROM \(schema).schema_migrations").first?["c"].int == 2)
        await pool.shutdown()
        try await Self.dropSchema(schema)
    }

    @Test func failedMigrationRollsBackAndIsNotRecorded() async throws {
        let schema = TestEnvironment.uniqueName("mig")
        let broken = [
            Self.sampleMigrations[0],
            Migration(version: 2, name: "broken", sql: "INSERT INTO applied_log VALUES (2); SELECT no_such_function();"),
        ]
        do {
            try await Migrator(configuration: Self.owner, migrations: broken, schema: schema).migrate()
            Issue.record("a failing migration was reported as applied")
        } catch {
            #expect(error.kind == .database && error.version == 2)
            #expect(error.underlying?.sqlState == "42883")
        }
        let pool = PostgresPool(configuration: Self.owner)
        #expect(try await pool.query("SELECT count(*) AS c FROM \(schema).applied_log").first?["c"].int == 0)
        #expect(try await pool.query("SELECT max(version) AS v FROM \(schema).schema_migrations").first?["v"].int == 1)
        await pool.shutdown()
        try await Self.dropSchema(schema)
    }

    @Test func aGapInVersionsIsAcceptedAndALowerVersionArrivingLaterIsAppliedThen() async throws {
        // Branches number their migrations ahead of each other (0006 merged before 0005).
        let schema = TestEnvironment.uniqueName("mig")
        let (one, two, three) = (Self.sampleMigrations[0], Self.sampleMigrations[1], Self.sampleMigrations[2])
        let first = try await Migrator(configuration: Self.owner, migrations: [one, three], schema: schema).migrate()
        #expect(first.applied.map(\.version) == [1, 3])
        let second = try await Migrator(configuration: Self.owner, migrations: [one, two, three], schema: schema).migrate()
        #expect(second.applied.map(\.version) == [2])
        #expect(second.alreadyApplied.map(\.version) == [1, 3])
        let pool = PostgresPool(configuration: Self.owner)
        let order = try await pool.query("SELECT version FROM \(schema).schema_migrations ORDER BY applied_at, version").map { $0["version"].int }
        #expect(order == [1, 3, 2])
        await pool.shutdown()
        try await Self.dropSchema(schema)
    }

    @Test func bundledFoundationMigrationAppliesAsOwner() async throws {
        let bundled = try WaqtorSchema.migrations()
        #expect(bundled.first?.version == 1 && bundled.first?.name == "foundation")
        let schema = TestEnvironment.uniqueName("mig")
        let report = try await Migrator(configuration: Self.owner, migrations: WaqtorSchema.migrations(), schema: schema).migrate()
        #expect(report.applied.map(\.version).contains(1))

        let owner = PostgresPool(configuration: Self.owner)
        #expect(try await owner.query("SELECT 1 FROM pg_extension WHERE extname = 'citext'").count == 1)
        // Default privileges: a table the owner creates in public is usable by the app role.
        let table = TestEnvironment.uniqueName("grant_probe")
        _ = try await owner.query("CREATE TABLE public.\(table) (id bigserial PRIMARY KEY, email citext)")
        let app = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseURL, poolSize: 1))
        let inserted = try await app.query("INSERT INTO public.\(table) (email) VALUES ($1) RETURNING id", [.text("A@Example.com")])
        #expect(inserted.first?["id"].int64 != nil)
        #expect(try await app.query("SELECT count(*) AS c FROM public.\(table) WHERE email = $1::citext", [.text("a@example.com")]).first?["c"].int == 1)
        // …but not alterable by it.
        await #expect {
            _ = try await app.query("DROP TABLE public.\(table)")
        } throws: { error in
            (error as? PostgresError)?.sqlState == "42501"
        }
        _ = try await owner.query("DROP TABLE public.\(table)")
        await app.shutdown()
        await owner.shutdown()
        try await Self.dropSchema(schema)
    }

    /// A database with every migration recorded is checked without the lock (servers starting
    /// together do not queue for it); one with a migration pending waits for the lock.
    @Test func anUpToDateDatabaseIsCheckedWithoutTheLockAndAPendingMigrationWaitsForIt() async throws {
        let schema = TestEnvironment.uniqueName("mig")
        let three = Array(Self.sampleMigrations)
        let migrator = try Migrator(configuration: Self.owner, migrations: three, schema: schema)
        try await migrator.migrate()

        // Another session holds the migration lock.
        let holder = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: 1))
        let (locked, lockedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (unlock, unlockContinuation) = AsyncStream.makeStream(of: Void.self)
        let holding = Task {
            try await holder.withTransaction { tx in
                _ = try await tx.query("SELECT pg_advisory_xact_lock($1)", [.int(migrator.lockKey)])
                lockedContinuation.yield()
                for await _ in unlock { break }
            }
        }
        for await _ in locked { break }

        // Nothing to do: the run ends while the lock is held (a run that waited for it would not
        // end before the 60 s guard).
        let unlocked = try await withThrowingTaskGroup(of: Migrator.Report?.self) { group in
            group.addTask { try await migrator.migrate() }
            group.addTask { try await Task.sleep(for: .seconds(60)); return nil }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        let report = try #require(unlocked, "an up-to-date run waited for the lock")
        #expect(report.applied.isEmpty && report.alreadyApplied.count == 3)

        // A pending migration: the run waits for the lock (seen waiting in pg_locks), then applies it.
        let four = three + [Migration(version: 4, name: "log_four", sql: "INSERT INTO applied_log VALUES (4);")]
        let pending = Task { try await Migrator(configuration: Self.owner, migrations: four, schema: schema).migrate() }
        let inspector = PostgresPool(configuration: Self.owner)
        var waiting = false
        while !waiting {
            let rows = try await inspector.query(
                "SELECT count(*) AS c FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = ($1::bigint & 4294967295)::oid",
                [.int(migrator.lockKey)])
            waiting = (rows.first?["c"].int ?? 0) > 0
            if !waiting { try await Task.sleep(for: .milliseconds(20)) }
        }
        let applied = try await inspector.query("SELECT count(*) AS c FROM \(schema).applied_log WHERE version = 4")
        #expect(applied.first?["c"].int == 0, "nothing applied while the lock is held")
        unlockContinuation.yield()
        try await holding.value
        let second = try await pending.value
        #expect(second.applied.map(\.version) == [4])
        #expect(try await inspector.query("SELECT count(*) AS c FROM \(schema).applied_log WHERE version = 4").first?["c"].int == 1)
        await inspector.shutdown()
        await holder.shutdown()
        try await Self.dropSchema(schema)
    }
}
