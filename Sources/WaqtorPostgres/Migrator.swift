import CPostgres
import NIOPosix

/// Applies ``Migration``s to a database, once each, in order; safe when several servers start at
/// once.
///
/// A run first reads the bookkeeping table without any lock: when every migration is recorded
/// with its checksum, there is nothing to do and it returns. Otherwise it holds a session-level
/// `pg_advisory_lock` on its own dedicated connection (opened with the owner role's connection
/// string, separate from the app's pool), then creates the bookkeeping
/// table if needed, reads the applied set (after the lock, so a server that waited sees what the
/// other applied), refuses to go on if an applied migration's checksum changed, and applies each
/// pending migration in its own transaction together with its bookkeeping row. The lock is
/// released at the end (or when the connection closes, if the process dies).
///
/// Applied versions unknown to this binary are tolerated (a newer server may have migrated first
/// during a rolling deploy).
public struct Migrator: Sendable {
    /// The result of a run.
    public struct Report: Sendable {
        /// Migrations this run applied, in order.
        public var applied: [Migration]
        /// Migrations that were already applied (and whose checksum matched).
        public var alreadyApplied: [Migration]
    }

    private let configuration: PostgresConfiguration
    private let migrations: [Migration]
    private let schema: String
    private let table: String
    private let threadPool: NIOThreadPool?

    /// Creates a migrator.
    ///
    /// - Parameters:
    ///   - configuration: the *owner* role's connection (the pool size is ignored: one connection).
    ///     Its statement timeout is not applied, so waiting for the lock or a long migration is not
    ///     cut short.
    ///   - migrations: what to apply (the product passes `WaqtorSchema.migrations()`).
    ///   - schema: the schema holding the bookkeeping table, and first on the `search_path` while
    ///     migrations run (unqualified names land there). Lowercase letters, digits, underscores.
    ///   - table: the bookkeeping table's name.
    public init(
        configuration: PostgresConfiguration,
        migrations: [Migration],
        schema: String = "public",
        table: String = "schema_migrations",
        threadPool: NIOThreadPool? = nil
    ) throws(MigrationError) {
        var configuration = configuration
        configuration.poolSize = 1
        configuration.statementTimeout = nil
        configuration.applicationName += "-migrator"
        self.configuration = configuration
        self.migrations = try Migration.validated(migrations)
        for identifier in [schema, table] where !Self.isPlainIdentifier(identifier) {
            throw MigrationError(.invalidMigration, context: "\"\(identifier)\" is not a plain lowercase identifier")
        }
        self.schema = schema
        self.table = table
        self.threadPool = threadPool
    }

    /// The advisory lock key: one for the whole database, whatever the schema, because migrations
    /// also create database-wide objects (extensions such as citext) that two concurrent runs in
    /// different schemas would otherwise race to create.
    public var lockKey: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "waqtor.migrations".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// Runs the pending migrations. See the type's documentation for the procedure.
    @discardableResult
    public func migrate() async throws(MigrationError) -> Report {
        let pool = PostgresPool(configuration: configuration, threadPool: threadPool)
        let result: Result<Report, MigrationError>
        do {
            let slot = try await pool.lease()
            if let report = await upToDate(pool: pool, slot: slot) {
                result = .success(report)
            } else {
                do {
                    result = .success(try await run(pool: pool, slot: slot))
                } catch {
                    result = .failure(error)
                }
                // Unlock explicitly; closing the connection (pool shutdown) would release it too.
                _ = try? await pool.runBlocking(on: slot) { [lockKey] conn throws(PostgresError) in
                    if conn.transactionStatus != PQTRANS_IDLE { _ = try conn.query("ROLLBACK", []) }
                    _ = try conn.query("SELECT pg_advisory_unlock($1)", [.int(lockKey)])
                }
            }
            await pool.release(slot)
        } catch {
            result = .failure(MigrationError(.database, underlying: error, context: "could not get a connection"))
        }
        await pool.shutdown()
        return try result.get()
    }

    /// The report of a run with nothing to do, when every migration is recorded with its checksum;
    /// nil otherwise (or when the table cannot be read), and the run takes the lock. Servers that
    /// start together on a migrated database then do not queue behind each other for the lock.
    /// Reading without the lock is safe: a migration is recorded in the transaction that applied
    /// it, so one seen recorded is applied, and anything else goes the locked way.
    private func upToDate(pool: PostgresPool, slot: ConnectionSlot) async -> Report? {
        let qualified = "\"\(schema)\".\"\(table)\""
        let recorded: [Int: String]? = try? await pool.runBlocking(on: slot) { [schema, table] conn throws(PostgresError) in
            let exists = try conn.query("SELECT to_regclass($1) IS NOT NULL AS present", [.text("\"\(schema)\".\"\(table)\"")])
            guard exists.first?["present"].bool == true else { return nil }
            var recorded = [Int: String]()
            for row in try conn.query("SELECT version, checksum FROM \(qualified)", []) {
                if let version = row["version"].int { recorded[version] = row["checksum"].string ?? "" }
            }
            return recorded
        } ?? nil
        guard let recorded, migrations.allSatisfy({ recorded[$0.version] == $0.checksum }) else { return nil }
        return Report(applied: [], alreadyApplied: migrations)
    }

    private func run(pool: PostgresPool, slot: ConnectionSlot) async throws(MigrationError) -> Report {
        let qualified = "\"\(schema)\".\"\(table)\""
        let applied: [Int: (name: String, checksum: String)]
        do {
            applied = try await pool.runBlocking(on: slot) { [lockKey, schema] conn throws(PostgresError) in
                _ = try conn.query("SELECT pg_advisory_lock($1)", [.int(lockKey)])
                _ = try conn.execute(script: """
                    CREATE SCHEMA IF NOT EXISTS "\(schema)";
                    CREATE TABLE IF NOT EXISTS \(qualified) (
                        version    bigint PRIMARY KEY,
                        name       text NOT NULL,
                        checksum   text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    );
                    SET search_path TO "\(schema)", public;
                    """)
                var applied = [Int: (name: String, checksum: String)]()
                for row in try conn.query("SELECT version, name, checksum FROM \(qualified) ORDER BY version", []) {
                    if let version = row["version"].int {
                        applied[version] = (row["name"].string ?? "", row["checksum"].string ?? "")
                    }
                }
                return applied
            }
        } catch {
            throw MigrationError(.database, underlying: error, context: "could not lock or read \(schema).\(table)")
        }

        var report = Report(applied: [], alreadyApplied: [])
        for migration in migrations {
            if let record = applied[migration.version] {
                guard record.checksum == migration.checksum else {
                    throw MigrationError(.checksumMismatch, version: migration.version,
                                         context: "\(migration.name): recorded \(record.checksum.prefix(12))…, file has \(migration.checksum.prefix(12))…")
                }
                report.alreadyApplied.append(migration)
            }
        }
        for migration in migrations where applied[migration.version] == nil {
            do throws(PostgresError) {
                try await pool.runBlocking(on: slot) { conn throws(PostgresError) in
                    _ = try conn.query("BEGIN", [])
                    do throws(PostgresError) {
                        _ = try conn.execute(script: migration.sql)
                        _ = try conn.query(
                            "INSERT INTO \(qualified) (version, name, checksum) VALUES ($1, $2, $3)",
                            [.int(migration.version), .text(migration.name), .text(migration.checksum)])
                        _ = try conn.query("COMMIT", [])
                    } catch {
                        _ = try? conn.query("ROLLBACK", [])
                        throw error
                    }
                }
            } catch {
                throw MigrationError(.database, version: migration.version, underlying: error, context: migration.name)
            }
            report.applied.append(migration)
        }
        return report
    }

    static func isPlainIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, !s.isEmpty, s.utf8.count <= 63 else { return false }
        guard (97...122).contains(first) || first == 95 else { return false }
        return s.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }
}
